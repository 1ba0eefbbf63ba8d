"""boto3 clients, created on first use and then reused for the life of the container.

Creating clients lazily keeps imports cheap (cold starts) and lets tests point the SDK at a moto
server through ``AWS_ENDPOINT_URL`` before any client exists. All clients come from one session,
so instrumentation registered on it (call counting in benchmarks) sees every call.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling and 5xx; the SQS redelivery is the outer retry.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
)


@cache
def session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    return session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget the session and clients: a new endpoint or credentials apply on next use."""
    client.cache_clear()
    session.cache_clear()
