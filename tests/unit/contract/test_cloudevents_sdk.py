"""Events built with the official CloudEvents Python SDK are accepted unchanged.

A platform using ``cloudevents`` (2.x core API) builds a ``CloudEvent`` and serialises it in
structured JSON mode with ``cloudevents.core.bindings.http.to_structured_event``; the body it
produces must be a valid Rapport event without any massaging.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent

from rapport.contract import EVENT_MODELS
from rapport.validation import parse_event

SENT_AT = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))
REF = {"request_id": "req-sdk-1", "sender_id": "m-sdk"}

#: data for each of the six types, as a platform would fill it
DATA: dict[str, dict[str, Any]] = {
    "rapport.connection_request.sent": {
        **REF,
        "recipient": {"member_id": "m-dana", "headline": "PMP | Program Manager"},
        "note": "We met at the PMI chapter meeting — would love to stay in touch.",
        "context": {"mutual_connections": 2, "shared_credentials": ["PMP"]},
    },
    "rapport.connection_request.accepted": REF,
    "rapport.connection_request.declined": {**REF, "note": "Have we met?"},
    "rapport.connection_request.withdrawn": REF,
    "rapport.connection_request.expired": REF,
    "rapport.member.preferences_updated": {
        "member_id": "m-sdk",
        "email": "sdk@example.com",
        "timezone": "Europe/Berlin",
        "digest_day": "friday",
        "digest_hour": 17,
    },
}


def sdk_event(
    event_type: str, time: datetime = SENT_AT, data: dict[str, Any] | None = None
) -> CloudEvent:
    """What a platform writes with the SDK: id and specversion are left to the SDK's defaults."""
    data = DATA[event_type] if data is None else data
    return CloudEvent(
        attributes={
            "type": event_type,
            "source": "https://platform.example/connections",
            "time": time,
            "subject": data.get("request_id", "m-sdk"),
            "datacontenttype": "application/json",
            "partitionkey": "m-sdk",  # an extension attribute: allowed and ignored
        },
        data=data,
    )


def sdk_body(event: CloudEvent) -> str:
    message = to_structured_event(event)
    assert message.headers["content-type"] == "application/cloudevents+json"
    return message.body.decode("utf-8")


def test_every_contract_type_is_covered() -> None:
    assert set(DATA) == set(EVENT_MODELS)


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_an_sdk_event_is_accepted_unchanged(event_type: str) -> None:
    event = sdk_event(event_type)
    body = sdk_body(event)

    parsed = parse_event(body)

    assert (parsed.type, parsed.id) == (event_type, event.get_id())
    assert parsed.time == SENT_AT.astimezone(UTC)
    assert json.loads(body)["data"] == DATA[event_type]
    assert parsed.data.model_dump(exclude_unset=True) == DATA[event_type]


def test_a_utc_time_from_the_sdk_uses_the_z_suffix_and_is_accepted() -> None:
    instant = datetime(2026, 11, 3, 8, 0, 0, 123456, tzinfo=UTC)
    body = sdk_body(sdk_event("rapport.connection_request.accepted", instant))
    assert json.loads(body)["time"] == "2026-11-03T08:00:00.123456Z"
    assert parse_event(body).time == instant
