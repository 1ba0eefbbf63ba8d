"""Tenant isolation: for random streams of several members, with request ids that collide across
senders, a member's export and digest hold nothing of any other member.

Streams go through the real process_events handler into a moto table; the export is
``export_member`` and the digest is rendered from the member's requests as ``send_digest`` reads
them (``DynamoDigestStore.member_requests``). A planted foreign item proves the check can fail.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.items import request_key
from rapport.adapters.dynamodb.member_data import export_member
from rapport.digest.insights import build_insights, earliest_needed
from rapport.digest.render import render_digest
from rapport_cli.local.lambda_runtime import Handler
from rapport_cli.local.stack import LocalStack
from tests.support.events import answer, body, preferences, sent
from tests.support.local_aws import deliver
from tests.support.table import get

pytestmark = pytest.mark.integration

WEEK = date(2026, 11, 9)
AS_OF = datetime(2026, 11, 16, 9, tzinfo=UTC)
START = datetime(2026, 11, 9, 9, tzinfo=UTC)
REQUEST_IDS = ["req-1", "req-2", "req-3", "req-4"]  # a small pool: senders collide on them
ANSWERS = ["accepted", "declined", "withdrawn", "expired", None]


@dataclass(frozen=True)
class Member:
    member_id: str
    email: str
    #: Every text of theirs that must not appear in anyone else's export or digest.
    private: tuple[str, ...]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Member], list[str]]:
    """2–4 members, each with preferences and 1–4 requests (ids from a shared pool), answers
    with and without notes, the whole stream shuffled and partly redelivered."""
    tag = uuid.uuid4().hex[:8]
    count = draw(st.integers(min_value=2, max_value=4))
    members, bodies = [], []
    for index in range(count):
        member_id = f"m{tag}x{index}y"
        email = f"owner.{tag}.{index}@example.org"
        private = [member_id, email]
        bodies.append(body(preferences(member_id, at=START - timedelta(days=10), email=email)))
        requests = draw(st.lists(st.sampled_from(REQUEST_IDS), min_size=1, max_size=4, unique=True))
        for number, request_id in enumerate(requests):
            note = f"note {tag} of {index} on {request_id}" if draw(st.booleans()) else None
            headline = f"Headline {tag} {index} {request_id}"
            event = sent(request_id, member_id, at=START + timedelta(hours=number), note=note)
            event["data"]["recipient"]["headline"] = headline
            event["id"] = f"sent-{member_id}-{request_id}"
            bodies.append(body(event))
            private += [headline] + ([note] if note else [])
            kind = draw(st.sampled_from(ANSWERS))
            if kind:
                reply = f"reply {tag} to {index} on {request_id}" if kind == "declined" else None
                bodies.append(
                    body(
                        answer(
                            kind,
                            request_id,
                            member_id,
                            at=START + timedelta(days=1, hours=number),
                            note=reply,
                        )
                    )
                )
                private += [reply] if reply else []
        members.append(Member(member_id, email, tuple(private)))
    redelivered = draw(st.lists(st.sampled_from(bodies), max_size=3))
    order = draw(st.permutations(bodies + redelivered))
    return members, list(order)


def _member_view(table: str, member_id: str) -> str:
    """Everything the member can be shown: their export and their rendered digest."""
    export = json.dumps(export_member(table, member_id), ensure_ascii=False)
    store = DynamoDigestStore(table)
    views = [export]
    # The whole partition, and what a digest reads: the history index from its earliest instant.
    for since in (None, earliest_needed(WEEK, "UTC")):
        requests = store.member_requests(member_id, since=since)
        insights = build_insights(member_id, requests, WEEK, "UTC", AS_OF)
        rendered = render_digest(insights, "UTC", "https://unsubscribe.example/?token=t")
        views += [rendered.subject, rendered.text, rendered.html]
    return "\n".join(views)


def foreign_text(view: str, member: Member, members: list[Member]) -> list[str]:
    """Texts of other members that appear in this member's view."""
    return sorted(
        text
        for other in members
        if other.member_id != member.member_id
        for text in other.private
        if text in view
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=streams())
def test_a_member_sees_nothing_of_any_other_member(
    stack: LocalStack, process_events: Handler, stream: tuple[list[Member], list[str]]
) -> None:
    members, bodies = stream
    deliver(process_events, bodies, AS_OF)
    table = stack.table
    for member in members:
        view = _member_view(table, member.member_id)
        assert member.email in view  # the view is really this member's
        assert foreign_text(view, member, members) == []


def test_the_isolation_check_catches_a_foreign_item(
    stack: LocalStack, process_events: Handler
) -> None:
    alice = Member("m-iso-alice", "alice.iso@example.org", ("m-iso-alice", "Alice's own words"))
    bob = Member("m-iso-bob", "bob.iso@example.org", ("m-iso-bob", "Bob's private note"))
    deliver(
        process_events,
        [
            body(preferences(alice.member_id, at=START - timedelta(days=10), email=alice.email)),
            body(preferences(bob.member_id, at=START - timedelta(days=10), email=bob.email)),
            body(sent("req-1", alice.member_id, at=START, note="Alice's own words")),
            body(sent("req-1", bob.member_id, at=START, note="Bob's private note")),
        ],
        AS_OF,
    )
    table = stack.table
    assert foreign_text(_member_view(table, alice.member_id), alice, [alice, bob]) == []

    # A bug that wrote Bob's request into Alice's partition would show up in her digest.
    item = get(table, request_key(bob.member_id, "req-1"))
    # Only the key changes: every other attribute, Bob's ids and words included, is as stored.
    item |= request_key(alice.member_id, "req-planted")
    boto3.client("dynamodb").put_item(TableName=table, Item=item)
    assert foreign_text(_member_view(table, alice.member_id), alice, [alice, bob]) == [
        "Bob's private note",
        "m-iso-bob",
    ]
