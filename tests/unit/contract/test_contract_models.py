"""The models as the one definition of an event: the type each validates, the envelope built
from it, which member owns an event, and SentData as a request plus its RequestFacts."""

from __future__ import annotations

import pytest

from rapport.contract import (
    EVENT_MODELS,
    EventModel,
    PreferencesUpdated,
    RequestDeclined,
    RequestFacts,
    RequestSent,
    SentData,
    envelope,
)
from rapport.validation import parse_event, validate_document
from tests.support.events import SOURCE, answer, body, preferences, sent


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_each_model_names_the_type_it_validates(event_type: str) -> None:
    assert EVENT_MODELS[event_type].event_type() == event_type


def test_the_envelope_takes_its_type_from_the_model_and_puts_attributes_before_data() -> None:
    model: EventModel = RequestDeclined
    document = envelope(
        model,
        event_id="evt-1",
        source=SOURCE,
        time="2026-11-02T09:00:00Z",
        subject="req-1",
        data={"request_id": "req-1", "sender_id": "m-1"},
    )
    assert list(document) == ["specversion", "id", "source", "type", "time", "subject", "data"]
    assert isinstance(validate_document(document), RequestDeclined)


def test_the_owner_of_an_event_is_the_sender_or_the_member_whose_preferences_they_are() -> None:
    assert parse_event(body(sent("req-1", "m-ann"))).data.owner == "m-ann"
    assert parse_event(body(answer("declined", "req-1", "m-ann"))).data.owner == "m-ann"
    assert parse_event(body(preferences("m-bob"))).data.owner == "m-bob"


def test_sent_data_is_its_request_facts_and_keeps_the_contract_field_order() -> None:
    event = parse_event(body(sent(note="Hello", context={"mutual_connections": 2})))
    assert isinstance(event, RequestSent)
    assert isinstance(event.data, RequestFacts)
    assert list(SentData.model_fields) == [
        "request_id",
        "sender_id",
        "recipient",
        "note",
        "context",
    ]
    # On the wire a sent event must say whether it had a note; RequestFacts may leave it out.
    assert SentData.model_fields["note"].is_required()
    assert not RequestFacts.model_fields["note"].is_required()
    assert isinstance(parse_event(body(preferences())), PreferencesUpdated)
