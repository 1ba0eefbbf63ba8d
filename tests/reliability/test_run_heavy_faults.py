"""`rapport run` under heavy faults (DynamoDB 50%, SQS 30%, SES 50%, Secrets Manager 30%) ends
with its outputs written and its books balanced, whatever the seed.

Digests included: the scheduled run is retried as Lambda retries an asynchronous invocation,
every digest SES accepted is a digest recorded as sent, and no member gets two for one week.
The stream is small (43 events, 4 members) so three seeds stay quick; docs/reliability.md has
the same rates on the demo stream. The input sits in a directory whose name holds U+2028, so
the JSONL outputs that name the file (dead letters, quarantine) must escape it.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from rapport_cli.generator import GenerationStats, GeneratorConfig, generate
from rapport_cli.local import runner
from rapport_cli.local.faults import FaultPlan

pytestmark = pytest.mark.e2e

HEAVY = {"dynamodb": 0.5, "sqs": 0.3, "ses": 0.5, "secretsmanager": 0.3}
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)  # after every member's digest time in week two
LINE_SEPARATORS = ("\u2028".encode(), "\u2029".encode())


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationStats]:
    stats = GenerationStats()
    path = tmp_path_factory.mktemp("heavy") / "in\u2028put" / "stream.jsonl"
    path.parent.mkdir()
    lines = generate(GeneratorConfig(members=4, weeks=2, seed=3, malformed_rate=0.05), stats)
    path.write_text("".join(f"{line.text}\n" for line in lines), encoding="utf-8")
    return path, stats


def _sent_by_ses() -> list[bytes]:
    """What the run's SES accepted: the in-process moto backend outlives the run's server."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [message.raw_data.encode() for message in backend.sent_messages]


def _rows(path: Path) -> list[dict[str, object]]:
    """The file's rows, read as a line-based reader would: raw bytes split by ``splitlines``."""
    raw = path.read_bytes()
    assert not any(separator in raw for separator in LINE_SEPARATORS), path.name
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_heavily_faulted_run_ends_balanced_with_one_digest_per_member_week(
    stream: tuple[Path, GenerationStats], tmp_path: Path, seed: int
) -> None:
    path, stats = stream
    report = runner.run([path], tmp_path, now=NOW, faults=FaultPlan(HEAVY, seed))
    sent = _sent_by_ses()

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == report.summary.as_dict()
    assert summary["received"] == stats.lines
    assert summary["received"] == (
        summary["stored"]
        + summary["duplicates"]
        + summary["quarantined"]
        + summary["dead_lettered"]
    )
    faults = json.loads((tmp_path / "faults.json").read_text())["services"]
    # Secrets Manager is called once per run (the key is cached), so it may be spared.
    assert all(faults[service]["injected"] > 0 for service in ("dynamodb", "sqs", "ses")), faults

    figures = [json.loads(path.read_text()) for path in (tmp_path / "digests").glob("*.json")]
    member_weeks = Counter((digest["member_id"], digest["week_start"]) for digest in figures)
    assert set(member_weeks.values()) <= {1}
    emails = sorted(path.read_bytes() for path in (tmp_path / "digests").glob("*.eml"))
    assert emails == sorted(sent)
    assert len(figures) == len(sent) == summary["digests_sent"]
    for email in (tmp_path / "digests").glob("*.eml"):
        assert (tmp_path / "digests" / f"{email.name.removesuffix('.eml')}.html").is_file()
    if summary["schedule_invocations_failed"] == 0:
        assert summary["digests_sent"] + summary["digest_jobs_dead_lettered"] == 4

    dead_letters = _rows(tmp_path / "dead_letters.jsonl")
    assert len(dead_letters) == summary["dead_lettered"]
    assert all(row["file"] == str(path) for row in dead_letters)
    _rows(tmp_path / "quarantine.jsonl")
    _rows(tmp_path / "requests.jsonl")


def test_a_run_where_most_calls_fail_still_ends_and_says_what_failed(
    stream: tuple[Path, GenerationStats], tmp_path: Path
) -> None:
    # DynamoDB only: the runner's own calls (it plays the platform and Lambda's poller) must
    # get through, and at this rate most of the functions' calls fail even after retries.
    report = runner.run([stream[0]], tmp_path, now=NOW, faults=FaultPlan({"dynamodb": 0.8}, 1))

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["received"] == (
        summary["stored"]
        + summary["duplicates"]
        + summary["quarantined"]
        + summary["dead_lettered"]
    )
    assert summary["dead_lettered"] > 0
    # Whether the scheduled run fails all three attempts depends on which calls the seed hits
    # (a change anywhere in the call sequence moves it); the summary must say so either way.
    # tests/unit/cli/test_local_scheduler.py pins the failing path itself.
    failed = [run for run in report.schedule_runs if not run.succeeded]
    assert summary["schedule_invocations_failed"] == len(failed)
    assert all(run.attempts == 3 and run.error for run in failed)
    assert all(run.attempts <= 3 for run in report.schedule_runs)
    assert summary["digests_sent"] == len(_sent_by_ses())
    assert len(list((tmp_path / "digests").glob("*.json"))) == summary["digests_sent"]
