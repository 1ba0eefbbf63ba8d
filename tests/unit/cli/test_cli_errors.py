"""Issue 17: every mistake a new user makes is one line on stderr naming what is wrong and what
to do, with a non-zero exit; a traceback only with --debug."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rapport_cli import schema_cmd
from rapport_cli.errors import UserError
from rapport_cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "events" / "samples" / "sent.json"
STREAM = ROOT / "events" / "streams" / "demo.jsonl"
PREVIEW = ["preview", "--events", str(STREAM), "--member", "m-priya", "--week", "2026-11-09"]
ON_LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

# Each case: the command line ({tmp} is a fresh directory holding `afile`, a file, and `adir`,
# a directory), and words the one line must contain.
MISTAKES = {
    "run --out is a file": (
        ["run", "--events", str(STREAM), "--out", "{tmp}/afile"],
        "is a file; give a directory",
    ),
    "run --out under a file": (
        ["run", "--events", str(STREAM), "--out", "{tmp}/afile/out"],
        "cannot create --out",
    ),
    "run --out holds other files": (
        ["run", "--events", str(STREAM), "--out", "{tmp}"],
        "give a new or empty directory",
    ),
    "run --events is a directory": (
        ["run", "--events", "{tmp}/adir", "--out", "{tmp}/out"],
        "is a directory; give a file",
    ),
    "run --events is missing": (
        ["run", "--events", "{tmp}/nope.jsonl", "--out", "{tmp}/out"],
        "no such file",
    ),
    "run --events is pretty-printed JSON": (
        ["run", "--events", str(SAMPLE), "--out", "{tmp}/out"],
        "pretty-printed JSON, not JSON Lines",
    ),
    "run --events is a JSON array": (
        ["run", "--events", "{tmp}/array.json", "--out", "{tmp}/out"],
        "jq -c '.[]'",
    ),
    "run --now is not an instant": (
        ["run", "--events", str(STREAM), "--out", "{tmp}/out", "--now", "yesterday"],
        "not an RFC 3339 instant",
    ),
    "preview --out is a file": (
        [*PREVIEW, "--out", "{tmp}/afile"],
        "is a file; give a directory",
    ),
    "preview --events is a directory": (
        ["preview", "--events", "{tmp}/adir", "--member", "m-priya", "--week", "2026-11-09"],
        "is a directory; give a file",
    ),
    "schema --out is a file": (["schema", "--out", "{tmp}/afile"], "is a file; give a directory"),
    "schema --out under a file": (["schema", "--out", "{tmp}/afile/x"], "cannot create --out"),
    "schema --asyncapi is a directory": (
        ["schema", "--out", "{tmp}/schema", "--asyncapi", "{tmp}/adir"],
        "--asyncapi {tmp}/adir is a directory; give a file name",
    ),
    "member export --out is a directory": (
        ["member", "export", "m-x", "--table", "T", "--out", "{tmp}/adir"],
        "is a directory; give a file name",
    ),
    "member export --out in a missing directory": (
        ["member", "export", "m-x", "--table", "T", "--out", "{tmp}/nope/m-x.json"],
        "does not exist; create it first",
    ),
    "generate --out is a directory": (
        ["generate", "--members", "1", "--weeks", "1", "--seed", "1", "--out", "{tmp}/adir"],
        "is a directory; give a file name",
    ),
    "generate --members 0": (
        ["generate", "--members", "0", "--weeks", "1", "--seed", "1"],
        "must be at least 1",
    ),
    "classify --evaluate is a directory": (["classify", "--evaluate", "{tmp}/adir"], "directory"),
    "send FILE is a directory": (
        ["send", "{tmp}/adir", "--queue-url", "http://127.0.0.1:1/q"],
        "is a directory; give a file",
    ),
    "an unknown command": (["bogus"], "invalid choice"),
}
LINUX_MISTAKES = {
    "run --out /proc/nope": (
        ["run", "--events", str(STREAM), "--out", "/proc/nope"],
        "cannot create --out /proc/nope",
    ),
    "preview --out /proc/nope": (
        [*PREVIEW, "--out", "/proc/nope"],
        "cannot create --out /proc/nope",
    ),
    "schema --out /proc/nope": (["schema", "--out", "/proc/nope"], "cannot create --out"),
    "generate --out /proc/nope/x": (
        ["generate", "--members", "1", "--weeks", "1", "--seed", "1", "--out", "/proc/nope/x"],
        "directory /proc/nope does not exist",
    ),
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "adir").mkdir()
    event = json.loads(SAMPLE.read_text())
    (tmp_path / "array.json").write_text(json.dumps([event, event]))
    return tmp_path


def _one_line_error(
    argv: list[str], words: str, tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def filled(text: str) -> str:
        return text.replace("{tmp}", str(tmp))

    code: int | str | None
    try:
        code = main([filled(arg) for arg in argv])
    except SystemExit as exited:  # argparse's usage errors
        code = exited.code
    captured = capsys.readouterr()
    assert code not in (0, None)
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("rapport")
    assert ": error: " in lines[0]
    assert filled(words) in lines[0]


@pytest.mark.parametrize(("argv", "words"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_is_one_line_and_a_non_zero_exit(
    argv: list[str], words: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_line_error(argv, words, workspace, capsys)


@ON_LINUX
@pytest.mark.parametrize(("argv", "words"), LINUX_MISTAKES.values(), ids=LINUX_MISTAKES.keys())
def test_unwritable_places_are_one_line_too(
    argv: list[str], words: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_line_error(argv, words, workspace, capsys)


def test_debug_shows_the_traceback_instead(workspace: Path) -> None:
    with pytest.raises(UserError, match="is a file"):
        main(["--debug", "schema", "--out", str(workspace / "afile")])


def test_a_bug_is_one_line_saying_how_to_see_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(schema_cmd, "schemas", broken)
    assert main(["schema"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "rapport schema: internal error: RuntimeError: boom (rapport --debug shows the traceback)"
    ]
