"""The SDK's timeouts: DynamoDB's short ones in a deployment, a generous read timeout against the
local moto server, which answers on the caller's CPU (the cause of rare failures under load);
a connection pool for every ingest worker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rapport.adapters.aws import client, config_for, reset_clients
from rapport.codes import MAX_INGEST_WORKERS
from rapport.settings import (
    DEFAULT_INGEST_WORKERS,
    ConfigurationError,
    IngestSettings,
    load,
)
from rapport_cli.local.server import LOCAL_READ_TIMEOUT_SECONDS, aws_endpoint


@pytest.fixture(autouse=True)
def _fresh_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDK_READ_TIMEOUT_SECONDS", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # no credential lookup on IMDS
        monkeypatch.setenv(name, "testing")
    reset_clients()


def test_a_deployment_keeps_dynamodbs_short_timeouts() -> None:
    config = config_for("dynamodb")
    assert (config.connect_timeout, config.read_timeout) == (0.5, 1)
    assert config_for("sqs").read_timeout == 10


def test_only_dynamodb_skips_the_sdks_parameter_validation() -> None:
    assert config_for("dynamodb").parameter_validation is False
    assert config_for("sqs").parameter_validation is not False


def test_the_read_timeout_setting_applies_to_every_service_and_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SDK_READ_TIMEOUT_SECONDS", "42.5")
    dynamodb = config_for("dynamodb")
    assert (dynamodb.connect_timeout, dynamodb.read_timeout) == (0.5, 42.5)
    assert dynamodb.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config_for("ses").read_timeout == 42.5


@pytest.mark.parametrize("value", ["0", "-1", "soon", "901"])
def test_a_bad_read_timeout_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SDK_READ_TIMEOUT_SECONDS", value)
    with pytest.raises(ConfigurationError, match="SDK_READ_TIMEOUT_SECONDS"):
        config_for("dynamodb")


def test_clients_made_for_the_local_aws_wait_for_a_loaded_server() -> None:
    with aws_endpoint("http://127.0.0.1:9"):
        assert client("dynamodb").meta.config.read_timeout == LOCAL_READ_TIMEOUT_SECONDS
    assert client("dynamodb").meta.config.read_timeout == 1  # restored after the block


def test_dynamodb_clients_keep_a_connection_for_each_of_the_most_ingest_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    most = MAX_INGEST_WORKERS  # accepted, and one more refused: the settings' bound
    monkeypatch.setenv("INGEST_WORKERS", str(most))
    assert load(IngestSettings).workers == most
    assert config_for("dynamodb").max_pool_connections >= most
    assert client("dynamodb").meta.config.max_pool_connections >= most
    monkeypatch.setenv("INGEST_WORKERS", str(most + 1))
    with pytest.raises(ConfigurationError, match="INGEST_WORKERS"):
        load(IngestSettings)


def test_ingest_workers_default_to_several_and_refuse_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.delenv("INGEST_WORKERS", raising=False)
    assert load(IngestSettings).workers == DEFAULT_INGEST_WORKERS > 1
    monkeypatch.setenv("INGEST_WORKERS", "0")
    with pytest.raises(ConfigurationError, match="INGEST_WORKERS"):
        load(IngestSettings)


def test_a_deployed_client_is_configured_without_importing_pydantic() -> None:
    """Cold starts: with no ``SDK_READ_TIMEOUT_SECONDS`` (every deployment), making a client's
    configuration parses no settings, so it does not import pydantic (about 100 ms)."""
    probe = (
        "import sys; from rapport.adapters.aws import config_for; config_for('dynamodb'); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'pydantic'))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "SDK_READ_TIMEOUT_SECONDS"}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
