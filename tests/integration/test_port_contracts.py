"""The ports' contracts, each run against the in-memory fake (``tests.support.fakes``) and the AWS
adapter on a moto server: what the unit tests and the bench assume of a fake is what the adapter
does. The event store also runs over ``FakeDynamoDB``, the client the bench times it with.

Only the moto cases need a server (they carry the ``integration`` mark); the rest run in
milliseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import boto3
import pytest
from botocore.exceptions import ClientError

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb import event_store, quarantine
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.ses_mailer import SesMailer
from rapport.adapters.sqs_jobs import SqsJobQueue
from rapport.digest.jobs import DigestJob, job_from_message
from rapport.digest.ports import (
    ClaimOutcome,
    DigestPreferences,
    DigestRepository,
    DueMembers,
    JobQueue,
    Mailer,
)
from rapport.errors import PermanentStoreError, Transient, Undeliverable
from rapport.ingest.ports import EventStore, QuarantineEntry, StoredEvent, WriteOutcome
from rapport.validation import parse_event
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId
from tests.support.events import answer, body, preferences, sent
from tests.support.fakes import (
    ClaimLost,
    FakeDynamoDB,
    FakeMailer,
    MemoryDigestStore,
    MemoryEventStore,
    MemoryJobQueue,
    MemoryTable,
)

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
WEEK = date(2026, 11, 9)
LEASE = timedelta(minutes=5)
MOTO = pytest.param("moto", marks=pytest.mark.integration)


class DigestStore(DigestRepository, DueMembers, DigestPreferences, Protocol):
    """Everything ``DynamoDigestStore`` offers: the three digest ports on one table."""


@dataclass
class Table:
    events: EventStore
    digests: DigestStore
    #: The message ids of the quarantined entries, as the operator's side reads them.
    quarantined: Callable[[], set[str]]


def _moto_stack(request: pytest.FixtureRequest) -> LocalStack:
    stack: LocalStack = request.getfixturevalue("stack")
    reset_clients()
    return stack


@pytest.fixture(params=["memory", "fake_dynamodb", MOTO])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> EventStore:
    """The event store alone, on each of its three backends."""
    if request.param == "memory":
        return MemoryEventStore()
    if request.param == "fake_dynamodb":
        fake = FakeDynamoDB()
        for module in (event_store, quarantine):  # as the bench swaps it in
            monkeypatch.setattr(module, "client", lambda _service: fake)
        return DynamoEventStore("fake-table")
    return DynamoEventStore(_moto_stack(request).table)


@pytest.fixture(params=["memory", MOTO])
def table(request: pytest.FixtureRequest) -> Table:
    """Both stores on one table, so what ingest writes the digest side reads."""
    if request.param == "memory":
        memory = MemoryTable()
        return Table(
            MemoryEventStore(memory),
            MemoryDigestStore(memory),
            lambda: {entry.message_id for entry in memory.quarantine.values()},
        )
    name = _moto_stack(request).table
    return Table(
        DynamoEventStore(name),
        DynamoDigestStore(name),
        lambda: {entry.message_id for entry in quarantine.list_quarantined(name, NOW.date())},
    )


def _stored(event: dict[str, Any]) -> StoredEvent:
    return StoredEvent.of(parse_event(body(event)))


def _member() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


def _subscribe(table: Table, member: str, at: datetime = NOW - timedelta(days=30)) -> None:
    outcome = table.events.apply_preferences(_stored(preferences(member, at=at)), NOW)
    assert outcome is WriteOutcome.APPLIED


# --- EventStore -----------------------------------------------------------------------------


def test_a_request_event_is_applied_once_then_a_duplicate(store: EventStore) -> None:
    event = sent("req-1", _member())
    assert store.apply_request_event(_stored(event)) is WriteOutcome.APPLIED
    assert store.apply_request_event(_stored(event)) is WriteOutcome.DUPLICATE


def test_the_same_key_with_other_content_is_a_conflict(store: EventStore) -> None:
    member = _member()
    store.apply_request_event(_stored(answer("declined", "req-1", member)))
    changed = answer("declined", "req-1", member, note="I only connect with people I know")
    assert store.apply_request_event(_stored(changed)) is WriteOutcome.CONFLICT


def test_a_request_has_one_recipient(store: EventStore) -> None:
    member = _member()
    store.apply_request_event(_stored(sent("req-1", member)))
    other = sent("req-1", member, event_id="sent-again")
    other["data"]["recipient"]["member_id"] = "r-someone-else"
    with pytest.raises(PermanentStoreError) as refused:
        store.apply_request_event(_stored(other))
    assert refused.value.error_code == "conflicting_recipient"


def test_preferences_are_deduplicated_and_an_older_event_is_remembered(store: EventStore) -> None:
    member = _member()
    newer = _stored(preferences(member, at=NOW - timedelta(days=1)))
    older = _stored(preferences(member, at=NOW - timedelta(days=2), email="old@example.com"))
    assert store.apply_preferences(newer, NOW) is WriteOutcome.APPLIED
    assert store.apply_preferences(newer, NOW) is WriteOutcome.DUPLICATE
    assert store.apply_preferences(older, NOW) is WriteOutcome.APPLIED
    assert store.apply_preferences(older, NOW) is WriteOutcome.DUPLICATE
    changed = preferences(
        member, at=NOW - timedelta(days=2), event_id=older.event.id, email="new@example.com"
    )
    assert store.apply_preferences(_stored(changed), NOW) is WriteOutcome.CONFLICT


def test_a_redelivered_quarantine_entry_is_kept_once(store: EventStore) -> None:
    entry = QuarantineEntry("msg-1", NOW, "invalid_json", "not JSON", None, "{", (_member(),))
    store.quarantine(entry)
    store.quarantine(entry)


# --- the read side of what ingest wrote -----------------------------------------------------


def test_quarantined_entries_are_listed_once(table: Table) -> None:
    for message_id in ("msg-1", "msg-2", "msg-1"):
        table.events.quarantine(
            QuarantineEntry(message_id, NOW, "invalid_json", "not JSON", None, "{")
        )
    assert table.quarantined() == {"msg-1", "msg-2"}


def test_the_latest_preferences_win_whatever_the_order(table: Table) -> None:
    member = _member()
    due = NOW + timedelta(days=3)
    newer = preferences(member, at=NOW - timedelta(days=1), email="new@example.com")
    older = preferences(member, at=NOW - timedelta(days=2), email="old@example.com")
    table.events.apply_preferences(_stored(newer), due)
    table.events.apply_preferences(_stored(older), NOW)
    profile = table.digests.profile(member)
    assert profile is not None
    assert (profile.email, profile.digest_enabled, profile.digests_sent) == (
        "new@example.com",
        True,
        0,
    )
    assert profile.last_settled_week is None
    assert table.digests.profile(_member()) is None
    assert member not in _due(table, NOW + timedelta(days=2))
    assert member in _due(table, due)


def test_a_members_requests_are_read_back_with_their_events(table: Table) -> None:
    member = _member()
    for event in (
        sent("req-1", member),
        answer("accepted", "req-1", member),
        sent("req-2", member),
    ):
        table.events.apply_request_event(_stored(event))
    table.events.apply_request_event(_stored(sent("req-1", _member())))  # someone else's
    requests = table.digests.member_requests(member)
    assert sorted(sorted(event.id for event in request) for request in requests) == [
        [f"accepted-{member}-req-1", f"sent-{member}-req-1"],
        [f"sent-{member}-req-2"],
    ]


def _due(table: Table, now: datetime) -> dict[str, str]:
    return {due.member_id: due.timezone for due in table.digests.due_at(now)}


def test_members_with_digests_off_are_never_due(table: Table) -> None:
    member = _member()
    off = preferences(member, at=NOW - timedelta(days=1), digest_enabled=False)
    table.events.apply_preferences(_stored(off), None)
    assert member not in _due(table, NOW + timedelta(days=30))


def test_unsubscribing_stops_digests_and_outranks_older_preferences(table: Table) -> None:
    member = _member()
    _subscribe(table, member)
    table.digests.disable_digests(member, NOW)
    table.digests.disable_digests(_member(), NOW)  # no such member: nothing to do
    older = preferences(member, at=NOW - timedelta(days=1), email="again@example.com")
    table.events.apply_preferences(_stored(older), NOW)
    profile = table.digests.profile(member)
    assert profile is not None
    assert not profile.digest_enabled
    assert member not in _due(table, NOW + timedelta(days=30))


# --- DigestRepository: claims and schedule --------------------------------------------------


def test_a_claim_is_exclusive_until_its_lease_runs_out(table: Table) -> None:
    member = _member()
    first = table.digests.claim(member, WEEK, NOW, LEASE)
    assert first.outcome is ClaimOutcome.CLAIMED
    assert table.digests.claim(member, WEEK, NOW + LEASE, LEASE).outcome is ClaimOutcome.IN_PROGRESS
    assert table.digests.claim(member, WEEK - timedelta(days=7), NOW, LEASE).outcome is (
        ClaimOutcome.CLAIMED
    )
    later = table.digests.claim(member, WEEK, NOW + LEASE + timedelta(seconds=1), LEASE)
    assert later.outcome is ClaimOutcome.CLAIMED
    assert later.token != first.token
    table.digests.release(member, WEEK, first)  # no longer the holder: nothing happens
    assert table.digests.claim(member, WEEK, NOW + LEASE, LEASE).outcome is ClaimOutcome.IN_PROGRESS
    table.digests.release(member, WEEK, later)
    assert table.digests.claim(member, WEEK, NOW, LEASE).outcome is ClaimOutcome.CLAIMED


@pytest.mark.parametrize("settle", ["sent", "undeliverable"])
def test_a_settled_week_is_never_claimed_again(table: Table, settle: str) -> None:
    member = _member()
    claim = table.digests.claim(member, WEEK, NOW, LEASE)
    if settle == "sent":
        table.digests.record_sent(member, WEEK, claim, {"message_id": "m-1", "sent": 3})
    else:
        table.digests.record_undeliverable(member, WEEK, claim, "MessageRejected")
    table.digests.release(member, WEEK, claim)  # settled, not a claim any more: stays
    after_the_lease = NOW + 2 * LEASE
    assert table.digests.claim(member, WEEK, after_the_lease, LEASE).outcome is (
        ClaimOutcome.ALREADY_SENT
    )


def test_settling_a_claim_that_is_not_held_fails_for_good(table: Table) -> None:
    member = _member()
    lost = table.digests.claim(member, WEEK, NOW, LEASE)
    table.digests.claim(member, WEEK, NOW + 2 * LEASE, LEASE)
    with pytest.raises((ClientError, ClaimLost)) as failed:  # the adapter's, the fake's
        table.digests.record_sent(member, WEEK, lost, {"message_id": "m-1"})
    assert not isinstance(failed.value, Transient)  # deliver must not retry it
    assert table.digests.claim(member, WEEK, NOW, LEASE).outcome is ClaimOutcome.IN_PROGRESS


def test_advancing_the_schedule_counts_sent_digests_and_moves_forward_only(table: Table) -> None:
    member = _member()
    _subscribe(table, member)
    profile = table.digests.profile(member)
    assert profile is not None
    next_due = NOW + timedelta(days=7)
    table.digests.advance_schedule(profile, next_due, WEEK, sent=True)
    table.digests.advance_schedule(profile, next_due, WEEK, sent=True)  # a redelivery
    table.digests.advance_schedule(profile, NOW, WEEK - timedelta(days=7), sent=True)  # older
    advanced = table.digests.profile(member)
    assert advanced is not None
    assert (advanced.digests_sent, advanced.last_settled_week) == (1, WEEK)
    assert member not in _due(table, next_due - timedelta(seconds=1))
    assert member in _due(table, next_due)


def test_preferences_changed_meanwhile_keep_their_own_schedule(table: Table) -> None:
    member = _member()
    _subscribe(table, member)
    stale = table.digests.profile(member)
    assert stale is not None
    rescheduled = NOW + timedelta(days=2)
    table.events.apply_preferences(_stored(preferences(member, at=NOW)), rescheduled)
    table.digests.advance_schedule(stale, NOW + timedelta(days=7), WEEK, sent=True)
    profile = table.digests.profile(member)
    assert profile is not None
    assert (profile.digests_sent, profile.last_settled_week) == (0, WEEK)
    assert member in _due(table, rescheduled)


# --- Mailer and JobQueue ----------------------------------------------------------------------


@dataclass
class Outbox:
    mailer: Mailer
    sender: str
    #: An address the service refuses whatever the message (SES: an unverified sender).
    refused: str


@pytest.fixture(params=["memory", MOTO])
def outbox(request: pytest.FixtureRequest) -> Outbox:
    refused = "nobody@unverified.example"
    if request.param == "memory":
        return Outbox(FakeMailer(refused=[refused]), "digest@rapport.example", refused)
    stack = _moto_stack(request)
    sender = stack.functions[LogicalId.SEND_DIGEST].environment["SENDER_ADDRESS"]
    return Outbox(SesMailer(), sender, refused)


def _raw(sender: str) -> bytes:
    return f"From: {sender}\r\nTo: ann@example.com\r\nSubject: s\r\n\r\nbody\r\n".encode()


def test_a_message_is_sent_with_its_own_id(outbox: Outbox) -> None:
    raw = _raw(outbox.sender)
    first = outbox.mailer.send_raw(outbox.sender, "ann@example.com", raw)
    second = outbox.mailer.send_raw(outbox.sender, "ann@example.com", raw)
    assert first
    assert first != second


def test_a_refused_message_is_undeliverable(outbox: Outbox) -> None:
    with pytest.raises(Undeliverable) as refused:
        outbox.mailer.send_raw(outbox.refused, "ann@example.com", _raw(outbox.refused))
    assert refused.value.error_code == "MessageRejected"


@pytest.fixture(params=["memory", MOTO])
def queue(request: pytest.FixtureRequest) -> Iterator[tuple[JobQueue, Callable[[], list[str]]]]:
    """A job queue, and a way to read back the member ids of the jobs it holds."""
    if request.param == "memory":
        memory = MemoryJobQueue()
        yield memory, lambda: [job.member_id for job in memory.jobs]
        return
    url = _moto_stack(request).queues["DigestJobsQueue"].url
    sqs = boto3.client("sqs")

    def received() -> list[str]:
        members: list[str] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            members.extend(job_from_message(message["Body"]).member_id for message in messages)
        return members

    yield SqsJobQueue(url), received


def test_every_enqueued_job_can_be_received(
    queue: tuple[JobQueue, Callable[[], list[str]]],
) -> None:
    jobs, received = queue
    members = [f"m-{number}" for number in range(12)]
    batch = [DigestJob(member_id=member, week_start=WEEK, as_of=NOW) for member in members]
    jobs.enqueue(batch[:10])
    jobs.enqueue(batch[10:])
    assert sorted(received()) == sorted(members)
