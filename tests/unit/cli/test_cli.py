"""CLI conventions: every command and action has --help with examples; errors are one line."""

from __future__ import annotations

import argparse
import re

import pytest

from rapport_cli.main import build_parser, main


def _commands() -> list[list[str]]:
    """Every command path: ``[command]`` and ``[command, action]`` for commands with actions."""
    paths: list[list[str]] = []
    parser = build_parser()
    for action in parser._actions:  # argparse keeps sub-parsers here, with no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append([name])
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        paths.extend([name, action_name] for action_name in inner.choices)
    return paths


def test_the_cli_has_the_documented_commands() -> None:
    names = {path[0] for path in _commands()}
    assert names >= {
        "run",
        "classify",
        "preview",
        "generate",
        "send",
        "schema",
        "quarantine",
        "dlq",
        "member",
        "migrate",
    }


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_has_help_with_examples(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_a_misused_flag_is_a_usage_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["preview", "--events", "x.jsonl", "--member", "m", "--week", "2026-11-10"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "weeks start on Monday" in error
    assert "Traceback" not in error


def _parsers() -> list[argparse.ArgumentParser]:
    """The top-level parser and every command's and action's."""
    found = [build_parser()]
    for parser in found:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found.extend(action.choices.values())
    return found


def test_every_option_has_help_and_no_example_lost_its_line_break() -> None:
    for parser in _parsers():
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):  # its choices have help
                assert action.help, f"{parser.prog} {action.option_strings or action.dest}"
        # A backslash before a newline in a plain string literal joins the two lines.
        assert not re.search(r"\S {4,}--", parser.epilog or ""), parser.prog
