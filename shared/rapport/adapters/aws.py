"""AWS clients, created on first use and then reused for the life of the container.

Creating clients lazily keeps imports cheap (cold starts) and lets tests point the SDK at a moto
server through ``AWS_ENDPOINT_URL`` before any client exists. All clients come from one session,
so instrumentation registered on it (call counting in benchmarks) sees every call.

The clients are botocore's low-level clients, exactly what ``boto3.client`` returns; going to
botocore directly skips importing boto3's resource layer and s3transfer, which Rapport never uses
(about a fifth of a cold start; see docs/performance.md).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

from rapport.codes import MAX_INGEST_WORKERS, SDK_READ_TIMEOUT_VARIABLE

# Standard retry mode backs off on throttling and 5xx; the SQS redelivery is the outer retry.
# ``total_max_attempts`` counts the first attempt (botocore's ``max_attempts`` would not).
_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
)
#: DynamoDB answers in milliseconds within a region, so its calls get short timeouts: a call's
#: worst case (four attempts of 0.5 s to connect and 1 s to read, plus at most 1, 2 and 4 s of
#: backoff between them) is 13 s, inside process_events' 15 s time reserve. Its pool holds a
#: connection for each of the most workers process_events may run (``INGEST_WORKERS``), so a
#: worker never waits for a connection and each call's worst case stays its own.
#: They skip the SDK's parameter validation: every DynamoDB request is built by the adapters from
#: constants, tests run each one against moto, and DynamoDB validates it again on arrival (a
#: ``ValidationException``, which fails the record as the SDK's own error would). On ingest it was
#: a sixth of the CPU of a write (docs/performance.md, the SDK counted).
DYNAMODB_CONFIG = _CONFIG.merge(
    Config(
        connect_timeout=0.5,
        read_timeout=1,
        max_pool_connections=MAX_INGEST_WORKERS,
        parameter_validation=False,
    )
)
_CONFIGS = {"dynamodb": DYNAMODB_CONFIG}


class Session:
    """One botocore session: region, credentials and endpoint resolved from the environment."""

    def __init__(self) -> None:
        self._session = botocore.session.Session()

    @property
    def events(self) -> Any:
        """The session's event emitter: hooks registered here apply to every client made later."""
        return self._session.get_component("event_emitter")

    def client(self, service: str, config: Config | None = None) -> Any:
        return self._session.create_client(service, config=config)


@cache
def session() -> Session:
    return Session()


def config_for(service: str) -> Config:
    """The service's client configuration, with ``SDK_READ_TIMEOUT_SECONDS`` if set."""
    config = _CONFIGS.get(service, _CONFIG)
    if SDK_READ_TIMEOUT_VARIABLE not in os.environ:  # a deployment: no settings to parse
        return config
    from rapport.settings import SdkSettings, load  # noqa: PLC0415 - pydantic, only when set

    read_timeout = load(SdkSettings).read_timeout_seconds
    return config if read_timeout is None else config.merge(Config(read_timeout=read_timeout))


@cache
def client(service: str) -> Any:
    return session().client(service, config=config_for(service))


def reset_clients() -> None:
    """Forget the session and clients: a new endpoint or credentials apply on next use."""
    client.cache_clear()
    session.cache_clear()
