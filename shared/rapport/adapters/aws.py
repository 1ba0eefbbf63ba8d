"""AWS clients, created on first use and then reused for the life of the container.

Creating clients lazily keeps imports cheap (cold starts) and lets tests point the SDK at a moto
server through ``AWS_ENDPOINT_URL`` before any client exists. All clients come from one session,
so instrumentation registered on it (call counting in benchmarks) sees every call.

The clients are botocore's low-level clients, exactly what ``boto3.client`` returns; going to
botocore directly skips importing boto3's resource layer and s3transfer, which Rapport never uses
(about a fifth of a cold start; see docs/performance.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

# Standard retry mode backs off on throttling and 5xx; the SQS redelivery is the outer retry.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
)


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


@cache
def client(service: str) -> Any:
    return session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget the session and clients: a new endpoint or credentials apply on next use."""
    client.cache_clear()
    session.cache_clear()
