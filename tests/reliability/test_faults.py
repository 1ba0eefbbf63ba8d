"""The fault injector: its specification, its determinism, what the SDK makes of each fault, and
`rapport run --inject-faults` at rates high enough that SQS redelivery, not only the SDK's own
retries, has to save the day."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError
from botocore.retries.standard import ExponentialBackoff

from rapport_cli.local import runner
from rapport_cli.local.faults import (
    KINDS,
    FaultInjector,
    FaultPlan,
    FaultSpecError,
    immediate_retries,
)
from rapport_cli.main import main
from tests.reliability.runs import jsonl
from tests.support.events import answer, body, preferences, sent

NOW = datetime(2026, 11, 16, 18, tzinfo=UTC)
HIGH = "dynamodb=0.5,sqs=0.3,ses=0.5,secretsmanager=0.3"
HIGH_SEED = 5


def test_a_fault_plan_reads_service_rates() -> None:
    plan = FaultPlan.parse(" dynamodb=0.2, sqs=0.1 ,SES=0.3", seed=4)
    assert plan.rates == {"dynamodb": 0.2, "sqs": 0.1, "ses": 0.3}
    assert plan.seed == 4


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no SERVICE=RATE"),
        ("dynamodb", "expected SERVICE=RATE"),
        ("s3=0.1", "expected SERVICE=RATE"),
        ("dynamodb=lots", "not a number"),
        ("dynamodb=1", "below 1"),
        ("dynamodb=-0.1", "at least 0"),
        ("sqs=0.1,sqs=0.2", "more than once"),
    ],
)
def test_a_bad_fault_plan_is_refused_with_a_reason(spec: str, problem: str) -> None:
    with pytest.raises(FaultSpecError, match=problem):
        FaultPlan.parse(spec)


def _decisions(injector: FaultInjector, calls: int, event: str) -> list[str]:
    request = SimpleNamespace(url="http://127.0.0.1/")
    outcomes = []
    for _ in range(calls):
        try:
            response = injector._before_send(request, event_name=event)
        except ConnectTimeoutError:
            outcomes.append("timeout")
        else:
            outcomes.append("ok" if response is None else str(response.status_code))
    return outcomes


def test_the_same_seed_fails_the_same_calls_and_services_do_not_disturb_each_other() -> None:
    plan = FaultPlan({"dynamodb": 0.3, "sqs": 0.3}, seed=9)
    first, second = FaultInjector(plan), FaultInjector(plan)
    _decisions(second, 17, "before-send.sqs.SendMessageBatch")  # other service's calls first
    dynamo = _decisions(first, 400, "before-send.dynamodb.UpdateItem")
    assert dynamo == _decisions(second, 400, "before-send.dynamodb.UpdateItem")
    other = _decisions(FaultInjector(FaultPlan(plan.rates, seed=10)), 400, "before-send.dynamodb.X")
    assert dynamo != other
    failed = sum(outcome != "ok" for outcome in dynamo)
    assert 80 <= failed <= 160  # about 30% of 400
    assert set(dynamo) == {"ok", "400", "500", "503", "timeout"}
    report = first.report()["dynamodb"]
    assert report["attempts"] == 400
    assert report["injected"] == failed
    assert first.by_operation == Counter({"dynamodb:UpdateItem": failed})
    # A service that is not named is never touched.
    assert _decisions(first, 50, "before-send.sesv2.SendEmail") == ["ok"] * 50


def test_the_sdk_retries_each_kind_of_fault_and_then_reports_it(moto_endpoint: str) -> None:
    session = boto3.session.Session()
    injector = FaultInjector(FaultPlan({"dynamodb": 0.999, "ses": 0.999}, seed=1))
    injector.attach(session.events)
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    dynamodb = session.client("dynamodb", endpoint_url=moto_endpoint, config=config)
    ses = session.client("sesv2", endpoint_url=moto_endpoint, config=config)
    seen: Counter[str] = Counter()
    retries: list[int] = []
    with immediate_retries():
        for call in [dynamodb.list_tables] * 12 + [ses.list_email_identities] * 12:
            try:
                call()
            except ClientError as error:
                retries.append(error.response["ResponseMetadata"]["RetryAttempts"])
                seen[error.response["Error"]["Code"]] += 1
            except ConnectTimeoutError:
                seen["timeout"] += 1
    assert set(retries) == {3}
    assert sum(seen.values()) == 24  # nothing got through
    assert seen.keys() <= {
        "ProvisionedThroughputExceededException",
        "TooManyRequestsException",
        "InternalServerError",
        "ServiceUnavailable",
        "timeout",
    }
    assert len(seen) >= 4
    assert injector.report()["dynamodb"]["attempts"] == 12 * 4  # 1 attempt + 3 retries each
    assert sum(injector.report()["ses"][kind] for kind in KINDS) == 12 * 4


def test_retries_do_not_wait_while_faults_are_injected_and_do_again_after() -> None:
    original = ExponentialBackoff.delay_amount
    backoff = ExponentialBackoff(random=lambda: 1.0)
    context = SimpleNamespace(attempt_number=3, http_response=None, parsed_response=None)
    with immediate_retries():
        assert backoff.delay_amount(context) == 0.0
    assert ExponentialBackoff.delay_amount is original


def _small_stream(path: Path) -> Path:
    """Five members, each subscribed, with a week of requests, answers and notes."""
    events: list[dict[str, Any]] = []
    start = datetime(2026, 11, 9, 9, tzinfo=UTC)
    for member_number in range(5):
        member = f"m-fault-{member_number}"
        events.append(preferences(member, at=start - timedelta(days=8)))
        for request_number in range(4):
            request = f"req-{member_number}-{request_number}"
            at = start + timedelta(hours=7 * request_number + member_number)
            events.append(sent(request, member, at=at, note=f"Hello {request}, fellow PMP?"))
            kind = ("accepted", "declined", "withdrawn", None)[request_number]
            if kind:
                note = "I only connect with people I've met" if kind == "declined" else None
                events.append(answer(kind, request, member, at=at + timedelta(days=1), note=note))
    path.write_text("".join(body(event) + "\n" for event in events), encoding="utf-8")
    return path


@pytest.mark.e2e
def test_rapport_run_with_high_fault_rates_ends_as_a_clean_run_and_is_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = _small_stream(tmp_path / "small.jsonl")
    clean = runner.run([stream], tmp_path / "clean", now=NOW)
    plan = FaultPlan.parse(HIGH, seed=HIGH_SEED)
    faulted = runner.run([stream], tmp_path / "faulted", now=NOW, faults=plan)
    args = [
        "run",
        "--events",
        str(stream),
        "--out",
        str(tmp_path / "cli"),
        "--now",
        NOW.isoformat(),
    ]
    assert main([*args, "--inject-faults", HIGH, "--seed", str(HIGH_SEED)]) == 0
    table = capsys.readouterr().err

    # So many calls failed four times in a row that SQS had to redeliver records.
    assert faulted.retried_records > 0
    assert faulted.summary == clean.summary
    assert faulted.summary.dead_lettered == 0
    assert faulted.digest_jobs_dead_lettered == 0
    assert faulted.summary.digests_sent == 5
    for out in ("faulted", "cli"):
        for name in ("requests.jsonl", "summary.json"):
            assert (tmp_path / out / name).read_text() == (tmp_path / "clean" / name).read_text()
        assert [path.name for path in sorted((tmp_path / out / "digests").glob("*.json"))] == [
            path.name for path in sorted((tmp_path / "clean" / "digests").glob("*.json"))
        ]
    # The same seed injects the same faults, whichever way the run is started.
    recorded = json.loads((tmp_path / "faulted" / "faults.json").read_text())
    assert recorded == json.loads((tmp_path / "cli" / "faults.json").read_text())
    assert recorded["services"] == faulted.faults
    assert all(faulted.faults[service]["injected"] > 0 for service in ("dynamodb", "sqs", "ses"))
    assert faulted.faults["secretsmanager"]["attempts"] >= 1  # read once per container
    assert "faults injected dynamodb" in table
    assert jsonl(tmp_path / "cli" / "dead_letters.jsonl") == []


def test_rapport_run_refuses_a_bad_fault_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = _small_stream(tmp_path / "small.jsonl")
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--events", str(stream), "--out", str(tmp_path), "--inject-faults", "s3=1"])
    assert exit_info.value.code == 2
    assert "SERVICE=RATE" in capsys.readouterr().err
    assert not (tmp_path / "summary.json").exists()
