"""Rotating the unsubscribe signing key (docs/operations.md), against Secrets Manager on a moto
server: links already sent keep working until the next rotation, and running containers pick up
a new key within ``KEY_MAX_AGE`` without a call per request."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb.event_store import DynamoEventStore
from rapport.adapters.secrets import KEY_MAX_AGE, SigningKeyCache, signing_keys
from rapport.digest import tokens
from rapport.digest.tokens import SigningKeys
from rapport.ingest import InboundMessage, ingest
from rapport_cli.local.lambda_runtime import FunctionHost, load_module
from rapport_cli.local.server import patched_environ
from rapport_cli.local.stack import LocalStack
from rapport_cli.local.template import LogicalId
from tests.support.events import body, preferences
from tests.support.table import stored_profile

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def host(stack: LocalStack) -> FunctionHost:
    reset_clients()
    return FunctionHost(stack.functions, io.StringIO())


def _secret_id(stack: LocalStack) -> str:
    return str(stack.functions[LogicalId.UNSUBSCRIBE].environment["UNSUBSCRIBE_SECRET_ID"])


def _current(stack: LocalStack) -> bytes:
    return signing_keys(_secret_id(stack)).current


def _rotate(stack: LocalStack) -> bytes:
    """What an operator does: a new version, which Secrets Manager labels AWSCURRENT."""
    key = uuid.uuid4().hex * 2
    boto3.client("secretsmanager").put_secret_value(SecretId=_secret_id(stack), SecretString=key)
    return key.encode()


def _subscribed_member(stack: LocalStack) -> str:
    member = f"m-{uuid.uuid4().hex[:10]}"
    event = preferences(member, at=NOW - timedelta(days=1), email=f"{member}@example.com")
    ingest(
        InboundMessage(str(uuid.uuid4()), body(event), NOW),
        DynamoEventStore(stack.table),
    )
    return member


def _digests_enabled(stack: LocalStack, member: str) -> bool:
    return stored_profile(stack.table, member).digest_enabled


def _unsubscribe(host: FunctionHost, token: str) -> Any:
    event = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": f"token={token}",
        "queryStringParameters": {"token": token},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": "List-Unsubscribe=One-Click",
        "isBase64Encoded": False,
    }
    return host.invoke(LogicalId.UNSUBSCRIBE, event)


def test_a_new_secret_has_no_previous_key(stack: LocalStack) -> None:
    assert signing_keys(_secret_id(stack)).previous is None


def test_a_link_signed_with_the_old_key_still_unsubscribes_after_a_rotation(
    stack: LocalStack, host: FunctionHost
) -> None:
    member = _subscribed_member(stack)
    old = _current(stack)
    token = tokens.sign(member, NOW, old)  # in a digest sent before the rotation
    new = _rotate(stack)
    assert signing_keys(_secret_id(stack)) == SigningKeys(current=new, previous=old)
    assert _unsubscribe(host, token)["statusCode"] == 200
    assert not _digests_enabled(stack, member)


def test_a_link_signed_two_rotations_ago_is_refused(stack: LocalStack, host: FunctionHost) -> None:
    member = _subscribed_member(stack)
    token = tokens.sign(member, NOW, _current(stack))
    _rotate(stack)
    _rotate(stack)
    assert _unsubscribe(host, token)["statusCode"] == 403
    assert _digests_enabled(stack, member)


def test_the_cached_keys_are_fetched_again_after_their_max_age(stack: LocalStack) -> None:
    now = [0.0]
    cache = SigningKeyCache(_secret_id(stack), clock=lambda: now[0])
    first = cache.keys()
    new = _rotate(stack)
    now[0] += (KEY_MAX_AGE - timedelta(seconds=1)).total_seconds()
    assert cache.keys() == first  # still cached: no call per request
    now[0] += 1
    assert cache.keys() == SigningKeys(current=new, previous=first.current)


def test_digests_are_signed_with_the_current_key(stack: LocalStack) -> None:
    new = _rotate(stack)
    function = stack.functions[LogicalId.SEND_DIGEST]
    reset_clients()
    with patched_environ(function.environment):
        send_digest = load_module(function.code_dir, function.handler, f"sd_{uuid.uuid4().hex}")
        _, _, environment, cache = send_digest._dependencies()
        settings = send_digest._delivery_settings(environment, cache.keys().current)
    assert settings.signing_key == new
