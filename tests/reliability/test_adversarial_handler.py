"""Every case of the adversarial corpus through the real process_events handler, against moto.

Each case travels in a batch between two valid events of other members, as SQS would deliver
it. The handler must never fail a record for bad input (that would mean redelivery and the
dead-letter queue), must quarantine each bad case with its stable code, store each odd but
valid one, leave the rest of the batch alone and never change the data of the member the
corpus sets up first. The function's logs are captured and checked for personal data.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb.items import (
    Kind,
    ProfileItem,
    QuarantinedEvent,
    event_attribute,
    key_of,
    kind_of,
    profile_key,
    request_key,
)
from rapport.identity import event_key
from rapport.validation import parse_event
from rapport_cli.local.lambda_runtime import FunctionHost, LocalContext
from rapport_cli.local.stack import LocalStack, deploy
from rapport_cli.local.template import LogicalId
from tests.reliability.corpus import VALID, VICTIM, Case, documented_error_codes, load_cases
from tests.reliability.pii import leaks, personal_strings
from tests.support.events import body, sent
from tests.support.table import find, member_items, quarantined_on

pytestmark = pytest.mark.integration

CASES = load_cases()
ENQUEUED = datetime(2026, 11, 16, 12, tzinfo=UTC)
FUNCTION = LogicalId.PROCESS_EVENTS


@dataclass
class Outcome:
    """What the handler did with one case, read from its log line and from the table."""

    case: Case
    failures: list[str]
    disposition: str | None
    error_code: str | None
    quarantine: QuarantinedEvent | None
    problems: list[str] = field(default_factory=list)


def _record(message_id: str, text: str, sent_at: datetime) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(sent_at.timestamp() * 1000)),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(int(sent_at.timestamp() * 1000)),
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
        "awsRegion": "us-east-1",
    }


def _partition(table: str, member: str) -> list[dict[str, Any]]:
    """The member's data; links to quarantined payloads that name them are not their data but
    the way to erase it, and a bad case naming the member adds one by design."""
    return [item for item in member_items(table, member) if kind_of(item) is not Kind.NAMED_IN]


def _event_is_stored(table: str, text: str) -> bool:
    event = parse_event(text)
    data: Any = event.data
    if event.type.endswith("preferences_updated"):
        stored_under = profile_key(data.member_id)
    else:
        stored_under = request_key(data.sender_id, data.request_id)
    item = find(table, stored_under)
    return item is not None and event_attribute(event_key(event)) in item


#: Cases per batch; two valid events of other members fill each batch up to SQS's 10.
CASES_PER_BATCH = 8


def _quarantined(table: str) -> dict[str, QuarantinedEvent]:
    """Every quarantined input of the day the corpus was enqueued, by SQS message id."""
    return {entry.message_id: entry for entry in quarantined_on(table, ENQUEUED)}


@pytest.fixture(scope="module")
def corpus_run(moto_endpoint: str) -> tuple[list[Outcome], str, LocalStack]:
    """The whole corpus, in order, through one deployment; every outcome recorded."""
    del moto_endpoint
    stack = deploy(
        boto3.session.Session(), os.environ["AWS_DEFAULT_REGION"], f"adv{uuid.uuid4().hex[:8]}"
    )
    table = stack.table
    log = io.StringIO()
    reset_clients()
    handler = FunctionHost(stack.functions, log).handler(FUNCTION)
    outcomes: dict[str, Outcome] = {}
    victim_before: list[dict[str, Any]] | None = None
    setup = [case for case in CASES if case.setup]
    rest = [case for case in CASES if not case.setup]
    batches = [setup] + [
        rest[start : start + CASES_PER_BATCH] for start in range(0, len(rest), CASES_PER_BATCH)
    ]
    for number, batch in enumerate(batches):
        canaries = [
            body(sent(f"canary-{side}", f"adv-canary-{number}", event_id=f"c-{number}-{side}"))
            for side in ("first", "last")
        ]
        texts = [canaries[0], *(case.body for case in batch), canaries[1]]
        ids = [str(uuid.uuid4()) for _ in texts]
        event = {"Records": [_record(i, t, ENQUEUED) for i, t in zip(ids, texts, strict=True)]}
        start = log.tell()
        response = handler(event, LocalContext(function_name=FUNCTION))
        lines = [json.loads(line) for line in log.getvalue()[start:].splitlines() if line]
        processed = {
            line["message_id"]: line for line in lines if line.get("message") == "event processed"
        }
        failures = [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]
        batch_problems = []
        for canary_id, canary in zip((ids[0], ids[-1]), canaries, strict=True):
            if processed.get(canary_id, {}).get("disposition") != "stored":
                batch_problems.append("a valid event of the same batch was not stored")
            if not _event_is_stored(table, canary):
                batch_problems.append("a valid event of the same batch is not in the table")
        if victim_before is None:
            victim_before = _partition(table, VICTIM)
        elif _partition(table, VICTIM) != victim_before:
            batch_problems.append(f"changed the data of {VICTIM}")
            victim_before = _partition(table, VICTIM)
        for message_id, case in zip(ids[1:-1], batch, strict=True):
            mine = processed.get(message_id, {})
            outcomes[message_id] = Outcome(
                case=case,
                failures=[failed for failed in failures if failed == message_id],
                disposition=mine.get("disposition"),
                error_code=mine.get("error_code"),
                quarantine=None,
                problems=batch_problems,
            )
    quarantined = _quarantined(table)
    for message_id, outcome in outcomes.items():
        outcome.quarantine = quarantined.get(message_id)
    reset_clients()
    return list(outcomes.values()), log.getvalue(), stack


def test_the_corpus_has_at_least_40_cases_of_each_kind_it_claims() -> None:
    bad = [case for case in CASES if case.handler not in VALID]
    odd = [case for case in CASES if case.handler == "stored" and not case.setup]
    assert len(CASES) >= 40
    assert len(bad) >= 40
    assert len(odd) >= 15
    assert {case.handler for case in bad} <= documented_error_codes()
    assert len({case.name for case in CASES}) == len(CASES)


def test_no_input_fails_a_record_or_crashes_the_worker(
    corpus_run: tuple[list[Outcome], str, LocalStack],
) -> None:
    outcomes, _, _ = corpus_run
    failed = [outcome.case.name for outcome in outcomes if outcome.failures]
    assert failed == []
    unprocessed = [outcome.case.name for outcome in outcomes if outcome.disposition is None]
    assert unprocessed == []


def test_each_bad_case_is_quarantined_with_its_stable_code(
    corpus_run: tuple[list[Outcome], str, LocalStack],
) -> None:
    outcomes, _, _ = corpus_run
    wrong: dict[str, tuple[Any, ...]] = {}
    for outcome in outcomes:
        case = outcome.case
        if case.handler in VALID:
            continue
        quarantine = outcome.quarantine
        got = (
            outcome.disposition,
            outcome.error_code,
            None if quarantine is None else quarantine.error_code,
        )
        if got != ("quarantined", case.handler, case.handler):
            wrong[case.name] = got
        elif quarantine is None or not quarantine.message:
            wrong[case.name] = ("quarantined without a message for a person",)
    assert wrong == {}


def test_each_valid_but_odd_case_is_stored_or_recognised_as_a_duplicate(
    corpus_run: tuple[list[Outcome], str, LocalStack],
) -> None:
    outcomes, _, stack = corpus_run
    table = stack.table
    wrong = {
        outcome.case.name: (outcome.disposition, outcome.error_code)
        for outcome in outcomes
        if outcome.case.handler in VALID
        and (outcome.disposition != outcome.case.handler or outcome.quarantine is not None)
    }
    assert wrong == {}
    missing = [
        outcome.case.name
        for outcome in outcomes
        if outcome.case.handler == "stored" and not _event_is_stored(table, outcome.case.body)
    ]
    assert missing == []


def test_no_case_disturbs_its_batch_or_another_members_data(
    corpus_run: tuple[list[Outcome], str, LocalStack],
) -> None:
    outcomes, _, stack = corpus_run
    assert {outcome.case.name: outcome.problems for outcome in outcomes if outcome.problems} == {}
    assert all(not outcome.failures for outcome in outcomes)
    # The key-injection cases landed in partitions of their own, not in the victim's.
    victim = _partition(stack.table, VICTIM)
    # A query returns the partition in sort-key order: the profile, then the request.
    assert [key_of(item) for item in victim] == [profile_key(VICTIM), request_key(VICTIM, "req-v1")]
    assert ProfileItem.decode(victim[0]).email == "victim.person@example.org"


def test_the_handler_logs_no_personal_data(
    corpus_run: tuple[list[Outcome], str, LocalStack],
) -> None:
    _, logs, _ = corpus_run
    personal = personal_strings(case.body for case in CASES)
    assert len(personal) >= 20  # notes, addresses and headlines of the corpus
    batches = 1 + -(-sum(not case.setup for case in CASES) // CASES_PER_BATCH)
    assert logs.count('"event processed"') == len(CASES) + 2 * batches
    assert leaks(logs, personal) == []
