"""`rapport run` end to end on the demo stream: DESIGN §4 outputs, ordering and accounting."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rapport.contract import RequestSent, envelope
from rapport_cli.local import runner

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STREAM = ROOT / "events" / "streams" / "demo.jsonl"
EXPECTED = json.loads((ROOT / "events" / "streams" / "demo.expected.json").read_text())
RAPPORT = Path(sys.executable).parent / "rapport"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _outcomes(out: Path) -> dict[str, str]:
    return {
        f"{row['sender_id']}/{row['request_id']}": row["outcome"]
        for row in _jsonl(out / "requests.jsonl")
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo stream through the real command line, as `make demo` runs it."""
    out = tmp_path_factory.mktemp("demo")
    completed = subprocess.run(
        [str(RAPPORT), "run", "--events", str(STREAM), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "received" in completed.stderr  # the summary table
    return out


def test_summary_accounts_for_every_line(demo_run: Path) -> None:
    summary = json.loads((demo_run / "summary.json").read_text())
    for name in ("received", "stored", "duplicates", "quarantined"):
        assert summary[name] == EXPECTED[name], name
    assert summary["dead_lettered"] == 0
    assert summary["received"] == (
        summary["stored"]
        + summary["duplicates"]
        + summary["quarantined"]
        + summary["dead_lettered"]
    )
    assert all(isinstance(value, int) for value in summary.values())


def test_every_request_has_the_expected_outcome(demo_run: Path) -> None:
    assert _outcomes(demo_run) == EXPECTED["requests"]
    for row in _jsonl(demo_run / "requests.jsonl"):
        assert set(row) >= {"sender_id", "request_id", "outcome", "primary_reason", "reasons"}
        if row["outcome"] in ("accepted", "pending", "withdrawn"):
            assert row["primary_reason"] is None
            assert row["reasons"] == []
            assert row["confidence"] is None
        else:
            assert row["reasons"][0] == row["primary_reason"]
            assert 0 <= row["confidence"] <= 1


def test_every_malformed_line_is_quarantined_with_its_line_number(demo_run: Path) -> None:
    rows = _jsonl(demo_run / "quarantine.jsonl")
    assert [row["line"] for row in rows] == EXPECTED["malformed_lines"]
    for row in rows:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", row["error_code"])
        assert row["message"]
        lines = STREAM.read_text(encoding="utf-8").splitlines()
        assert row["payload"] == lines[row["line"] - 1]


def test_the_function_logs_are_kept_and_carry_no_notes(demo_run: Path) -> None:
    logs = (demo_run / "logs" / "functions.jsonl").read_text()
    assert logs.count('"event processed"') == EXPECTED["received"]
    assert "met in person or virtually" not in logs


def test_redelivered_and_shuffled_events_give_identical_results(
    demo_run: Path, tmp_path: Path
) -> None:
    malformed = set(EXPECTED["malformed_lines"])
    valid = [
        line
        for number, line in enumerate(STREAM.read_text(encoding="utf-8").splitlines(), start=1)
        if number not in malformed
    ]
    shuffler = random.Random(20261126)
    deliveries = [line for line in valid for _ in range(shuffler.randint(1, 3))]
    shuffler.shuffle(deliveries)
    stream = tmp_path / "shuffled.jsonl"
    stream.write_text("\n".join(deliveries) + "\n", encoding="utf-8")

    report = runner.run([stream], tmp_path / "out")

    assert report.summary.stored == EXPECTED["stored"]
    assert report.summary.duplicates == len(deliveries) - EXPECTED["stored"]
    assert report.summary.quarantined == 0
    original = (demo_run / "requests.jsonl").read_text()
    assert (tmp_path / "out" / "requests.jsonl").read_text() == original


def test_a_missing_events_file_is_one_clear_line_and_exit_code_2(tmp_path: Path) -> None:
    completed = subprocess.run(
        [str(RAPPORT), "run", "--events", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"rapport run: error: --events {tmp_path / 'nope.jsonl'}: no such file"
    ]


def test_lines_sqs_refuses_are_quarantined_by_the_runner_with_their_line_number(
    tmp_path: Path,
) -> None:
    good = json.dumps(_sent_event("req-ok"))
    control = json.dumps(_sent_event("req-ctl")).replace("req-ctl", "req\x01ctl")
    stream = tmp_path / "odd.jsonl"
    stream.write_bytes(
        good.encode()
        + b"\r\n"  # CRLF line endings are fine
        + b"\n"  # a blank line is skipped, not counted
        + control.encode()
        + b"\n"  # a raw control character: SQS refuses the body
        + b"\xff\xfe not utf-8\n"
        + ("x" * (1024 * 1024 + 1)).encode()
        + b"\n"  # over SQS's 1 MiB limit
    )
    report = runner.run([stream], tmp_path / "out")

    assert report.summary.as_dict() == {
        "received": 4,
        "stored": 1,
        "duplicates": 0,
        "quarantined": 3,
        "dead_lettered": 0,
        "digests_sent": 0,
        "digest_jobs_dead_lettered": 0,
        "schedule_invocations_failed": 0,
    }
    assert report.blank_lines == 1
    rows = _jsonl(tmp_path / "out" / "quarantine.jsonl")
    assert [(row["line"], row["error_code"]) for row in rows] == [
        (3, "rejected_by_queue"),
        (4, "invalid_encoding"),
        (5, "rejected_by_queue"),
    ]


def test_now_decides_which_requests_have_gone_unanswered(tmp_path: Path) -> None:
    stream = tmp_path / "one.jsonl"
    stream.write_text(json.dumps(_sent_event("req-1")) + "\n", encoding="utf-8")
    early = runner.run([stream], tmp_path / "early")
    late = runner.run([stream], tmp_path / "late", now=datetime(2026, 12, 31, tzinfo=UTC))
    assert _jsonl(early.out_dir / "requests.jsonl")[0]["outcome"] == "pending"
    assert _jsonl(late.out_dir / "requests.jsonl")[0]["outcome"] == "no_response"


def _sent_event(request_id: str) -> dict[str, Any]:
    return envelope(
        RequestSent,
        event_id=f"evt-{request_id}",
        source="https://platform.example/connections",
        time="2026-11-02T09:00:00Z",
        data={
            "request_id": request_id,
            "sender_id": "m-1",
            "recipient": {"member_id": "m-2"},
            "note": None,
        },
    )
