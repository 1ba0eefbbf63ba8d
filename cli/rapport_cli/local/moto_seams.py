"""The two moto behaviours the local runtime adapts, each behind a seam: SQS's retention check
and the items DynamoDB's Query looks at.

moto 5 checks, for every message a ``ReceiveMessage`` returns, whether the message has outlived
its queue's retention period, and reads that period through ``get_queue_attributes``, which
computes *every* attribute of the queue, three message counts among them, each a pass over every
message in the queue. A receive of 10 from a queue holding n messages therefore costs about
60 n clock readings: a quarter of a local run's time. :func:`queue_retention_read_directly` reads
the period from the queue itself, with moto's own comparison, so a receive no longer grows with
the queue's length and returns exactly what it returned before (a unit test compares the two on
retained and expired messages).

moto 5's ``Table.query`` sorts *every* item of the table and then keeps those of the partition
asked for (or, on an index, those whose index key matches), on every Query: a digest's reads
grew with the whole table, so the digest phase grew with the square of the stream.
:func:`queries_read_their_partition` hands moto's own ``query`` a view of the table whose
``all_items`` holds only the items the query keeps anyway, in the same order (the base table's
partition, or the items matching every hash-key condition of an index query). Conditions,
sorting, paging, filters and projections are moto's own code, unchanged.

The seams apply to moto in this process only (``rapport run`` without ``--endpoint-url``), for
the duration of the block, and puts moto's method back afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb.models.table import Table
from moto.sqs.models import SQSBackend

_METHOD = "is_message_valid_based_on_retention_period"


def _retained(backend: SQSBackend, queue_name: str, message: Any) -> bool:
    """moto's check, with the period read from the queue instead of all its attributes."""
    # Set from the queue's attributes by moto's ``_set_attributes`` (always: it has a default).
    retention_period = int(vars(backend.get_queue(queue_name))["message_retention_period"])
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())


@contextmanager
def queue_retention_read_directly() -> Iterator[None]:
    """moto's SQS answers receives in time independent of the queue's length, for the block."""
    original = getattr(SQSBackend, _METHOD)
    setattr(SQSBackend, _METHOD, _retained)
    try:
        yield
    finally:
        setattr(SQSBackend, _METHOD, original)


def _sort_key(item: Any) -> Any:
    """``Table.all_items``' own order."""
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


class _QueriedItems:
    """A table as one Query sees it: every attribute the table's, ``all_items`` only the items
    the query can keep, sorted as the table sorts them."""

    def __init__(self, table: Table, items: list[Any]) -> None:
        self._table = table
        self._items = sorted(items, key=_sort_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        return self._items


def _equal(attribute: Any, value: Any) -> bool:
    """moto's own test (an item without the attribute is not in a sparse index)."""
    return attribute is not None and bool(attribute == value)


def _candidates(table: Table, arguments: Mapping[str, Any]) -> list[Any] | None:
    """The items a Query can keep, or None when the view would not be smaller than the table."""
    if not table.range_key_attr:
        return None
    if arguments.get("index_name") is None:
        hash_key = arguments["hash_key"]
        partition = table.items.get(hash_key) if hash_key is not None else None
        return list(partition.values()) if partition is not None else []
    conditions = arguments.get("hash_key_conditions") or []
    if not conditions:
        return None
    return [
        item
        for partition in table.items.values()
        for item in partition.values()
        if all(_equal(item.attrs.get(name), value) for name, value in conditions)
    ]


@contextmanager
def queries_read_their_partition() -> Iterator[None]:
    """moto's DynamoDB answers a Query in time that grows with what it can return, for the block."""
    original = Table.query
    signature = inspect.signature(original)

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        items = _candidates(self, signature.bind(self, *args, **kwargs).arguments)
        view = self if items is None else _QueriedItems(self, items)
        return original(view, *args, **kwargs)  # type: ignore[arg-type]

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original  # type: ignore[method-assign]
