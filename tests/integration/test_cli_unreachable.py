"""A command pointed at an endpoint where nothing listens says so in one line (issue 17); it opens
a real socket to a closed port, so it is not a unit test."""

from __future__ import annotations

import pytest

from rapport_cli.main import main

pytestmark = pytest.mark.integration


def test_an_unreachable_endpoint_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    argv = ["quarantine", "list", "--table", "T", "--endpoint-url", "http://127.0.0.1:9"]
    code = main([*argv, "--region", "us-east-1"])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith("rapport quarantine: error: ")
    assert "cannot reach http://127.0.0.1:9/: is the server running?" in line
