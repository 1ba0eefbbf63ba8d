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

from rapport.adapters.dynamodb.items import EXPIRES_AT, AttributeValue, integer, number
from rapport.codes import DEFAULT_RETENTION_DAYS

DEFAULT_RETENTION = timedelta(days=DEFAULT_RETENTION_DAYS)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Retention:
    period: timedelta = DEFAULT_RETENTION
    clock: Callable[[], datetime] = field(default=_utc_now)

    def expiry(self, later_by: timedelta = timedelta()) -> AttributeValue:
        """The ``expires_at`` value for an item written now (``later_by`` more, for an item that
        must outlive the ones written with it)."""
        return number(int(self.clock().timestamp()) + int((self.period + later_by).total_seconds()))

    def stamps(self) -> tuple[AttributeValue, AttributeValue]:
        """The current instant (to compare ``expires_at`` with) and ``expiry()``, in
        ``expires_at``'s form, from one reading of the clock."""
        now = int(self.clock().timestamp())
        return number(now), number(now + int(self.period.total_seconds()))

    def live(self, item: Mapping[str, Any]) -> bool:
        return EXPIRES_AT not in item or integer(item, EXPIRES_AT) > self.clock().timestamp()
