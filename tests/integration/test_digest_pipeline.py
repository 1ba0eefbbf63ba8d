"""Digests end to end against a moto server over HTTP: the due index, the fan-out, exactly-once
delivery through SES v2 (read back from what moto's SES received), and one-click unsubscribe."""

from __future__ import annotations

import io
import json
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from rapport.adapters.aws import client, reset_clients
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.dynamodb.items import (
    EMAIL,
    ClaimStatus,
    DigestItem,
    EventEntry,
    RequestItem,
    digest_key,
    event_attribute,
    profile_key,
    string,
)
from rapport.adapters.ses_mailer import SesMailer
from rapport.digest import tokens
from rapport.digest.delivery import DeliverySettings, DeliveryStatus, DigestInProgress, deliver
from rapport.digest.jobs import DigestJob
from rapport.errors import InvalidEvent, Transient
from rapport.ingest import InboundMessage, ingest
from rapport.timeutil import sortable
from rapport_cli.local.event_source import DrainResult, drain
from rapport_cli.local.lambda_runtime import FunctionHost
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId
from tests.support.events import answer, body, preferences, sent
from tests.support.table import find, get, stored_profile

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)  # Monday 09:00 UTC
WEEK = date(2026, 11, 9)


@pytest.fixture
def host(stack: LocalStack) -> FunctionHost:
    reset_clients()
    return FunctionHost(stack.functions, io.StringIO())


def _member() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"


def _ingest(stack: LocalStack, *events: dict[str, Any]) -> None:
    store = DynamoEventStore(stack.table)
    for event in events:
        ingest(InboundMessage(str(uuid.uuid4()), body(event), NOW), store)


def _subscribe(
    stack: LocalStack, member: str, at: datetime = NOW - timedelta(days=30), **fields: Any
) -> str:
    email = f"{member}@example.com"
    _ingest(stack, preferences(member, at=at, email=email, **fields))
    return email


def _schedule(host: FunctionHost, now: datetime = NOW) -> int:
    result = host.invoke(LogicalId.SCHEDULE_DIGESTS, {"scheduled_time": now.isoformat()})
    return int(result["enqueued"])


def _queued_jobs(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = stack.digest_queue.url
    jobs: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        jobs.extend(json.loads(message["Body"]) for message in messages)
    return jobs


def _deliver_jobs(stack: LocalStack, host: FunctionHost) -> DrainResult:
    return drain(
        boto3.client("sqs"),
        stack.digest_queue,
        host.handler(LogicalId.SEND_DIGEST),
        function_name=LogicalId.SEND_DIGEST,
        batch_size=5,
        region="us-east-1",
    )


def _emails_to(address: str) -> list[EmailMessage]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    messages = []
    for sent_message in backend.sent_messages:
        if address in getattr(sent_message, "destinations", []):
            parsed = message_from_string(sent_message.raw_data, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            messages.append(parsed)
    return messages


def _enqueue(stack: LocalStack, job: DigestJob, copies: int = 1) -> None:
    sqs = boto3.client("sqs")
    for _ in range(copies):
        sqs.send_message(QueueUrl=stack.digest_queue.url, MessageBody=job.to_message())


def test_only_members_due_now_get_a_job(stack: LocalStack, host: FunctionHost) -> None:
    due, disabled, later = _member(), _member(), _member()
    _subscribe(stack, due, timezone="Europe/Berlin")
    _subscribe(stack, disabled, digest_enabled=False)
    # Subscribed an hour ago: the first digest is Monday 08:00 in Los Angeles, 16:00Z.
    _subscribe(stack, later, at=NOW - timedelta(hours=1), timezone="America/Los_Angeles")

    assert _schedule(host) == 1
    assert _queued_jobs(stack) == [
        {"member_id": due, "week_start": WEEK.isoformat(), "as_of": "2026-11-16T09:00:00Z"}
    ]
    assert _schedule(host, NOW + timedelta(hours=8)) == 2  # later is due too, by then


def test_a_missed_run_catches_up_with_the_latest_week_only(
    stack: LocalStack, host: FunctionHost
) -> None:
    member = _member()
    _subscribe(stack, member)
    three_weeks_late = NOW + timedelta(weeks=3)
    assert _schedule(host, three_weeks_late) == 1
    (job,) = _queued_jobs(stack)
    assert job["week_start"] == (WEEK + timedelta(weeks=3)).isoformat()


def test_a_digest_is_sent_once_to_the_latest_address(stack: LocalStack, host: FunctionHost) -> None:
    member = _member()
    _ingest(
        stack,
        preferences(member, at=NOW - timedelta(days=20), email=f"old-{member}@example.com"),
        sent("r1", member, at=datetime(2026, 11, 10, 10, tzinfo=UTC)),
        answer(
            "declined",
            "r1",
            member,
            at=datetime(2026, 11, 11, 10, tzinfo=UTC),
            note="I only connect with people I've met",
        ),
    )
    address = _subscribe(stack, member, at=NOW - timedelta(days=10))  # newer: a new address

    assert _schedule(host) == 1
    first = _deliver_jobs(stack, host)
    assert len(first.succeeded) == 1
    assert _schedule(host) == 0  # the next digest is due next week
    assert _schedule(host, NOW + timedelta(days=7)) == 1

    (message,) = _emails_to(address)
    assert _emails_to(f"old-{member}@example.com") == []
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["List-Unsubscribe"].startswith("<https://")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "\n1 sent\r\n" in text
    assert "\n1 declined\r\n" in text
    assert "Welcome to Rapport" in text

    record = DigestItem.decode(get(stack.table, digest_key(member, WEEK))).record
    assert record is not None
    assert (record["sent"], record["declined"], record["acceptance_rate"]) == (1, 1, 0.0)


def test_duplicate_jobs_send_one_email(stack: LocalStack, host: FunctionHost) -> None:
    member = _member()
    address = _subscribe(stack, member)
    _enqueue(stack, DigestJob(member_id=member, week_start=WEEK, as_of=NOW), copies=4)
    result = _deliver_jobs(stack, host)
    assert len(result.succeeded) == 4
    assert len(_emails_to(address)) == 1


def test_a_failed_send_is_retried_and_sent_once(stack: LocalStack, host: FunctionHost) -> None:
    member = _member()
    address = _subscribe(stack, member)
    failures = {"left": 2}

    def throttle_first_sends(**_: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "injected"}}, "SendEmail"
            )

    host.handler(LogicalId.SEND_DIGEST)  # import the function, so its clients are the shared ones
    client("sesv2").meta.events.register(
        "before-parameter-build.sesv2.SendEmail", throttle_first_sends
    )
    _enqueue(stack, DigestJob(member_id=member, week_start=WEEK, as_of=NOW))
    result = _deliver_jobs(stack, host)

    assert failures["left"] == 0
    assert result.failed_attempts == 2
    assert len(result.succeeded) == 1
    assert len(_emails_to(address)) == 1


