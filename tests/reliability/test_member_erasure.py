"""Erasure and export by identity: against a moto server, through the real handler.

A member's data is wherever it landed: their own partition, quarantined payloads that never
parsed (a duplicate key, a byte-order mark, a body over 64 KiB), and the requests they received,
which belong to their senders. After ``erase_member`` a scan of the whole table finds none of
their ids, addresses, headlines or words, while every other member's digest inputs are what they
were, except that the erased recipient is gone from them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.items import (
    MEMBER_REF,
    PAYLOAD_ZLIB,
    Kind,
    key_of,
    payload_of,
    string,
)
from rapport.adapters.dynamodb.member_data import erase_member, export_member
from rapport.erasure import ERASED_MEMBER
from rapport.state import request_status
from rapport_cli.local.lambda_runtime import Handler
from rapport_cli.local.stack import LocalStack
from tests.support.events import answer, body, preferences, sent
from tests.support.local_aws import deliver
from tests.support.table import of_kind, scan

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 9, 9, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, 9, tzinfo=UTC)
DECLINES = [
    "Sorry, I only connect with people I have met in person or virtually",
    "I don't recognize you, do we know each other?",
    "Not interested in sales pitches",
    "No thanks",
]


def _sent_to(sender: str, request_id: str, recipient: str, headline: str, note: str | None) -> str:
    event = sent(request_id, sender, at=START, note=note)
    event["data"]["recipient"] = {"member_id": recipient, "headline": headline}
    return body(event)


def _unparsable(member_id: str, email: str, tag: str) -> list[str]:
    """Three rejected bodies that name the member but never parse as JSON documents."""
    prefs = body(preferences(member_id, at=START, email=email))
    return [
        prefs.replace('"email":', f'"email": "other.{tag}@example.org", "email":'),
        "\ufeff" + _sent_to(member_id, f"req-bom-{tag}", f"r-{tag}", f"Headline bom {tag}", None),
        prefs[:-1] + ', "padding": "' + "x" * 70_000 + '"}',
    ]


def _item_text(item: dict[str, Any]) -> str:
    """An item as text, with a compressed payload decompressed: where a leak would show."""
    text = json.dumps(item, default=str, ensure_ascii=False)
    if PAYLOAD_ZLIB in item:
        text += payload_of(item)
    return text


def _digest_inputs(table: str, member_id: str, erased: str | None = None) -> list[Any]:
    """What a member's digest is built from; with ``erased``, as it must look once that
    recipient is erased: no id, headline or quotes of theirs, everything else the same."""
    store = DynamoDigestStore(table)
    rows = []
    for history in store.member_requests(member_id):
        status = request_status(history, AS_OF)
        assert status.sent is not None
        recipient = status.sent.data.recipient.model_dump()
        reasons = status.classification
        if recipient["member_id"] == erased:
            recipient = {"member_id": ERASED_MEMBER, "headline": None}
            kept = tuple(item for item in reasons.evidence if item.source != "note")
            reasons = reasons.model_copy(update={"evidence": kept, "language": None})
        rows.append(
            (
                status.request_id,
                status.outcome,
                status.decided_at,
                status.sent.data.note,
                status.sent.data.context,
                {key: value for key, value in recipient.items() if value is not None},
                reasons,
            )
        )
    profile = store.profile(member_id)
    return [*sorted(rows, key=lambda row: row[0]), profile]


@dataclass(frozen=True)
class Stream:
    members: list[str]
    bodies: list[str]
    #: Per member: every text of theirs (ids, addresses, headlines, words).
    private: dict[str, list[str]]


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    """3–4 members sending requests to each other (and to non-members), declines with and
    without notes, unparsable payloads naming each member, all shuffled, some redelivered."""
    tag = uuid.uuid4().hex[:8]
    members = [f"m{tag}n{index}" for index in range(draw(st.integers(3, 4)))]
    private: dict[str, list[str]] = {member: [member] for member in members}
    bodies: list[str] = []
    for index, member in enumerate(members):
        email = f"owner.{tag}.{index}@example.org"
        private[member] += [email, f"other.{tag}@example.org"] if index == 0 else [email]
        bodies.append(body(preferences(member, at=START - timedelta(days=10), email=email)))
        if draw(st.booleans()) or index == 0:
            bodies += _unparsable(member, email, f"{tag}{index}")
            private[member] += [f"Headline bom {tag}{index}"]
        for number in range(draw(st.integers(1, 3))):
            request_id = f"req-{number}"
            recipient = draw(st.sampled_from([*members, f"r-{tag}-{number}"]))
            headline = f"Headline {tag} {index} {number}"
            note = f"Hello, fellow PMP {tag} {index} {number}" if draw(st.booleans()) else None
            bodies.append(_sent_to(member, request_id, recipient, headline, note))
            private.setdefault(recipient, [recipient]).append(headline)
            if note:
                private[member].append(note)
            kind = draw(st.sampled_from(["declined", "declined", "accepted", None]))
            if kind is None:
                continue
            words = None
            if kind == "declined" and draw(st.booleans()):
                words = f"{draw(st.sampled_from(DECLINES))} (ref {tag}{index}{number})"
                private[recipient].append(words)
            at = START + timedelta(days=1, hours=number)
            bodies.append(body(answer(kind, request_id, member, at=at, note=words)))
    redelivered = draw(st.lists(st.sampled_from(bodies), max_size=3))
    return Stream(members, draw(st.permutations(bodies + redelivered)), private)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=streams())
def test_after_erasure_nothing_of_the_member_is_left_and_nobody_else_changes(
    stack: LocalStack, process_events: Handler, stream: Stream
) -> None:
    victim, others = stream.members[0], stream.members[1:]
    deliver(process_events, stream.bodies, AS_OF)
    table = stack.table
    expected = {member: _digest_inputs(table, member, erased=victim) for member in others}
    held = [item for item in scan(table) if victim in _item_text(item)]
    assert held  # the check below can fail: the victim's data is there before

    erase_member(table, victim)

    leaks = [
        text for item in scan(table) for text in stream.private[victim] if text in _item_text(item)
    ]
    assert leaks == []
    assert {member: _digest_inputs(table, member) for member in others} == expected


def test_a_recipient_whose_payloads_never_parsed_is_exported_and_erased(
    stack: LocalStack, process_events: Handler
) -> None:
    """The held-out shape of issue 13: export lists every item naming the recipient, delete
    leaves none, and the sender's own records remain with their reasons."""
    table = stack.table
    sender, recipient = "m-sender-ex", "m-recipient-ex"
    deliver(
        process_events,
        [
            body(preferences(sender, at=START, email="sender.ex@example.org")),
            _sent_to(sender, "req-1", recipient, "Programme Director | PMP", "Fellow PMP here"),
            body(
                answer("declined", "req-1", sender, at=START + timedelta(days=1), note=DECLINES[0])
            ),
            *_unparsable(recipient, "recipient.ex@example.org", "ex"),
        ],
        AS_OF,
    )
    before = request_status(DynamoDigestStore(table).member_requests(sender)[0], AS_OF)

    export = export_member(table, recipient)
    assert sorted(item["error_code"] for item in export["quarantined"]) == [
        "invalid_json",
        "invalid_json",
        "payload_too_large",
    ]
    [received] = export["received_requests"]
    assert received["recipient"]["headline"] == "Programme Director | PMP"
    assert [answer["note"] for answer in received["answers"]] == [DECLINES[0]]

    erasure = erase_member(table, recipient)
    assert (erasure.deleted, erasure.redacted) == (6, 1)  # 3 links, 3 payloads; 1 request

    for secret in (recipient, "recipient.ex@example.org", "Programme Director", DECLINES[0]):
        assert [item for item in scan(table) if secret in _item_text(item)] == []
    after = request_status(DynamoDigestStore(table).member_requests(sender)[0], AS_OF)
    assert after.outcome is before.outcome
    assert after.decided_at == before.decided_at
    assert after.classification.reasons == before.classification.reasons
    assert after.classification.primary_reason == before.classification.primary_reason
    assert after.sent is not None
    assert after.sent.data.note == "Fellow PMP here"
    assert export_member(table, recipient)["received_requests"] == []
    assert export_member(table, sender)["profile"] is not None


