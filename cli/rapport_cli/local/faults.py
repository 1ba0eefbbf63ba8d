"""Fault injection for ``rapport run --inject-faults``: AWS calls that fail as they do in real life.

A botocore ``before-send`` hook decides, for every HTTP attempt of a client, whether that attempt
fails. A failed attempt never reaches the (moto) service: it gets a synthetic response that the
SDK reads exactly like a real one — a throttling error (HTTP 400/429 with the service's throttling
code), a server error (HTTP 500 or 503) — or a connect timeout is raised. All three are what AWS
documents as retryable, so the code under test sees them through its normal paths: the SDK's
standard retry mode first, then, when every attempt failed, a failed record that SQS redelivers.

Decisions come from one ``random.Random`` per service seeded from ``--seed``, so a run is
reproducible, and one service's call count never shifts another's faults. Every injected fault
is counted by service, kind and operation, so a run reports exactly what it survived.

Faults are injected *before* the request is sent, so a failed attempt never acted (the service
did not see it). That is the case for throttling, 5xx returned by the front end and connect
timeouts; a response lost after the service acted is a different fault (see docs/reliability.md).

The local runtime takes one more liberty, as it does with visibility timeouts: while faults are
injected, the SDK's backoff between attempts is zero, so a faulted run does not sleep.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.exceptions import ConnectTimeoutError
from botocore.retries.standard import ExponentialBackoff

#: Service names accepted by ``--inject-faults``, and the SDK's service id for each.
SERVICE_IDS: dict[str, str] = {
    "dynamodb": "dynamodb",
    "sqs": "sqs",
    "ses": "sesv2",
    "secretsmanager": "secrets-manager",
}
_SERVICE_BY_ID = {service_id: name for name, service_id in SERVICE_IDS.items()}

#: The throttling error code each service really returns (all retryable in the SDK's eyes).
_THROTTLING: dict[str, tuple[int, str]] = {
    "dynamodb": (400, "ProvisionedThroughputExceededException"),
    "sqs": (400, "RequestThrottled"),
    "ses": (429, "TooManyRequestsException"),
    "secretsmanager": (400, "ThrottlingException"),
}
_SERVER_ERRORS: tuple[tuple[int, str], ...] = (
    (500, "InternalServerError"),
    (503, "ServiceUnavailable"),
)
#: The kinds of fault, drawn with equal chance once a call is chosen to fail.
KINDS = ("throttling", "server_error", "timeout")


class FaultSpecError(ValueError):
    """``--inject-faults`` is not a list of ``SERVICE=RATE``."""


@dataclass(frozen=True)
class FaultPlan:
    """What fraction of each service's calls fail, and the seed that picks which."""

    rates: Mapping[str, float]
    seed: int = 0

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> FaultPlan:
        """``dynamodb=0.2,sqs=0.1,ses=0.3`` → rates per service; every rate in [0, 1)."""
        rates: dict[str, float] = {}
        for part in (piece.strip() for piece in text.split(",")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            name = name.strip().lower()
            if not sep or name not in SERVICE_IDS:
                raise FaultSpecError(
                    f"{part!r}: expected SERVICE=RATE with SERVICE one of "
                    + ", ".join(sorted(SERVICE_IDS))
                )
            try:
                rate = float(value)
            except ValueError:
                raise FaultSpecError(f"{part!r}: the rate is not a number") from None
            if not 0 <= rate < 1:
                raise FaultSpecError(f"{part!r}: the rate must be at least 0 and below 1")
            if name in rates:
                raise FaultSpecError(f"{name} is given more than once")
            rates[name] = rate
        if not rates:
            raise FaultSpecError("no SERVICE=RATE given")
        return cls(rates, seed)


class _Body:
    """The raw stream of a synthetic response, as ``AWSResponse.content`` reads it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _error_response(url: str, status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": code, "message": f"{code} (injected fault)"}).encode()
    headers = HeadersDict(
        {
            "Content-Type": "application/x-amz-json-1.0",
            "Content-Length": str(len(body)),
            "x-amzn-ErrorType": code,  # what rest-json services (SES v2) read the code from
            "x-amzn-RequestId": "injected-fault",
        }
    )
    return AWSResponse(url, status, headers, _Body(body))


@dataclass
class FaultInjector:
    """Registers on botocore event systems; counts every attempt it saw and every fault."""

    plan: FaultPlan
    #: HTTP attempts seen per service (retries included).
    attempts: Counter[str] = field(default_factory=Counter)
    #: Faults injected per (service, kind).
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Faults injected per ``service:Operation``.
    by_operation: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = {
            service: random.Random(f"{self.plan.seed}:{service}")  # noqa: S311 - not crypto
            for service in self.plan.rates
        }

    def attach(self, events: Any) -> FaultInjector:
        """Inject into every client created from now on with this event system (a session's
        ``events``): clients copy their session's handlers when they are created."""
        events.register("before-send", self._before_send, unique_id=f"rapport-faults-{id(self)}")
        return self

    def _before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        parts = [*event_name.split(".", 2), "", ""]
        service_id, operation = parts[1], parts[2]
        service = _SERVICE_BY_ID.get(service_id)
        if service is None or service not in self.plan.rates:
            return None
        self.attempts[service] += 1
        chooser = self._random[service]
        if chooser.random() >= self.plan.rates[service]:
            return None
        kind = chooser.choice(KINDS)
        self.injected[service, kind] += 1
        self.by_operation[f"{service}:{operation}"] += 1
        if kind == "timeout":
            raise ConnectTimeoutError(endpoint_url=str(request.url))
        status, code = (
            _THROTTLING[service] if kind == "throttling" else chooser.choice(_SERVER_ERRORS)
        )
        return _error_response(str(request.url), status, code)

    def report(self) -> dict[str, dict[str, int]]:
        """Per service: attempts seen, faults injected, and faults by kind."""
        report: dict[str, dict[str, int]] = {}
        for service in sorted(self.plan.rates):
            kinds = {kind: self.injected[service, kind] for kind in KINDS}
            report[service] = {
                "attempts": self.attempts[service],
                "injected": sum(kinds.values()),
                **kinds,
            }
        return report


@contextmanager
def immediate_retries() -> Iterator[None]:
    """No backoff between the SDK's attempts (standard retry mode) for the block's duration.

    In AWS the backoff spreads retries over time; locally nothing recovers with time, so
    waiting would only make a faulted run slow. The number of attempts is unchanged.
    """
    original = ExponentialBackoff.delay_amount
    ExponentialBackoff.delay_amount = lambda _self, _context: 0.0
    try:
        yield
    finally:
        ExponentialBackoff.delay_amount = original
