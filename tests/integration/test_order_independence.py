"""Against real DynamoDB semantics (moto over HTTP): any arrival order and any redelivery of a
request's events store the same events and give the same state, and each delivery is counted once
as stored or as a duplicate."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import request_key
from rapport.adapters.dynamodb.request_history import request_events
from rapport.ingest import Disposition, InboundMessage, ingest
from rapport.state import request_status
from rapport_cli.local.stack import LocalStack
from tests.support.events import T0, answer, body, preferences, sent
from tests.support.table import get, stored_profile

pytestmark = pytest.mark.integration

_KINDS = st.sampled_from(["accepted", "declined", "withdrawn", "expired"])
_NOTES = st.one_of(st.none(), st.sampled_from(["I only connect with people I've met", "No thanks"]))


def _deliver(store: DynamoEventStore, bodies: list[str]) -> list[Disposition]:
    enqueued = T0 + timedelta(days=31)  # after every generated event (answers up to 30 days)
    return [
        ingest(InboundMessage(str(uuid.uuid4()), text, enqueued), store).disposition
        for text in bodies
    ]


@pytest.fixture
def store(stack: LocalStack) -> DynamoEventStore:
    reset_clients()
    return DynamoEventStore(stack.table)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.lists(st.tuples(_KINDS, st.integers(0, 30 * 24), _NOTES), max_size=3),
    data=st.data(),
)
def test_any_delivery_order_gives_the_same_request(
    store: DynamoEventStore, answers: list[tuple[str, int, str | None]], data: st.DataObject
) -> None:
    history: list[dict[str, Any]] = [sent("req-1", "m-in-order")]
    for index, (kind, hours, note) in enumerate(answers):
        history.append(
            answer(
                kind,
                "req-1",
                "m-in-order",
                at=T0 + timedelta(hours=hours),
                note=note if kind == "declined" else None,
                event_id=f"{kind}-{index}",
            )
        )
    extra = data.draw(st.lists(st.sampled_from(history), max_size=2 * len(history)))
    shuffled: list[dict[str, Any]] = data.draw(st.permutations(history + extra))

    in_order, out_of_order = f"m-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    first = _deliver(store, [body(_for(event, in_order)) for event in history])
    second = _deliver(store, [body(_for(event, out_of_order)) for event in shuffled])

    assert first.count(Disposition.STORED) == len(history)
    assert second.count(Disposition.STORED) == len(history)
    assert second.count(Disposition.DUPLICATE) == len(extra)
    now = T0 + timedelta(days=60)
    statuses = []
    for member in (in_order, out_of_order):
        item = get(store.table_name, request_key(member, "req-1"))
        status = request_status(request_events(item), now)
        statuses.append((status.outcome, status.decided_at, status.classification))
    assert statuses[0] == statuses[1]


def _for(event: dict[str, Any], sender: str) -> dict[str, Any]:
    """The same event for another sender (a fresh partition per example)."""
    return {
        **event,
        "id": f"{sender}-{event['id']}",
        "data": {**event["data"], "sender_id": sender},
    }


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    order=st.permutations(list(range(4))),
    repeats=st.lists(st.integers(0, 3), min_size=4, max_size=4),
)
def test_the_latest_preferences_win_in_any_order(
    store: DynamoEventStore, order: list[int], repeats: list[int]
) -> None:
    member = f"m-{uuid.uuid4().hex}"
    updates = [
        preferences(
            member,
            at=T0 + timedelta(days=day),
            email=f"v{day}@example.com",
            event_id=f"{member}-{day}",
        )
        for day in range(4)
    ]
    deliveries = [body(updates[index]) for index in order for _ in range(1 + repeats[index])]
    dispositions = _deliver(store, deliveries)

    assert dispositions.count(Disposition.STORED) == 4
    assert dispositions.count(Disposition.DUPLICATE) == sum(repeats)
    assert stored_profile(store.table_name, member).email == "v3@example.com"
