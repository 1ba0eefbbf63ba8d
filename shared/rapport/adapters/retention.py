"""How long items live: every write sets ``expires_at`` (epoch seconds) for DynamoDB TTL.

TTL deletes expired items eventually (typically within days; moto never does), so reads check
``expires_at`` themselves and treat an expired item as gone. Retention counts from an item's last
write: a member who is still active keeps their history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EXPIRES_AT = "expires_at"
DEFAULT_RETENTION = timedelta(days=400)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Retention:
    period: timedelta = DEFAULT_RETENTION
    clock: Callable[[], datetime] = field(default=_utc_now)

    def expiry(self) -> dict[str, str]:
        """The ``expires_at`` value for an item written now."""
        return self.stamps()[1]

    def stamps(self) -> tuple[dict[str, str], dict[str, str]]:
        """The current instant (to compare ``expires_at`` with) and ``expiry()``, in
        ``expires_at``'s form, from one reading of the clock."""
        now = int(self.clock().timestamp())
        return {"N": str(now)}, {"N": str(now + int(self.period.total_seconds()))}

    def live(self, item: Mapping[str, Any]) -> bool:
        expires = item.get(EXPIRES_AT)
        return expires is None or int(expires["N"]) > self.clock().timestamp()