def test_a_second_recipient_for_one_request_is_refused_and_both_can_be_erased(
    stack: LocalStack, process_events: Handler
) -> None:
    """A request has one recipient. A sent event naming another would overwrite the link that
    erasure follows, so it is quarantined, and the quarantined copy is linked to both."""
    table = stack.table
    sender, first, second = "m-two-sender", "m-two-first", "m-two-second"
    deliver(
        process_events,
        [
            _sent_to(sender, "req-1", first, "Head of the first", None),
            body(
                {
                    **json.loads(_sent_to(sender, "req-1", second, "Head of the second", None)),
                    "id": "sent-again",
                }
            ),
        ],
        AS_OF,
    )
    [quarantined] = export_member(table, second)["quarantined"]
    assert quarantined["error_code"] == "conflicting_recipient"
    assert [item["request_id"] for item in export_member(table, first)["received_requests"]] == [
        "req-1"
    ]

    erase_member(table, first)
    erase_member(table, second)
    for theirs in (first, second, "Head of the first", "Head of the second"):
        assert [item for item in scan(table) if theirs in _item_text(item)] == []
    [history] = DynamoDigestStore(table).member_requests(sender)
    assert [event.data.sender_id for event in history] == [sender]


def test_quarantine_items_linked_the_old_way_are_still_exported_and_erased(
    stack: LocalStack, process_events: Handler
) -> None:
    """The previous release put the member's key on the quarantine item itself (in
    MemberIndex) instead of a link in their partition; such items must not be left behind."""
    table = stack.table
    deliver(process_events, ['{"specversion": "1.0", "note": "old.way@example.org"}'], AS_OF)
    dynamodb = boto3.client("dynamodb")
    [item] = of_kind(scan(table), Kind.QUARANTINE)
    dynamodb.update_item(
        TableName=table,
        Key=key_of(item),
        UpdateExpression="SET #ref = :ref",
        ExpressionAttributeNames={"#ref": MEMBER_REF},
        ExpressionAttributeValues={":ref": string(keys.member_pk("m-old-way"))},
    )
    assert [row["payload"] for row in export_member(table, "m-old-way")["quarantined"]] == [
        payload_of(item)
    ]
    assert erase_member(table, "m-old-way").deleted == 1
    assert [row for row in scan(table) if "old.way@example.org" in _item_text(row)] == []
