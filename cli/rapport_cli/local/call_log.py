"""Count the AWS API calls each function makes, with botocore's event hooks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rapport.adapters.aws import session

DYNAMODB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)


class CallLog:
    """Every API call made through the shared session, by function and ``service:Operation``.

    The service is the IAM/signing prefix (``ses`` for SES v2), so calls compare directly with the
    actions an IAM policy grants.
    """

    def __init__(self) -> None:
        self.by_function: dict[str, Counter[str]] = {}
        #: The function whose code is running now (set by the local Lambda host).
        self.current: str | None = None

    def _record(self, model: Any, **_: Any) -> None:
        action = f"{model.service_model.signing_name}:{model.name}"
        self.by_function.setdefault(self.current or "(outside a function)", Counter())[action] += 1

    def attach(self) -> CallLog:
        """Count calls of every client created from the shared session from now on."""
        session().events.register("before-call", self._record)
        return self

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for calls in self.by_function.values():
            total.update(calls)
        return total
