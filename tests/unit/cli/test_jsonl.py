"""Reading input lines: numbered as an editor shows them, blank ones counted and skipped, one that
is not UTF-8 kept with the reason (the publisher refuses it by its line number)."""

from __future__ import annotations

from pathlib import Path

from rapport_cli.jsonl import InputLine, InputLines


def test_input_lines_skip_blank_lines_and_keep_a_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n   \ncaf\xe9\n')
    lines = InputLines([path])

    read = list(lines)

    assert read[0] == InputLine(str(path), 1, '{"a": 1}')
    assert (read[1].number, read[1].text, read[1].encoding_error) == (
        4,
        "caf\ufffd",
        "unexpected end of data",
    )
    assert lines.blank_lines == 2
