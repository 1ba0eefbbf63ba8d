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
from rapport.errors import InvalidEvent
from rapport.validation import parse_event
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
        ("datacontenttype", "text/plain", "invalid_content_type"),
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
        ("data.email", "a@b.co\r\nBcc: victim@example.com", "unsafe_email"),
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
        ("data.email", "ann@example.com\n", "unsafe_email"),
        ("time", "2026-11-02T09:00:00Z\n", "invalid_time"),
    ],
)
def test_a_trailing_newline_is_not_accepted(path: str, value: str, code: str) -> None:
    event = preferences() if path.startswith("data.email") else sent()
    assert _error(_mutated(event, path, value)).error_code == code


# RFC 3339 offsets: hours 00-23 and minutes 00-59, nothing read modulo 60.
@pytest.mark.parametrize(
    "offset", ["+00:60", "+05:99", "+24:00", "-24:00", "+99:00", "+1:00", "+0100", "+01"]
)
def test_an_offset_out_of_range_is_invalid_time(offset: str) -> None:
    problem = _error(_mutated(sent(), "time", f"2026-11-17T19:00:00{offset}"))
    assert problem.error_code == "invalid_time"
    assert "2026-11-17" not in problem.message


@pytest.mark.parametrize(
    ("offset", "utc"),
    [
        ("-23:59", datetime(2026, 11, 3, 8, 59, tzinfo=UTC)),
        ("+23:59", datetime(2026, 11, 1, 9, 1, tzinfo=UTC)),
        ("+05:45", datetime(2026, 11, 2, 3, 15, tzinfo=UTC)),
        ("-00:00", datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
    ],
)
def test_offsets_up_to_23_59_are_accepted(offset: str, utc: datetime) -> None:
    assert parse_event(_mutated(sent(), "time", f"2026-11-02T09:00:00{offset}")).time == utc


def test_only_ascii_digits_make_a_time() -> None:
    arabic_indic_year = "\u0662\u0660\u0662\u0666"  # Unicode digits that \d would match
    problem = _error(_mutated(sent(), "time", f"{arabic_indic_year}-11-02T09:00:00Z"))
    assert problem.error_code == "invalid_time"


_ID_PATHS = ["id", "data.request_id", "data.sender_id", "data.recipient.member_id"]
# C0, DEL, C1 (NEL U+0085 and U+009F among them) and the line and paragraph separators.
_CONTROLS = ["\x00", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"]


@pytest.mark.parametrize("path", _ID_PATHS)
@pytest.mark.parametrize("control", _CONTROLS, ids=lambda char: f"U+{ord(char):04X}")
def test_ids_refuse_controls_and_line_separators(path: str, control: str) -> None:
    problem = _error(_mutated(sent(), path, f"req{control}1"))
    assert problem.error_code == "invalid_format"
    assert control not in problem.message


@pytest.mark.parametrize("control", ["\x85", "\u2028"], ids=["U+0085", "U+2028"])
def test_a_preferences_member_id_refuses_controls(control: str) -> None:
    problem = _error(_mutated(preferences(), "data.member_id", f"m{control}1"))
    assert problem.error_code == "invalid_format"


def test_ids_keep_other_non_ascii_characters() -> None:
    event = parse_event(_mutated(sent(), "data.request_id", "req\u00a0\u200b\u00e9-1"))
    assert isinstance(event, RequestSent)
    assert event.data.request_id == "req\u00a0\u200b\u00e9-1"


@pytest.mark.parametrize(
    "source",
    [
        "https://platform.example/requests",
        "/platform/requests",
        "urn:example:platform",
        "platform-a",
        "//platform.example/requests",
        "https://user@platform.example:8443/a/b?x=1&y=%2F#part",
        "http://[2001:db8::1]/events",
        "http://[::ffff:192.0.2.1]:80/",
        "http://[v1.fe]/",
        "mailto:events@platform.example",
        "./requests",
        "?only-a-query",
    ],
)
def test_a_source_is_any_uri_reference(source: str) -> None:
    assert parse_event(_mutated(sent(), "source", source)).source == source


@pytest.mark.parametrize(
    "source",
    [
        "https://platform.example/my requests",
        "<https://platform.example/>",
        'https://platform.example/"quoted"',
        "https://platform.example/{id}",
        "https:\\\\platform.example\\requests",
        "https://platform.example/%zz",
        "https://platform.example/%4",
        "http://[bad",
        "http://[1::2::3]/",
        "https://platform.example/a|b",
        "https://platform.example/\x00",
        "https://platform.example/\r\nX-Injected: 1",
        "https://platform.example/\x85",
        "https://pl\u00e4tform.example/",
        "1http://platform.example/",
        "a:b:c/\u2028",
    ],
)
def test_a_source_that_is_no_uri_reference_is_invalid_format(source: str) -> None:
    problem = _error(_mutated(sent(), "source", source))
    assert problem.error_code == "invalid_format"
    assert "platform.example" not in problem.message


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "APPLICATION/JSON",
        "application/cloudevents+json",
        "application/vnd.platform.event+JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; CHARSET="utf-8"',
    ],
)
def test_json_content_types_are_accepted_in_any_case(content_type: str) -> None:
    event = parse_event(_mutated(sent(), "datacontenttype", content_type))
    assert event.datacontenttype == content_type


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json-seq",
        "application/jsonx",
        "application/json; foo=bar",
        "application/json; charset=utf-8; foo=bar",
        "application/json;",
        "application/json\n",
        "application/json\r\nX-Injected: 1",
        "application/json;\tcharset=utf-8",
        "application/json; charset=utf-8\x85",
        "application/+json",
        "application/x json",
        "text/json",
        "text/plain",
        "json",
        "",
    ],
)
def test_other_content_types_are_invalid_content_type(content_type: str) -> None:
    problem = _error(_mutated(sent(), "datacontenttype", content_type))
    assert problem.error_code == "invalid_content_type"
    assert "foo" not in problem.message


