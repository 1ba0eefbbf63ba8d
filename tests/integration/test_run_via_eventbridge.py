"""`rapport run --via eventbridge` on the demo stream, through moto's EventBridge over HTTP, stores
exactly what the run via SQS stores: the same summary, the same requests, and every line the
pipeline saw quarantined alike. Only the lines EventBridge itself never delivers are told apart:
a Detail that is not a JSON object is refused by the bus, an unknown type is routed nowhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rapport_cli.local import runner
from rapport_cli.main import main

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STREAM = ROOT / "events" / "streams" / "demo.jsonl"


def _rows(out: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {}
    for via in runner.VIAS:
        out = tmp_path_factory.mktemp(via)
        command = ["run", "--events", str(STREAM), "--out", str(out), "--via", via, "--quiet"]
        assert main(command) == 0
        outs[via] = out
    return outs


def test_the_same_events_are_stored_with_the_same_outcomes(runs: dict[str, Path]) -> None:
    by_sqs, by_bus = runs["sqs"], runs["eventbridge"]
    assert json.loads((by_bus / "summary.json").read_text()) == json.loads(
        (by_sqs / "summary.json").read_text()
    )
    assert (by_bus / "requests.jsonl").read_text() == (by_sqs / "requests.jsonl").read_text()
    assert _rows(by_bus, "dead_letters.jsonl") == _rows(by_sqs, "dead_letters.jsonl") == []


def test_lines_the_pipeline_saw_are_quarantined_alike_and_the_others_say_why(
    runs: dict[str, Path],
) -> None:
    by_sqs = {row["line"]: row for row in _rows(runs["sqs"], "quarantine.jsonl")}
    by_bus = {row["line"]: row for row in _rows(runs["eventbridge"], "quarantine.jsonl")}
    assert set(by_bus) == set(by_sqs)
    before_the_pipeline = {
        line: row["error_code"]
        for line, row in by_bus.items()
        if row["quarantine_id"] is None  # refused before the queue: no quarantine item
    }
    assert before_the_pipeline == {99: "rejected_by_bus", 177: "rejected_by_bus", 181: "not_routed"}
    assert {line: by_sqs[line]["error_code"] for line in before_the_pipeline} == {
        99: "invalid_json",
        177: "not_an_object",
        181: "unknown_type",
    }
    for line, row in by_bus.items():
        if line not in before_the_pipeline:
            assert (row["event_id"], row["error_code"]) == (
                by_sqs[line]["event_id"],
                by_sqs[line]["error_code"],
            )


def test_stack_json_names_the_bus(runs: dict[str, Path]) -> None:
    stack = json.loads((runs["eventbridge"] / "stack.json").read_text())
    assert stack["event_bus_name"] == "rapport-local"
