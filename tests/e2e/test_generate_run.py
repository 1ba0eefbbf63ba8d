"""A generated stream with redeliveries, reordering and bad lines balances in `rapport run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rapport_cli.generator import GenerationStats, GeneratorConfig, generate
from rapport_cli.local import runner

pytestmark = pytest.mark.e2e


def test_the_run_accounts_for_every_generated_line(tmp_path: Path) -> None:
    config = GeneratorConfig(
        members=6, weeks=3, seed=4, duplicate_rate=0.05, reorder_rate=0.1, malformed_rate=0.03
    )
    stats = GenerationStats()
    stream = tmp_path / "generated.jsonl"
    with stream.open("w", encoding="utf-8") as sink:
        sink.writelines(line.text + "\n" for line in generate(config, stats))
    assert min(stats.duplicates, stats.malformed, stats.reordered) > 0

    report = runner.run([stream], tmp_path / "out")

    assert report.summary.as_dict() == {
        "received": stats.lines,
        "stored": stats.events,
        "duplicates": stats.duplicates,
        "quarantined": stats.malformed,
        "dead_lettered": 0,
        "digests_sent": 0,
        "digest_jobs_dead_lettered": 0,
        "schedule_invocations_failed": 0,
    }
    requests = (tmp_path / "out" / "requests.jsonl").read_text().splitlines()
    assert len(requests) == stats.requests
    assert {json.loads(row)["outcome"] for row in requests} >= {"accepted", "declined"}
