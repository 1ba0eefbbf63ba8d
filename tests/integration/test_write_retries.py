"""A write that DynamoDB applied but whose answer never arrived is retried by the SDK: the retry
must count as the writer's own (stored, claimed), not as somebody else's: request events,
preferences and digest claims alike. moto over HTTP applies the first attempt; the hook then drops
its answer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session

from rapport.adapters.aws import client, reset_clients
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.digest.ports import ClaimOutcome
from rapport.ingest import Disposition, InboundMessage, ingest
from rapport_cli.local.stack import LocalStack
from tests.support.events import body, preferences, sent

pytestmark = pytest.mark.integration


def _lose_first_answer(operation: str) -> list[int]:
    """Send the first ``operation`` request for real, then fail it as a read timeout."""
    sent_for_real: list[int] = []

    def hook(request: AWSPreparedRequest, **_: Any) -> None:
        if sent_for_real:
            return
        response = URLLib3Session().send(request)
        sent_for_real.append(response.status_code)
        raise ReadTimeoutError(endpoint_url=request.url)

    client("dynamodb").meta.events.register(f"before-send.dynamodb.{operation}", hook)
    return sent_for_real


@pytest.mark.parametrize(
    "event",
    [
        sent(f"req-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"),
        preferences(f"m-{uuid.uuid4().hex[:8]}"),
    ],
    ids=["request_event", "preferences"],
)
def test_a_retry_of_an_applied_write_is_stored_once(
    stack: LocalStack, event: dict[str, Any]
) -> None:
    reset_clients()
    store = DynamoEventStore(stack.table)
    applied = _lose_first_answer("UpdateItem")
    enqueued = datetime(2026, 11, 26, tzinfo=UTC)

    first = ingest(InboundMessage("m-1", body(event), enqueued), store)
    assert applied == [200], "the first attempt reached the table"
    redelivered = ingest(InboundMessage("m-2", body(event), enqueued), store)
    fresh_store = DynamoEventStore(stack.table)  # no memory of recent events
    elsewhere = ingest(InboundMessage("m-3", body(event), enqueued), fresh_store)

    assert first.disposition is Disposition.STORED
    assert redelivered.disposition is Disposition.DUPLICATE
    assert elsewhere.disposition is Disposition.DUPLICATE


def test_a_retried_digest_claim_is_still_the_workers_own(stack: LocalStack) -> None:
    reset_clients()
    store = DynamoDigestStore(stack.table)
    applied = _lose_first_answer("PutItem")
    now = datetime(2026, 11, 16, 18, tzinfo=UTC)
    member = f"m-{uuid.uuid4().hex[:8]}"

    claim = store.claim(member, date(2026, 11, 9), now, timedelta(minutes=5))
    other = store.claim(member, date(2026, 11, 9), now, timedelta(minutes=5))

    assert applied == [200]
    assert claim.outcome is ClaimOutcome.CLAIMED
    assert other.outcome is ClaimOutcome.IN_PROGRESS
