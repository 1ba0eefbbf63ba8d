"""`rapport run` on the demo stream plus the adversarial corpus, once clean and once with faults
injected (DynamoDB 20%, SQS 10%, SES 30% of calls), digests included.

The faulted run must end exactly where the clean one does: the same requests, the same
quarantine, the same figures, nothing dead-lettered, and one email for every member due. Both
runs' logs must be free of personal data, and the corpus must come out as it does through the
handler alone (some bodies are refused by SQS first, and say so).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from rapport.contract import PreferencesUpdated
from rapport.digest.schedule import DigestSchedule, next_due_after
from rapport.errors import InvalidEvent
from rapport.state import request_status
from rapport.validation import parse_event
from rapport_cli.local import runner
from rapport_cli.local.faults import FaultPlan
from tests.reliability.corpus import (
    ODD_MEMBER,
    ROOT,
    VALID,
    Case,
    documented_error_codes,
    load_cases,
    stream_lines,
    write_stream,
)
from tests.reliability.pii import leaks, personal_strings
from tests.reliability.runs import jsonl, once

pytestmark = pytest.mark.e2e

DEMO = ROOT / "events" / "streams" / "demo.jsonl"
DEMO_EXPECTED = json.loads((ROOT / "events" / "streams" / "demo.expected.json").read_text())
NOW = datetime(2026, 11, 16, 18, tzinfo=UTC)
RATES = {"dynamodb": 0.2, "sqs": 0.1, "ses": 0.3}
SEED = 20261126
CASES = load_cases()


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, Case]]:
    """The corpus as one JSONL file, written once for every worker (runs name the file)."""
    directory = once(
        tmp_path_factory, "adversarial-stream", lambda d: write_stream(CASES, d / "corpus.jsonl")
    )
    return directory / "corpus.jsonl", stream_lines(CASES)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, stream: tuple[Path, dict[int, Case]]) -> Path:
    return once(tmp_path_factory, "corpus-clean", lambda out: _run(out, stream[0], faults=None))


@pytest.fixture(scope="module")
def faulted(tmp_path_factory: pytest.TempPathFactory, stream: tuple[Path, dict[int, Case]]) -> Path:
    return once(
        tmp_path_factory,
        "corpus-faulted",
        lambda out: _run(out, stream[0], faults=FaultPlan(RATES, SEED)),
    )


def _run(out: Path, adversarial: Path, faults: FaultPlan | None) -> None:
    report = runner.run([DEMO, adversarial], out, now=NOW, faults=faults)
    (out / "report.json").write_text(
        json.dumps(
            {
                "retried_records": report.retried_records,
                "digest_jobs_dead_lettered": report.digest_jobs_dead_lettered,
            }
        )
    )


def _without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quarantine rows without what differs between any two runs (the instant and message id)."""
    return [{k: v for k, v in row.items() if k != "quarantine_id"} for row in rows]


def _valid_events(*texts: str) -> list[Any]:
    events = []
    for text in texts:
        try:
            events.append(parse_event(text))
        except InvalidEvent:
            continue
    return events


def _due_members(events: list[Any]) -> set[str]:
    """Members whose latest preferences have digests on and due by NOW."""
    latest: dict[str, PreferencesUpdated] = {}
    for event in events:
        if isinstance(event, PreferencesUpdated):
            member = event.data.member_id
            if member not in latest or (event.time, event.id) > (
                latest[member].time,
                latest[member].id,
            ):
                latest[member] = event
    due = set()
    for member, event in latest.items():
        prefs = event.data
        schedule = DigestSchedule(prefs.timezone, prefs.digest_day, prefs.digest_hour)
        if prefs.digest_enabled and next_due_after(schedule, event.time) <= NOW:
            due.add(member)
    return due


def _demo_outcomes_alone() -> dict[str, str]:
    """Each demo request's outcome at NOW from its own events (first arrival of each key)."""
    events: dict[tuple[str, str], Any] = {}
    for event in _valid_events(*DEMO.read_text(encoding="utf-8").splitlines()):
        events.setdefault((event.source, event.id), event)
    requests: dict[str, list[Any]] = {}
    for event in events.values():
        if not isinstance(event, PreferencesUpdated):
            requests.setdefault(f"{event.data.sender_id}/{event.data.request_id}", []).append(event)
    return {
        name: request_status(history, NOW, timedelta(days=21)).outcome.value
        for name, history in requests.items()
    }


def _all_bodies(*, only_valid_cases: bool = False) -> list[str]:
    """The demo stream and the corpus; ``only_valid_cases`` leaves out the cases the pipeline
    quarantines although ``parse_event`` accepts them (``time_in_future``, conflicts)."""
    cases = [case for case in CASES if case.run in VALID or not only_valid_cases]
    return DEMO.read_text(encoding="utf-8").splitlines() + [case.body for case in cases]


def test_with_faults_every_output_equals_the_clean_run(clean: Path, faulted: Path) -> None:
    assert (faulted / "requests.jsonl").read_text() == (clean / "requests.jsonl").read_text()
    assert json.loads((faulted / "summary.json").read_text()) == json.loads(
        (clean / "summary.json").read_text()
    )
    assert _without_ids(jsonl(faulted / "quarantine.jsonl")) == _without_ids(
        jsonl(clean / "quarantine.jsonl")
    )
    figures = sorted(path.name for path in (clean / "digests").glob("*.json"))
    assert figures == sorted(path.name for path in (faulted / "digests").glob("*.json"))
    for name in figures:
        assert (faulted / "digests" / name).read_text() == (clean / "digests" / name).read_text()


