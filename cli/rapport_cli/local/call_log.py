"""Count the AWS API calls the functions make, with botocore's event hooks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rapport.adapters.aws import session

DYNAMODB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


class CallLog:
    """Every API call the functions' clients make, by ``service.Operation``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def _record(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.endpoint_prefix}.{model.name}"] += 1

    def attach(self) -> CallLog:
        """Start counting calls of every client created from the shared session from now on."""
        session().events.register("before-call", self._record)
        return self

    def count(self, service: str, operations: frozenset[str]) -> int:
        return sum(self.calls[f"{service}.{operation}"] for operation in operations)
