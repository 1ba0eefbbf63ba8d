"""Issue 17 on `rapport run`: a run owns its --out (a second run replaces the first's outputs),
says plainly when it stored nothing, and warns when --now is before every event."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from rapport_cli.local.lambda_runtime import FunctionHost
from rapport_cli.local.stack import LocalFunction
from rapport_cli.main import main

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two members over the two weeks from Monday 5 October 2026: a digest week each."""
    path = tmp_path_factory.mktemp("stream") / "small.jsonl"
    assert (
        main(["generate", "--members", "2", "--weeks", "2", "--seed", "1", "--out", str(path)]) == 0
    )
    return path


def test_a_second_run_replaces_the_first_runs_outputs(
    stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    run = ["run", "--events", str(stream), "--out", str(out), "--quiet"]
    assert main([*run, "--now", "2026-10-13T18:00:00Z"]) == 0
    first = sorted(path.name for path in (out / "digests").iterdir())
    assert first
    assert all("2026-10-05" in name for name in first)
    capsys.readouterr()

    assert main([*run, "--now", "2026-10-20T18:00:00Z"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    digests = sorted((out / "digests").glob("*.eml"))
    assert len(digests) == summary["digests_sent"] > 0
    assert all("2026-10-12" in path.name for path in (out / "digests").iterdir())
    assert len(list((out / "digests").iterdir())) == 3 * summary["digests_sent"]


def test_the_cli_says_it_replaced_an_earlier_run_and_warns_of_an_early_now(
    stream: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "digests").mkdir(parents=True)
    (out / "summary.json").write_text("{}")
    (out / "digests" / "m-old_2026-01-05.eml").write_text("old")
    (out / "notes.txt").write_text("mine")  # not a run's output: left alone
    err = _stderr(
        ["run", "--events", str(stream), "--out", str(out), "--now", "1970-01-01T00:00:00Z"]
    )
    assert f"replaced the outputs of an earlier run in {out}/" in err
    assert (
        "warning: --now 1970-01-01T00:00:00Z is before every event (the first is at "
        "2026-09-08T07:25:50Z): every request is pending then"
    ) in err
    assert not (out / "digests" / "m-old_2026-01-05.eml").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_a_run_that_stores_nothing_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Dear diary,\nnothing here is an event.\n")
    out = tmp_path / "out"
    code = main(["run", "--events", str(text), "--out", str(out), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"rapport run: error: 0 of 2 lines stored; all quarantined, see {out / 'quarantine.jsonl'}"
    ]
    assert json.loads((out / "summary.json").read_text())["quarantined"] == 2


def _stderr(argv: list[str]) -> str:
    """The command's stderr, as wide as the terminal it would print to (no wrapped lines)."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "rapport"), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_library_warning_during_ctrl_c_goes_to_the_function_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Powertools warns "No application metrics to publish" when Ctrl-C interrupts a handler
    before it added any metric; Lambda would log it, so the local host does too."""
    (tmp_path / "app.py").write_text(
        "from aws_lambda_powertools import Metrics\n"
        "metrics = Metrics(namespace='Test', service='test')\n"
        "@metrics.log_metrics\n"
        "def handler(event, context):\n"
        "    raise KeyboardInterrupt\n"
    )
    function = LocalFunction("F", tmp_path, "app.handler", {"POWERTOOLS_SERVICE_NAME": "t"}, ())
    log = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # shown even if an earlier test triggered it
        with pytest.raises(KeyboardInterrupt):
            FunctionHost({"F": function}, log).invoke("F", {})
    assert capsys.readouterr().err == ""
    assert "UserWarning: No application metrics to publish" in log.getvalue()
