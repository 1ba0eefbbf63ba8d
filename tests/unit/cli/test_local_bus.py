"""The local bus without AWS: the entry a line becomes, the InputPath the poller applies to what
moto delivers, and the lines no rule delivered."""

from __future__ import annotations

import json

import pytest

from rapport.adapters.eventbridge_batch import BusEntry
from rapport.errors import InvalidEvent
from rapport_cli.jsonl import InputLine
from rapport_cli.local.bus import BusDelivery, NotAnEventBridgeEvent, select
from rapport_cli.publisher import BusTarget, PublishResult
from tests.support.events import SOURCE, body, sent


def _line(text: str, number: int = 1) -> InputLine:
    return InputLine("events.jsonl", number, text)


def bus_entry(text: str) -> BusEntry:
    """The entry ``rapport run --via eventbridge`` puts on the bus for an unchecked line."""
    entry, _size = BusTarget("rapport-test", events=object()).entry(text, None)
    return entry


def _moto_message(message_id: str, event_id: str, detail: dict[str, object]) -> dict[str, str]:
    """A message as moto's EventBridge writes it to an SQS target: the whole event."""
    event = {
        "id": event_id,
        "time": "2026-11-02T09:00:00Z",
        "version": "0",
        "detail-type": detail.get("type"),
        "source": detail.get("source"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    return {"MessageId": message_id, "Body": json.dumps(event)}


def test_a_line_is_an_entry_with_its_type_and_source_and_its_text_as_detail() -> None:
    text = body(sent())
    entry = bus_entry(text)
    assert (entry.source, entry.detail_type, entry.detail) == (
        SOURCE,
        "rapport.connection_request.sent",
        text,
    )


@pytest.mark.parametrize("text", ['{"specversion": "1.0"', "[1, 2]", '"a string"', "[" * 5000])
def test_a_line_that_is_not_a_json_object_is_refused_by_the_bus(text: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        bus_entry(text)
    assert refused.value.error_code == "rejected_by_bus"


def test_a_line_whose_source_or_type_cannot_be_an_entrys_still_goes_on_the_bus() -> None:
    entry = bus_entry(json.dumps({**sent(), "source": "aws.x", "type": 7}))
    assert entry.source != "aws.x"
    assert entry.detail_type != "7"


def test_an_entry_over_256_kib_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="EventBridge accepts at most 262144"):
        bus_entry(json.dumps({**sent(), "padding": "x" * 262_144}))


def test_input_path_selects_the_cloudevent_and_only_simple_paths_are_applied() -> None:
    event = {"detail": {"id": "e", "data": {"n": 1}}, "id": "x"}
    assert select(event, "$.detail") == {"id": "e", "data": {"n": 1}}
    assert select(event, "$.detail.data") == {"n": 1}
    assert select(event, "$") == event
    assert select(event, None) == event
    with pytest.raises(ValueError, match="only \\$ and"):
        select(event, "$.detail[0]")


def test_the_handler_gets_the_cloudevent_as_compact_json_with_its_text_kept() -> None:
    event = sent(note="Café ☕ — hello")
    delivery = BusDelivery("$.detail")

    text = delivery.body_of(_moto_message("m-1", "evt-1", event))

    assert json.loads(text) == event
    assert "Café ☕" in text
    assert delivery.event_ids == {"m-1": "evt-1"}


def test_a_message_that_is_not_an_eventbridge_event_stops_the_run() -> None:
    with pytest.raises(NotAnEventBridgeEvent, match="InputPath"):
        BusDelivery("$.detail").body_of({"MessageId": "m-1", "Body": body(sent())})


def test_settling_keys_lines_by_message_and_names_the_events_no_rule_delivered() -> None:
    lines = [_line(body(sent(f"req-{number}")), number) for number in (1, 2, 3)]
    published = PublishResult(sent={"evt-1": lines[0], "evt-2": lines[1], "evt-3": lines[2]})
    delivery = BusDelivery("$.detail")
    delivery.body_of(_moto_message("m-1", "evt-1", sent("req-1")))
    delivery.body_of(_moto_message("m-3", "evt-3", sent("req-3")))

    settled = delivery.settle(published)

    assert settled.sent == {"m-1": lines[0], "m-3": lines[2]}
    [unrouted] = settled.refused
    assert (unrouted.source, unrouted.error_code) == (lines[1], "not_routed")


def test_settling_refuses_a_delivered_event_that_was_never_put() -> None:
    delivery = BusDelivery("$.detail")
    delivery.body_of(_moto_message("m-9", "evt-9", sent()))
    with pytest.raises(NotAnEventBridgeEvent, match="never put"):
        delivery.settle(PublishResult[InputLine]())
