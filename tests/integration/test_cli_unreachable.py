"""A command pointed at an endpoint where nothing listens says so in one line (issue 17); it opens
a real socket to a closed port, so it is not a unit test."""

from __future__ import annotations

import pytest

from rapport.adapters.aws import reset_clients
from rapport_cli.main import main

pytestmark = pytest.mark.integration


def test_an_unreachable_endpoint_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command points this process's AWS environment at the endpoint, as a CLI process may:
    # recording each variable here restores it (and the moto server's) for the next test.
    environment = {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    argv = ["quarantine", "list", "--table", "T", "--endpoint-url", "http://127.0.0.1:9"]
    try:
        code = main([*argv, "--region", "us-east-1"])
    finally:
        reset_clients()  # none of its clients outlives the test
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith("rapport quarantine: error: ")
    assert "cannot reach http://127.0.0.1:9/: is the server running?" in line