def test_concurrent_workers_send_one_email(stack: LocalStack) -> None:
    reset_clients()
    member = _member()
    address = _subscribe(stack, member)
    job = DigestJob(member_id=member, week_start=WEEK, as_of=NOW)
    store = DynamoDigestStore(stack.table)
    settings = DeliverySettings("digest@rapport.example", "https://u.example/", b"key")
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        try:
            outcomes.append(deliver(job, store, SesMailer(), settings, NOW).status.value)
        except DigestInProgress:
            outcomes.append("in_progress")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(DeliveryStatus.SENT.value) == 1
    assert len(_emails_to(address)) == 1
    retry = deliver(job, store, SesMailer(), settings, NOW)
    assert retry.status is DeliveryStatus.ALREADY_SENT
    assert len(_emails_to(address)) == 1


def _function_url_event(method: str, token: str | None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": f"token={token}" if token else "",
        "queryStringParameters": {"token": token} if token else None,
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": "List-Unsubscribe=One-Click" if method == "POST" else None,
        "isBase64Encoded": False,
    }


def _signing_key(stack: LocalStack) -> bytes:
    secret_id = stack.functions[LogicalId.UNSUBSCRIBE].environment["UNSUBSCRIBE_SECRET_ID"]
    return str(
        client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    ).encode()


@pytest.mark.parametrize(
    ("make_token", "status"),
    [
        (lambda member, key: tokens.sign(member, NOW, b"not the key"), 403),
        (lambda member, key: tokens.sign(member, NOW - timedelta(days=90), key), 410),
        (lambda member, key: "garbage", 400),
        (lambda member, key: tokens.sign(member, NOW, key)[:-3] + "AAA", 403),
    ],
)
def test_a_bad_unsubscribe_token_changes_nothing(
    stack: LocalStack, host: FunctionHost, make_token: Any, status: int
) -> None:
    member = _member()
    _subscribe(stack, member)
    token = make_token(member, _signing_key(stack))
    for method in ("GET", "POST"):
        response = host.invoke(LogicalId.UNSUBSCRIBE, _function_url_event(method, token))
        assert response["statusCode"] == status
    assert stored_profile(stack.table, member).digest_enabled is True
    assert _schedule(host) == 1


def test_one_click_unsubscribe_stops_the_digests(stack: LocalStack, host: FunctionHost) -> None:
    member = _member()
    _subscribe(stack, member)
    token = tokens.sign(member, datetime.now(UTC), _signing_key(stack))

    page = host.invoke(LogicalId.UNSUBSCRIBE, _function_url_event("GET", token))
    assert page["statusCode"] == 200
    assert '<form method="post"' in page["body"]
    assert stored_profile(stack.table, member).digest_enabled is True  # GET changes nothing

    done = host.invoke(LogicalId.UNSUBSCRIBE, _function_url_event("POST", token))
    assert done["statusCode"] == 200
    profile = stored_profile(stack.table, member)
    assert profile.digest_enabled is False
    assert profile.next_due_at is None
    assert _schedule(host, NOW + timedelta(days=30)) == 0


def test_an_old_preferences_event_does_not_resubscribe(
    stack: LocalStack, host: FunctionHost
) -> None:
    member = _member()
    _subscribe(stack, member)
    token = tokens.sign(member, datetime.now(UTC), _signing_key(stack))
    host.invoke(LogicalId.UNSUBSCRIBE, _function_url_event("POST", token))
    _ingest(stack, preferences(member, at=NOW - timedelta(days=60), event_id=f"{member}-old"))
    assert stored_profile(stack.table, member).digest_enabled is False