def test_with_faults_nothing_is_lost_or_dead_lettered(faulted: Path) -> None:
    summary = json.loads((faulted / "summary.json").read_text())
    assert summary["dead_lettered"] == 0
    assert jsonl(faulted / "dead_letters.jsonl") == []
    assert json.loads((faulted / "report.json").read_text())["digest_jobs_dead_lettered"] == 0
    received = len(DEMO.read_text().splitlines()) + sum(case.run != "skip" for case in CASES)
    assert summary["received"] == received
    assert received == (
        summary["stored"]
        + summary["duplicates"]
        + summary["quarantined"]
        + summary["dead_lettered"]
    )


def test_the_faults_were_really_injected_at_about_the_asked_rates(faulted: Path) -> None:
    faults = json.loads((faulted / "faults.json").read_text())
    assert faults["seed"] == SEED
    services = faults["services"]
    assert set(services) == set(RATES)
    for service, rate in RATES.items():
        figures = services[service]
        assert figures["injected"] == sum(
            figures[kind] for kind in ("throttling", "server_error", "timeout")
        )
        assert figures["injected"] > 0, service
        assert rate / 3 <= figures["injected"] / figures["attempts"] <= rate * 2, service
    # Throttling, 5xx and timeouts all happened somewhere.
    for kind in ("throttling", "server_error", "timeout"):
        assert sum(figures[kind] for figures in services.values()) > 0, kind


def test_every_due_member_gets_exactly_one_email(clean: Path, faulted: Path) -> None:
    due = _due_members(_valid_events(*_all_bodies(only_valid_cases=True)))
    assert ODD_MEMBER in due
    assert len(due) >= 7
    for out in (clean, faulted):
        emails = Counter(
            json.loads(path.with_suffix(".json").read_text())["member_id"]
            for path in (out / "digests").glob("*.eml")
        )
        assert emails == Counter(dict.fromkeys(due, 1))
        assert json.loads((out / "summary.json").read_text())["digests_sent"] == len(due)


def test_the_corpus_through_rapport_run_ends_as_expected(
    clean: Path, stream: tuple[Path, dict[int, Case]]
) -> None:
    path, lines = stream
    rows = [row for row in jsonl(clean / "quarantine.jsonl") if row["file"] == str(path)]
    got = {row["line"]: row["error_code"] for row in rows}
    expected = {line: case.run for line, case in lines.items() if case.run not in VALID}
    assert got == expected
    assert all(row["message"] for row in rows)
    assert set(got.values()) <= documented_error_codes()

    summary = json.loads((clean / "summary.json").read_text())
    runs = Counter(case.run for case in lines.values())
    assert summary["stored"] == DEMO_EXPECTED["stored"] + runs["stored"]
    assert summary["duplicates"] == DEMO_EXPECTED["duplicates"] + runs["duplicate"]
    assert summary["quarantined"] == DEMO_EXPECTED["quarantined"] + len(expected)
    # The demo's own requests came out as its events alone say, with the corpus beside them.
    outcomes = {
        f"{row['sender_id']}/{row['request_id']}": row["outcome"]
        for row in jsonl(clean / "requests.jsonl")
        if not row["sender_id"].startswith(("adv-", "MEMBER#"))
    }
    assert outcomes == _demo_outcomes_alone()
    assert set(outcomes) == set(DEMO_EXPECTED["requests"])


def test_markup_in_notes_reaches_the_digest_escaped_and_no_header_is_injected(
    clean: Path,
) -> None:
    html_path = next((clean / "digests").glob(f"{ODD_MEMBER}_*.html"))
    html = html_path.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in html  # the recipient's words are shown, as text
    assert "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert", "")  # no live attribute
    assert "<img" not in html
    assert "{{ 7*191 }}" in html  # template syntax in a note is not evaluated
    assert "1337" not in html
    message = message_from_bytes(html_path.with_suffix(".eml").read_bytes(), policy=policy.default)
    assert message["To"] == "o'brien+digest@sub.example.co.uk"
    assert sorted(set(message.keys())) == sorted(
        {
            "Subject",
            "From",
            "To",
            "Date",
            "Message-ID",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "Content-Type",
            "MIME-Version",
        }
    )
    assert all(len(message.get_all(name) or []) == 1 for name in message)


def test_no_log_line_of_either_run_carries_personal_data(clean: Path, faulted: Path) -> None:
    personal = personal_strings(_all_bodies())
    assert len(personal) >= 100
    for out in (clean, faulted):
        logs = (out / "logs" / "functions.jsonl").read_text(encoding="utf-8")
        assert logs.count('"event processed"') >= json.loads((out / "summary.json").read_text())[
            "received"
        ] - sum(case.run == "rejected_by_queue" for case in CASES)
        assert leaks(logs, personal) == []


def test_the_log_check_catches_a_note_an_address_or_a_headline_that_is_logged(
    clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = (clean / "logs" / "functions.jsonl").read_text(encoding="utf-8")
    personal = personal_strings(_all_bodies())
    note = "I only connect with people I've met in person or virtually"
    assert note in personal
    stream = logging.StreamHandler()
    logger = Logger(service="leak-check", logger_handler=stream)
    logger.info("event processed", extra={"note": note + " ✓"})
    logger.info("digest job done", extra={"to": "victim.person@example.org"})
    logger.info("classified", extra={"headline_start": "Head of Delivery at Northwind"[:26]})
    leaked = capsys.readouterr().err
    assert leaks(logs, personal) == []
    found = leaks(logs + leaked, personal)
    assert {note, "victim.person@example.org", "Head of Delivery at Northwind"} <= set(found)
