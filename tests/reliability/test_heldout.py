"""A held-out adversarial file, written after the corpus and never used to tune anything: every
bad line must be quarantined with a documented code and a reason, every valid line stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rapport.contract import PreferencesUpdated
from rapport.validation import parse_event
from rapport_cli.local import runner
from tests.reliability.corpus import HERE, documented_error_codes
from tests.reliability.runs import jsonl

pytestmark = pytest.mark.e2e

HELDOUT = HERE / "heldout.jsonl"
EXPECTED = json.loads((HERE / "heldout.expected.json").read_text())


def test_every_bad_line_is_quarantined_with_a_reason_and_every_valid_line_stored(
    tmp_path: Path,
) -> None:
    report = runner.run([HELDOUT], tmp_path)
    lines = HELDOUT.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(EXPECTED["stored_lines"]) + len(EXPECTED["quarantined_lines"])

    quarantine = jsonl(tmp_path / "quarantine.jsonl")
    assert [row["line"] for row in quarantine] == EXPECTED["quarantined_lines"]
    codes = documented_error_codes()
    for row in quarantine:
        assert row["error_code"] in codes, row
        assert len(row["message"]) > 10, row
        assert row["payload"] == lines[row["line"] - 1]

    assert report.summary.stored == len(EXPECTED["stored_lines"])
    assert report.summary.duplicates == 0
    assert report.summary.dead_lettered == 0
    requests = {(row["sender_id"], row["request_id"]) for row in jsonl(tmp_path / "requests.jsonl")}
    for number in EXPECTED["stored_lines"]:
        event = parse_event(lines[number - 1])
        if not isinstance(event, PreferencesUpdated):
            assert (event.data.sender_id, event.data.request_id) in requests
