"""The event contract (DESIGN §2): what is accepted, and the stable error code for what is not."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from rapport.contract import (
    MAX_EVENT_BYTES,
    PreferencesUpdated,
    RequestDeclined,
    RequestSent,
)
from rapport.validation import InvalidEvent, parse_event
from tests.support.events import answer, body, preferences, sent


def _error(raw: str) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    return caught.value


def _mutated(event: dict[str, Any], path: str, value: Any) -> str:
    """``event`` with the field at dotted ``path`` set to ``value`` (or removed for ``...``)."""
    changed = copy.deepcopy(event)
    *parents, leaf = path.split(".")
    target = changed
    for part in parents:
        target = target[part]
    if value is ...:
        del target[leaf]
    else:
        target[leaf] = value
    return json.dumps(changed)


def test_a_sent_event_with_defaults_is_parsed_into_its_model() -> None:
    event = parse_event(body(sent(note="Hi Dana, we met at the PMI chapter meetup.")))
    assert isinstance(event, RequestSent)
    assert event.data.context.mutual_connections == 0
    assert event.data.context.prior_interaction == "none"
    assert event.data.note == "Hi Dana, we met at the PMI chapter meetup."


def test_time_is_normalised_to_utc_whatever_the_offset() -> None:
    raw = sent()
    raw["time"] = "2026-11-02T10:30:00.123456789+05:30"
    event = parse_event(json.dumps(raw))
    assert event.time == datetime(2026, 11, 2, 5, 0, 0, 123456, tzinfo=UTC)


def test_extensions_and_unknown_data_fields_are_ignored() -> None:
    raw = answer("declined", note="No thanks")
    raw["traceparent"] = "00-abc-def-01"
    raw["data"]["platform_internal"] = {"x": 1}
    event = parse_event(json.dumps(raw))
    assert isinstance(event, RequestDeclined)
    assert event.data.note == "No thanks"


def test_explicit_nulls_in_context_take_the_contract_defaults() -> None:
    raw = sent(
        context={"mutual_connections": None, "shared_groups": None, "prior_interaction": None}
    )
    event = parse_event(json.dumps(raw))
    assert isinstance(event, RequestSent)
    assert event.data.context.shared_groups == []
    assert event.data.context.mutual_connections == 0


def test_preferences_defaults_match_the_contract() -> None:
    event = parse_event(body(preferences()))
    assert isinstance(event, PreferencesUpdated)
    data = event.data
    assert (data.timezone, data.digest_day, data.digest_hour, data.digest_enabled) == (
        "UTC",
        "monday",
        8,
        True,
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ('{"specversion": "1.0", "id": "a"', "invalid_json"),
        ("[1, 2, 3]", "not_an_object"),
        ('"just a string"', "not_an_object"),
        ("null", "not_an_object"),
        ("[" * 50_000 + "]" * 50_000, "payload_too_large"),
        ("[" * 30_000 + "]" * 30_000, "invalid_json"),
        ('{"specversion": "1.0", "specversion": "1.0"}', "invalid_json"),
        ('{"specversion": "1.0", "id": NaN}', "invalid_json"),
        ('{"specversion": "1.0", "id": Infinity}', "invalid_json"),
    ],
)
def test_malformed_json_is_rejected_with_a_stable_code(raw: str, code: str) -> None:
    assert _error(raw).error_code == code


def test_an_event_over_64_kib_is_rejected_before_parsing() -> None:
    raw = sent(note="x")
    raw["padding"] = "y" * MAX_EVENT_BYTES
    problem = _error(json.dumps(raw))
    assert problem.error_code == "payload_too_large"
    assert "64 KiB" in problem.message


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("specversion", "0.3", "unsupported_specversion"),
        ("specversion", ..., "missing_field"),
        ("type", "rapport.connection_request.viewed", "unknown_type"),
        ("type", 42, "unknown_type"),
        ("type", ..., "missing_field"),
        ("id", ..., "missing_field"),
        ("id", "", "empty_field"),
        ("id", "   ", "empty_field"),
        ("id", "x" * 129, "field_too_long"),
        ("id", "line\nbreak", "invalid_format"),
        ("id", 7, "schema_violation"),
        ("source", "", "empty_field"),
        ("time", ..., "missing_field"),
        ("time", "2026-11-02T09:00:00", "invalid_time"),
        ("time", "2026-11-02 09:00", "invalid_time"),
        ("time", "2026-13-02T09:00:00Z", "invalid_time"),
        ("time", "2026-11-02T09:00:00+25:00", "invalid_time"),
        ("time", 1_762_000_000, "invalid_time"),
        ("datacontenttype", "text/plain", "invalid_format"),
        ("data", ..., "missing_field"),
        ("data", "not an object", "schema_violation"),
        ("data.request_id", ..., "missing_field"),
        ("data.request_id", "r" * 200, "field_too_long"),
        ("data.sender_id", "", "empty_field"),
        ("data.note", ..., "missing_field"),
        ("data.note", "n" * 2001, "field_too_long"),
        ("data.note", 12, "schema_violation"),
        ("data.recipient", ..., "missing_field"),
        ("data.context", {"mutual_connections": -1}, "schema_violation"),
        ("data.context", {"mutual_connections": "3"}, "schema_violation"),
        ("data.context", {"mutual_connections": True}, "schema_violation"),
        ("data.context", {"prior_interaction": "met_at_a_bar"}, "schema_violation"),
        ("data.context", {"shared_groups": "PMI"}, "schema_violation"),
    ],
)
def test_contract_violations_in_a_sent_event(path: str, value: Any, code: str) -> None:
    problem = _error(_mutated(sent(), path, value))
    assert problem.error_code == code
    assert problem.message


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("data.email", "not-an-email", "invalid_email"),
        ("data.email", "a@b.co\r\nBcc: victim@example.com", "invalid_email"),
        ("data.email", ..., "missing_field"),
        ("data.timezone", "Mars/Olympus_Mons", "invalid_timezone"),
        ("data.timezone", "../../etc/passwd", "invalid_timezone"),
        ("data.digest_day", "Funday", "schema_violation"),
        ("data.digest_hour", 24, "schema_violation"),
        ("data.digest_hour", -1, "schema_violation"),
        ("data.digest_enabled", "yes", "schema_violation"),
    ],
)
def test_contract_violations_in_preferences(path: str, value: Any, code: str) -> None:
    assert _error(_mutated(preferences(), path, value)).error_code == code


def test_the_error_names_the_field_and_keeps_the_event_id() -> None:
    problem = _error(_mutated(answer("declined", event_id="evt-77"), "data.request_id", "r" * 200))
    assert problem.event_id == "evt-77"
    assert "data.request_id" in problem.message
    assert "128" in problem.message


def test_messages_never_quote_the_rejected_value() -> None:
    secret = "my private note " * 200
    problem = _error(_mutated(sent(), "data.note", secret))
    assert "private" not in problem.message


def test_timezone_names_are_real_iana_zones() -> None:
    event = parse_event(body(preferences(timezone="Asia/Kathmandu", digest_hour=23)))
    assert isinstance(event, PreferencesUpdated)
    assert event.data.timezone == "Asia/Kathmandu"


@pytest.mark.parametrize("timezone", ["localtime", "posixrules", "Europe", "right/UTC", ""])
def test_only_iana_zone_names_are_timezones(timezone: str) -> None:
    code = _error(_mutated(preferences(), "data.timezone", timezone)).error_code
    assert code in {"invalid_timezone", "empty_field"}


@pytest.mark.parametrize("path", ["data.recipient.headline", "subject", "data.note", "id"])
def test_an_escaped_unpaired_surrogate_is_invalid_json(path: str) -> None:
    raw = _mutated(sent(), path, "SURROGATE").replace("SURROGATE", "\\ud800")
    assert _error(raw).error_code == "invalid_json"


def test_a_surrogate_pair_is_just_a_character() -> None:
    raw = _mutated(sent(), "data.note", "PAIR").replace("PAIR", "\\ud83d\\ude00 hi")
    event = parse_event(raw)
    assert isinstance(event, RequestSent)
    assert event.data.note == "😀 hi"


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("data.email", "ann@example.com\n", "invalid_email"),
        ("time", "2026-11-02T09:00:00Z\n", "invalid_time"),
    ],
)
def test_a_trailing_newline_is_not_accepted(path: str, value: str, code: str) -> None:
    event = preferences() if path.startswith("data.email") else sent()
    assert _error(_mutated(event, path, value)).error_code == code
