"""``rapport classify`` end to end, through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1] / "unit" / "reasons"
RAPPORT = Path(sys.executable).parent / "rapport"
SEED = {
    "note": "I only connect with people I have met in person or virtually",
    "request": {"note": None, "context": {"shared_credentials": ["PMP"]}},
    "outcome": "declined",
}


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RAPPORT), "classify", *args], input=stdin, capture_output=True, text=True, check=False
    )


def test_seed_case_end_to_end() -> None:
    other = {"note": "Have we met?", "request": None, "outcome": "declined"}
    done = run(stdin=json.dumps(SEED) + "\n\n" + json.dumps(other) + "\n")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["primary_reason"] == "met_only"
    assert first["reasons"] == ["met_only", "no_note"]
    assert 0.8 <= first["confidence"] <= 1.0
    quoted = first["evidence"][0]
    assert quoted["source"] == "note"
    assert quoted["text"] in SEED["note"]
    assert lines[1]["primary_reason"] == "doesnt_recognize"


def test_the_cli_reports_the_language() -> None:
    line = json.dumps({"note": "Keine Recruiter, danke.", "request": None, "outcome": "declined"})
    done = run(stdin=line + "\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["language"] == "de"


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"note": "x", "outcome": "ghosted"}', "line 2: outcome"),
        ('{"note": 3, "outcome": "declined"}', "line 2: note"),
        ("[1, 2]", "line 2:"),
    ],
)
def test_a_bad_line_is_reported_and_every_good_line_around_it_is_classified(
    bad_line: str, fragment: str
) -> None:
    done = run(stdin=json.dumps(SEED) + "\n" + bad_line + "\n" + json.dumps(SEED) + "\n")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        done.stderr.splitlines()[0],
        "rapport classify: error: 1 of 3 line(s) not classified (each is reported above)",
    ]
    assert done.stderr.startswith(f"rapport classify: {fragment}")
    assert "Traceback" not in done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [result["primary_reason"] for result in results] == ["met_only", "met_only"]


def test_a_line_that_is_not_utf8_is_reported_and_skipped() -> None:
    done = subprocess.run(
        [str(RAPPORT), "classify"],
        input=b"\xff\n" + json.dumps(SEED).encode() + b"\n",
        capture_output=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[0] == (
        "rapport classify: line 1: not UTF-8 (invalid start byte)"
    )
    assert len(done.stdout.splitlines()) == 1


def test_evaluate_prints_the_metrics() -> None:
    done = run("--evaluate", str(HERE / "heldout.jsonl"))
    assert done.returncode == 0, done.stderr
    for label in ("accuracy", "macro recall", "confident", "precision", "recall", "met_only"):
        assert label in done.stdout


def test_evaluate_json_is_machine_readable(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    wrong = {**SEED, "expected": ["recruiter"]}
    right = {**SEED, "expected": ["met_only"]}
    cases.write_text(json.dumps(right) + "\n" + json.dumps(wrong) + "\n", encoding="utf-8")
    done = run("--evaluate", str(cases), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cases"] == 2
    assert report["accuracy"] == 0.5
    assert report["confident"] == 2
    assert report["confident_wrong"] == 1
    assert report["mistakes"] == [
        {
            "case": 2,
            "expected": ["recruiter"],
            "predicted": "met_only",
            "confidence": report["mistakes"][0]["confidence"],
        }
    ]
    assert report["per_code"]["recruiter"]["recall"] == 0.0


def test_evaluate_needs_expected_codes(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(SEED) + "\n", encoding="utf-8")
    done = run("--evaluate", str(cases))
    assert done.returncode == 2
    assert "line 1: expected" in done.stderr


def test_missing_file_and_misused_flag_are_user_errors(tmp_path: Path) -> None:
    missing = run("--evaluate", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    misused = run("--json", stdin=json.dumps(SEED))
    assert misused.returncode == 2
    assert "--json only applies" in misused.stderr


def test_help_has_examples() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "examples:" in done.stdout
    assert "--evaluate" in done.stdout
