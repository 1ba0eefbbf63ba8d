"""A write to a request that has expired (but that TTL has not deleted yet) must not bring its old
events back to life: retention means the old data is gone for good."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import request_key
from rapport.adapters.dynamodb.recent_events import RecentEvents
from rapport.adapters.dynamodb.request_history import request_events
from rapport.adapters.dynamodb.retention import Retention
from rapport.ingest import Disposition, InboundMessage, ingest
from rapport_cli.local.stack import LocalStack
from tests.support.events import T0, answer, body, sent
from tests.support.table import get

pytestmark = pytest.mark.integration


def test_a_late_event_starts_afresh_on_an_expired_request(stack: LocalStack) -> None:
    reset_clients()
    clock = {"now": T0 + timedelta(days=3)}  # the queue gets each event after it happened
    retention = Retention(period=timedelta(days=30), clock=lambda: clock["now"])

    def deliver(event: dict[str, object]) -> Disposition:
        # A fresh container each time, so nothing is answered from memory.
        store = DynamoEventStore(stack.table, retention, RecentEvents())
        message = InboundMessage(str(uuid.uuid4()), body(event), clock["now"])
        return ingest(message, store).disposition

    old_sent = sent("req-1", "m-old", note="A note from long ago")
    assert deliver(old_sent) is Disposition.STORED
    clock["now"] += timedelta(days=45)  # past retention; moto, like TTL, has not deleted it
    assert deliver(answer("declined", "req-1", "m-old")) is Disposition.STORED
    assert deliver(old_sent) is Disposition.STORED  # the old event is new again, not a duplicate

    item = get(stack.table, request_key("m-old", "req-1"))
    assert sorted(event.type.rsplit(".", 1)[1] for event in request_events(item)) == [
        "declined",
        "sent",
    ]
    assert retention.live(item)