def test_a_json_content_type_in_any_case_is_stored_as_sent() -> None:
    raw = answer("accepted")
    raw["datacontenttype"] = "Application/JSON"
    assert parse_event(json.dumps(raw)).datacontenttype == "Application/JSON"


@pytest.mark.parametrize(
    "email",
    [
        "=?utf-8?q?victim=40other.example?=@example.com",
        "=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.com",
        "ann=?utf-8?b?QGV2aWwuZXhhbXBsZQ==?=@example.com",
        "ann=?@example.com",
        "ann\x85@example.com",
        "ann\u2028@example.com",
        "ann@example.com\x00",
        "ann\t@example.com",
    ],
)
def test_an_address_a_mail_header_would_rewrite_is_unsafe_email(email: str) -> None:
    problem = _error(_mutated(preferences(), "data.email", email))
    assert problem.error_code == "unsafe_email"
    assert "example" not in problem.message
    assert "=?" not in problem.message.replace("RFC 2047 encoded-words", "")


@pytest.mark.parametrize(
    "email", [".ann@example.com", "ann.@example.com", "ann..lee@example.com", "ann@-x.example"]
)
def test_a_local_part_that_is_no_dot_atom_is_invalid_email(email: str) -> None:
    assert _error(_mutated(preferences(), "data.email", email)).error_code == "invalid_email"


@pytest.mark.parametrize(
    "email", ["ann.lee@example.com", "ann+digests@example.com", "x?=@example.com", "a=b?@e.co"]
)
def test_question_marks_and_equals_signs_alone_are_fine(email: str) -> None:
    event = parse_event(_mutated(preferences(), "data.email", email))
    assert isinstance(event, PreferencesUpdated)
    assert event.data.email == email


@pytest.mark.parametrize("control", ["\x00", "\n", "\x85", "\u2028"], ids=repr)
def test_a_rejected_id_with_a_control_is_not_repeated(control: str) -> None:
    """The quarantine and the log line carry the event id; this one would split a log line."""
    assert _error(_mutated(sent(), "id", f"evt{control}1")).event_id is None


def test_a_rejected_long_id_is_repeated_cut_to_the_limit() -> None:
    assert _error(_mutated(sent(), "id", "e" * 200)).event_id == "e" * 128
