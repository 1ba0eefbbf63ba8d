"""unsubscribe (Lambda function URL): GET shows a confirmation page, POST unsubscribes (RFC 8058).

A forged, altered or expired token gets a 4xx and changes nothing. Importing this module does no
work beyond the logger and metrics; the rest is imported on first use (docs/performance.md).
"""

# Imports inside functions are deliberate: this module is imported at cold start, and what
# only the first invocation needs is imported then (docs/performance.md).
# ruff: noqa: PLC0415

from __future__ import annotations

import html
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
    from rapport.adapters.secrets import SigningKeyCache
    from rapport.settings import SigningSettings

logger = Logger()
metrics = Metrics()


#: The ``rapport.settings`` model of the environment this function needs; the tests check
#: that the template sets every variable it requires. A name, so importing stays cheap.
SETTINGS = "SigningSettings"


def _settings() -> SigningSettings:
    from rapport.settings import SigningSettings, load

    return load(SigningSettings)


_STATUS_FOR_REASON = {"malformed": 400, "bad_signature": 403, "expired": 410}
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _dependencies() -> tuple[DynamoDigestStore, SigningKeyCache]:
    """Built on first use and kept for the life of the container; the keys refresh themselves."""
    from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
    from rapport.adapters.dynamodb.retention import Retention
    from rapport.adapters.secrets import SigningKeyCache

    settings = _settings()
    store = DynamoDigestStore(settings.table_name, Retention(settings.retention))
    return store, SigningKeyCache(settings.unsubscribe_secret_id)


def _page(status: int, title: str, body: str) -> dict[str, Any]:
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:Helvetica,Arial,sans-serif;max-width:32rem;margin:3rem auto;'
        f'padding:0 1rem;color:#1f2933"><h1 style="font-size:1.4rem">{html.escape(title)}</h1>'
        f"{body}</body></html>"
    )
    return {"statusCode": status, "headers": _HEADERS, "body": document}


def _confirmation_form(token: str) -> str:
    return (
        "<p>Stop receiving the weekly Rapport digest?</p>"
        f'<form method="post" action="?token={html.escape(token, quote=True)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" style="font-size:1rem;padding:.5rem 1rem">Unsubscribe</button>'
        "</form>"
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

    from rapport.digest.tokens import InvalidToken
    from rapport.digest.unsubscribe import member_of, unsubscribe

    request = LambdaFunctionUrlEvent(event)
    method = request.request_context.http.method.upper()
    token = (request.query_string_parameters or {}).get("token", "")
    if method not in ("GET", "POST"):
        return _page(405, "Method not allowed", "<p>Use the link in your digest.</p>")
    if not token:
        return _page(400, "Link incomplete", "<p>This unsubscribe link is missing its token.</p>")
    store, keys = _dependencies()
    try:
        if method == "GET":
            member_of(token, keys, datetime.now(UTC))
            return _page(200, "Unsubscribe from Rapport", _confirmation_form(token))
        unsubscribe(token, keys, datetime.now(UTC), store)
    except InvalidToken as problem:
        logger.info("unsubscribe refused", extra={"reason": problem.reason})
        return _page(
            _STATUS_FOR_REASON[problem.reason],
            "This link does not work",
            "<p>The unsubscribe link is invalid or has expired. "
            "Use the link in your latest digest.</p>",
        )
    metrics.add_metric(name="Unsubscribes", unit=MetricUnit.Count, value=1)
    logger.info("unsubscribed")
    return _page(
        200, "You are unsubscribed", "<p>You will not receive Rapport digests any more.</p>"
    )
