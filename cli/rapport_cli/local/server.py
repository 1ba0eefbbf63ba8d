"""Where a local run's AWS lives: moto in this process (the default of ``rapport run``), a moto
server on a free loopback port (the integration tests), or a server already running
(``--endpoint-url``), with the process environment pointed at it.

In process, botocore still builds, signs and serialises every request and parses every answer:
moto's ``mock_aws`` answers it from a ``before-send`` hook instead of a socket, so the functions'
code paths are the same and only the HTTP round trip (client and werkzeug server, about a third
of a run's time) is gone."""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto import mock_aws
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from rapport.adapters.aws import reset_clients
from rapport.codes import SDK_READ_TIMEOUT_VARIABLE

DEFAULT_REGION = "us-east-1"


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them exactly."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: A moto server shares the CPU with its callers (and, in tests, with other workers); one DynamoDB
#: answer held up a second by load is not a fault to retry.
LOCAL_READ_TIMEOUT_SECONDS = 60


def _local_credentials() -> dict[str, str]:
    """What every local AWS gets: moto's dummy credentials, the region, and a read timeout fit
    for moto answering on this machine's CPU (``rapport.settings.SdkSettings``)."""
    return {
        SDK_READ_TIMEOUT_VARIABLE: str(LOCAL_READ_TIMEOUT_SECONDS),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION),
    }


@contextmanager
def aws_endpoint(endpoint: str) -> Iterator[str]:
    """Every boto3 client created inside the block talks to ``endpoint``, with moto's dummy
    credentials (moto accepts any) and a read timeout fit for a server on this machine's CPU
    (``rapport.settings.SdkSettings``): the local AWS models DynamoDB's semantics, not its
    latency."""
    environment = {"AWS_ENDPOINT_URL": endpoint, **_local_credentials()}
    try:
        with patched_environ(environment):
            reset_clients()
            yield endpoint
    finally:
        reset_clients()


#: What an in-process run reports as its endpoint (``stack.json``): there is no address to reach.
IN_PROCESS_ENDPOINT = "in-process"


@dataclass(frozen=True)
class LocalAws:
    """The local AWS a run talks to: its endpoint as ``stack.json`` gives it, and how to read what
    its SES accepted (SES has no API that returns a sent message)."""

    endpoint: str
    sent_raw_messages: Callable[[], dict[str, bytes]]


@contextmanager
def in_process_moto() -> Iterator[LocalAws]:
    """moto in this process for the block, every boto3 client answered by it, starting empty.

    Every configured endpoint is ignored (``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``), since moto
    recognises requests by AWS's own host names. DynamoDB needs no lock here, unlike over HTTP:
    the local runtime invokes one function at a time, on the thread that called it.

    Not for fault injection: botocore runs *every* ``before-send`` hook and takes the first
    answer, so moto would act on a request whose attempt the injector failed (a send stored
    twice, a receive counted that nobody got). ``rapport run --inject-faults`` therefore uses
    its own moto server, where a failed attempt never leaves the process.
    """
    environment = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", **_local_credentials()}
    try:
        with patched_environ(environment), mock_aws():
            reset_clients()
            yield LocalAws(IN_PROCESS_ENDPOINT, _in_process_sent_messages)
    finally:
        reset_clients()


def _in_process_sent_messages() -> dict[str, bytes]:
    """What moto's SES in this process accepted as raw messages, by id, whatever the account."""
    from moto.ses.models import ses_backends  # noqa: PLC0415 - moto's state, read at the end

    return {
        message.id: message.raw_data.encode("utf-8")
        for regions in ses_backends.values()
        for backend in regions.values()
        for message in backend.sent_messages
        if hasattr(message, "raw_data")
    }


@contextmanager
def http_moto(endpoint_url: str | None) -> Iterator[LocalAws]:
    """A moto server over HTTP: ``endpoint_url`` if given (left as it is), else one of our own."""
    with moto_server() if endpoint_url is None else aws_endpoint(endpoint_url) as endpoint:
        yield LocalAws(endpoint, lambda: sent_raw_messages(endpoint))


class _OneDynamoDBRequestAtATime:
    """WSGI middleware: DynamoDB requests are handled one at a time.

    DynamoDB applies each conditional write atomically; moto reads the item, checks the
    condition and writes it back with no lock, so two threads racing on one item can both
    succeed (two digest claims for one member-week, two emails). Serialising DynamoDB requests
    restores the guarantee the code relies on; other services (SQS long polls) stay concurrent.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))  # the whole response, inside


class _AtomicMotoServer(ThreadedMotoServer):
    """moto's threaded server, with DynamoDB's per-request atomicity."""

    def _server_entry(self) -> None:
        app = _OneDynamoDBRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on 127.0.0.1 and point the environment at it for the block.

    moto keeps its state per process, so a new server starts by resetting it: each run begins
    with an empty local AWS.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = _AtomicMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - http on loopback only
    try:
        with aws_endpoint(endpoint):
            yield endpoint
    finally:
        server.stop()


def sent_raw_messages(endpoint: str) -> dict[str, bytes]:
    """Every raw message the server's SES accepted, by message id, whatever its account.

    SES has no API that returns a sent message, so this reads moto's own HTTP API:
    ``/moto-api/data.json`` lists every model instance, SES's ``RawMessage`` (id, source,
    destinations, ``raw_data``) among them. Over HTTP, it works for a server in another process.
    """
    url = f"{endpoint}/moto-api/data.json"
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{endpoint!r} is not an http(s) endpoint")
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - checked above
        models = json.load(response)
    return {
        message["id"]: message["raw_data"].encode("utf-8")
        for message in models.get("ses", {}).get("RawMessage", [])
    }
