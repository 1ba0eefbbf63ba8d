"""``deliver()``'s exactly-once state machine, path by path, against the in-memory fakes.

tests/integration/test_digest_pipeline.py runs the main paths through moto and the real handler;
here each branch of ``rapport.digest.delivery.deliver`` is taken on purpose, including the
failures moto cannot produce (DESIGN §5), with no network.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rapport.digest.delivery import (
    RECORD_RETRY_DELAYS,
    Delivery,
    DeliverySettings,
    DeliveryStatus,
    DigestInProgress,
    deliver,
)
from rapport.digest.jobs import DigestJob
from rapport.digest.schedule import next_due_after
from rapport.errors import Transient
from rapport.ingest import InboundMessage, ingest
from tests.support.events import answer, body, preferences, sent
from tests.support.fakes import (
    ClaimStatus,
    FakeMailer,
    MemoryDigestStore,
    MemoryEventStore,
    MemoryTable,
)

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)  # Monday 09:00 UTC
WEEK = date(2026, 11, 9)
MEMBER = "m-ann"
SETTINGS = DeliverySettings("digest@rapport.example", "https://u.example/unsubscribe", b"key")
JOB = DigestJob(member_id=MEMBER, week_start=WEEK, as_of=NOW)


@pytest.fixture
def table() -> MemoryTable:
    """Ann subscribed a month ago and sent two requests last week, one accepted."""
    table = MemoryTable()
    store = MemoryEventStore(table)
    in_the_week = datetime(2026, 11, 10, 10, tzinfo=UTC)
    for event in (
        preferences(MEMBER, at=NOW - timedelta(days=30)),
        sent("req-1", MEMBER, at=in_the_week),
        sent("req-2", MEMBER, at=in_the_week),
        answer("accepted", "req-1", MEMBER, at=in_the_week + timedelta(days=1)),
    ):
        ingest(InboundMessage(event["id"], body(event), NOW), store)
    return table


@pytest.fixture
def digests(table: MemoryTable) -> MemoryDigestStore:
    return MemoryDigestStore(table)


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


def _deliver(
    digests: MemoryDigestStore, mailer: FakeMailer, job: DigestJob = JOB
) -> tuple[Delivery, list[float]]:
    waits: list[float] = []
    return deliver(job, digests, mailer, SETTINGS, NOW, sleep=waits.append), waits


def _claim_status(table: MemoryTable, week: date = WEEK) -> ClaimStatus | None:
    claim = table.claims.get((MEMBER, week))
    return None if claim is None else claim.status


def test_a_digest_is_sent_recorded_and_scheduled(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer
) -> None:
    delivery, waits = _deliver(digests, mailer)
    assert delivery.status is DeliveryStatus.SENT
    assert waits == []
    [email] = mailer.sent
    assert (email.sender, email.recipient) == (SETTINGS.sender, f"{MEMBER}@example.com")
    assert delivery.message_id == email.message_id
    claim = table.claims[MEMBER, WEEK]
    assert claim.status is ClaimStatus.SENT
    assert claim.record is not None
    assert claim.record["message_id"] == email.message_id
    assert (claim.record["sent"], claim.record["accepted"]) == (2, 1)
    profile = table.profiles[MEMBER]
    assert (profile.digests_sent, profile.last_settled_week) == (1, WEEK)
    assert profile.next_due is not None
    assert profile.next_due > NOW


@pytest.mark.parametrize("subscribed", [None, False])
def test_no_digest_for_a_member_without_digests(
    table: MemoryTable, mailer: FakeMailer, subscribed: bool | None
) -> None:
    if subscribed is None:
        table.profiles.clear()
    else:
        table.profiles[MEMBER].digest_enabled = False
    delivery, _ = _deliver(MemoryDigestStore(table), mailer)
    assert delivery.status is DeliveryStatus.NOT_SUBSCRIBED
    assert mailer.sent == []
    assert table.claims == {}


def test_a_job_older_than_the_settled_week_is_superseded(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer
) -> None:
    table.profiles[MEMBER].last_settled_week = WEEK
    older = DigestJob(member_id=MEMBER, week_start=WEEK - timedelta(days=7), as_of=NOW)
    delivery, _ = _deliver(digests, mailer, older)
    assert delivery.status is DeliveryStatus.SUPERSEDED
    assert mailer.sent == []
    assert table.claims == {}


def test_a_week_already_sent_is_not_sent_again_and_its_schedule_catches_up(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer
) -> None:
    _deliver(digests, mailer)
    profile = table.profiles[MEMBER]
    profile.last_settled_week, profile.next_due = None, NOW  # as if the advance was lost
    delivery, _ = _deliver(digests, mailer)
    assert delivery.status is DeliveryStatus.ALREADY_SENT
    assert len(mailer.sent) == 1
    schedule = digests.profile(MEMBER)
    assert schedule is not None
    assert profile.last_settled_week == WEEK
    assert profile.next_due == next_due_after(schedule.schedule, NOW)
    assert profile.digests_sent == 1  # the catch-up counts nothing


def test_a_week_claimed_by_another_worker_is_retried_later(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer
) -> None:
    digests.claim(MEMBER, WEEK, NOW, timedelta(minutes=5))
    with pytest.raises(DigestInProgress):
        _deliver(digests, mailer)
    assert mailer.sent == []
    assert _claim_status(table) is ClaimStatus.CLAIMED


def test_a_refused_address_settles_the_week_without_an_email(
    table: MemoryTable, digests: MemoryDigestStore
) -> None:
    mailer = FakeMailer(refused=[f"{MEMBER}@example.com"])
    delivery, _ = _deliver(digests, mailer)
    assert delivery.status is DeliveryStatus.UNDELIVERABLE
    assert delivery.reason == "MessageRejected"
    assert delivery.insights is not None
    assert table.claims[MEMBER, WEEK].reason == "MessageRejected"
    profile = table.profiles[MEMBER]
    assert (profile.digests_sent, profile.last_settled_week) == (0, WEEK)
    assert _deliver(digests, FakeMailer())[0].status is DeliveryStatus.ALREADY_SENT


@pytest.mark.parametrize(
    ("fails", "error"),
    [
        ("send_raw", Transient("throttled")),
        ("send_raw", ConnectionError("timed out")),
        ("member_requests", RuntimeError("an item the read side cannot decode")),
    ],
)
def test_a_failure_before_sending_releases_the_claim_for_the_retry(
    table: MemoryTable,
    digests: MemoryDigestStore,
    mailer: FakeMailer,
    fails: str,
    error: Exception,
) -> None:
    (mailer if fails == "send_raw" else digests).faults.inject(fails, error)
    with pytest.raises(type(error)):
        _deliver(digests, mailer)
    assert _claim_status(table) is None
    assert mailer.sent == []
    assert _deliver(digests, mailer)[0].status is DeliveryStatus.SENT  # SQS redelivers
    assert len(mailer.sent) == 1


def test_a_record_that_fails_transiently_is_retried_not_resent(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer
) -> None:
    digests.faults.inject("record_sent", Transient("throttled"), Transient("throttled"))
    digests.faults.inject("advance_schedule", Transient("throttled"))
    delivery, waits = _deliver(digests, mailer)
    assert delivery.status is DeliveryStatus.SENT
    assert waits == [*RECORD_RETRY_DELAYS[:2], RECORD_RETRY_DELAYS[0]]
    assert _claim_status(table) is ClaimStatus.SENT
    assert table.profiles[MEMBER].digests_sent == 1
    assert len(mailer.sent) == 1


@pytest.mark.parametrize("fails", ["record_sent", "advance_schedule"])
def test_a_record_that_never_succeeds_is_reported_sent_but_unrecorded(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer, fails: str
) -> None:
    attempts = len(RECORD_RETRY_DELAYS) + 1
    digests.faults.inject(fails, *(Transient("throttled") for _ in range(attempts)))
    delivery, waits = _deliver(digests, mailer)
    assert delivery.status is DeliveryStatus.SENT_UNRECORDED
    assert delivery.message_id == mailer.sent[0].message_id
    assert waits == list(RECORD_RETRY_DELAYS)
    recorded = fails == "advance_schedule"  # the record went first and stayed
    assert (_claim_status(table) is ClaimStatus.SENT) is recorded
    assert table.profiles[MEMBER].digests_sent == 0


def test_a_record_failing_for_good_is_not_retried(
    table: MemoryTable, digests: MemoryDigestStore, mailer: FakeMailer
) -> None:
    digests.faults.inject("record_sent", RuntimeError("the claim was lost"))
    waits: list[float] = []
    with pytest.raises(RuntimeError):
        deliver(JOB, digests, mailer, SETTINGS, NOW, sleep=waits.append)
    assert waits == []
    assert len(mailer.sent) == 1
    assert _claim_status(table) is ClaimStatus.CLAIMED  # not released: held until its lease ends