def test_a_job_for_an_older_week_is_not_sent_after_a_newer_one(
    stack: LocalStack, host: FunctionHost
) -> None:
    member = _member()
    address = _subscribe(stack, member)
    _enqueue(stack, DigestJob(member_id=member, week_start=WEEK, as_of=NOW))
    _deliver_jobs(stack, host)
    _enqueue(stack, DigestJob(member_id=member, week_start=WEEK - timedelta(weeks=1), as_of=NOW))
    result = _deliver_jobs(stack, host)
    assert len(result.succeeded) == 1
    assert len(_emails_to(address)) == 1


def test_an_address_ses_refuses_settles_the_week_without_retrying(
    stack: LocalStack, host: FunctionHost
) -> None:
    member = _member()
    _subscribe(stack, member)
    refusals = {"count": 0}

    def refuse(**_: Any) -> None:
        refusals["count"] += 1
        raise ClientError(
            {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified"}},
            "SendEmail",
        )

    host.handler(LogicalId.SEND_DIGEST)
    client("sesv2").meta.events.register("before-parameter-build.sesv2.SendEmail", refuse)
    _enqueue(stack, DigestJob(member_id=member, week_start=WEEK, as_of=NOW), copies=2)
    result = _deliver_jobs(stack, host)

    assert refusals["count"] == 1  # the duplicate job finds the week settled
    assert result.failed_attempts == 0
    assert len(result.succeeded) == 2
    assert _schedule(host) == 0  # the next digest is due next week, not again this hour


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("=?utf-8?q?victim=40other.example?=@example.com", "recipient_rewritten_by_header"),
        ("=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.com", "message_not_buildable"),
    ],
)
def test_an_address_no_header_can_carry_settles_the_week_and_is_never_sent(
    stack: LocalStack, host: FunctionHost, address: str, reason: str
) -> None:
    """Stored before the contract refused such addresses: the week is settled as undeliverable
    (no claim left, no retry, no dead letter) and nothing goes to a rewritten recipient."""
    member = _member()
    _subscribe(stack, member)
    table = stack.table
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key=profile_key(member),
        UpdateExpression="SET #email = :email",
        ExpressionAttributeNames={"#email": EMAIL},
        ExpressionAttributeValues={":email": string(address)},
    )
    ses = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    sent_before = len(ses.sent_messages)
    _enqueue(stack, DigestJob(member_id=member, week_start=WEEK, as_of=NOW), copies=2)
    result = _deliver_jobs(stack, host)

    assert result.failed_attempts == 0
    assert len(result.succeeded) == 2
    assert len(ses.sent_messages) == sent_before
    claim = DigestItem.decode(get(table, digest_key(member, WEEK)))
    assert (claim.status, claim.reason) == (ClaimStatus.UNDELIVERABLE, reason)
    assert claim.lease_until is None
    assert _schedule(host) == 0  # the next digest is due next week, not again this hour


def test_a_digest_that_cannot_be_built_releases_its_claim(stack: LocalStack) -> None:
    """Reading or rendering can fail after the week is claimed (here a stored event the read
    side cannot decode): the claim goes, so a retry is not refused as "in progress"."""
    reset_clients()
    member = _member()
    _subscribe(stack, member)
    table = stack.table
    broken = EventEntry(fingerprint="x", canonical='{"specversion": "0.3"}')
    boto3.client("dynamodb").put_item(
        TableName=table,
        Item=RequestItem(
            member, "req-broken", {event_attribute("0"): broken}, events_until=sortable(NOW)
        ).encode(),
    )
    store = DynamoDigestStore(table)
    settings = DeliverySettings("digest@rapport.example", "https://u.example/", b"key")
    job = DigestJob(member_id=member, week_start=WEEK, as_of=NOW)
    with pytest.raises(InvalidEvent):
        deliver(job, store, SesMailer(), settings, NOW)
    assert find(table, digest_key(member, WEEK)) is None


def test_a_failed_record_after_sending_is_retried_not_sent_again(stack: LocalStack) -> None:
    reset_clients()
    member = _member()
    address = _subscribe(stack, member)
    store = DynamoDigestStore(stack.table)
    failures = {"left": 2}
    record_sent = store.record_sent

    def flaky_record(*args: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise Transient("throttled")
        record_sent(*args)

    store.record_sent = flaky_record  # type: ignore[method-assign,assignment]
    settings = DeliverySettings("digest@rapport.example", "https://u.example/", b"key")
    job = DigestJob(member_id=member, week_start=WEEK, as_of=NOW)
    waits: list[float] = []
    delivery = deliver(job, store, SesMailer(), settings, NOW, sleep=waits.append)

    assert delivery.status is DeliveryStatus.SENT
    assert waits == [0.5, 1.0]
    assert deliver(job, store, SesMailer(), settings, NOW).status is DeliveryStatus.ALREADY_SENT
    assert len(_emails_to(address)) == 1
