"""The published JSON Schema and the pipeline's parser agree on generated events, both ways.

1. Every event the parser accepts validates against the schema (a producer that gates on the
   schema never drops a valid event): events are generated over the whole valid space, null
   context keys, odd Unicode ids, the edges of the time range and CloudEvents extensions included.
2. A valid event with one schema-expressible rule broken is rejected by both.

The rules only the pipeline checks (docs/events.md, "What the schema cannot say") are left out
of the second direction: a key repeated in one object, the 64 KiB limit, an escaped lone
surrogate, an integer written as ``8.0``, the instant of a time on the day either side of the
range's ends, and the future tolerance. Validation follows JSON Schema 2020-12, where ``format``
is an annotation, with patterns read as ECMA-262 (tests/support/schema.py).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from rapport.contract import (
    EARLIEST_TIME,
    EVENT_MODELS,
    LATEST_TIME,
    MAX_EMAIL_LENGTH,
    MAX_ID_LENGTH,
    MAX_NOTE_LENGTH,
    WHITESPACE,
    _iana_zones,
)
from rapport.errors import InvalidEvent
from rapport.validation import parse_event
from tests.support.examples import examples
from tests.support.schema import schema_errors

SETTINGS = settings(
    max_examples=examples(200),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: C0 and C1 controls, U+2028 and U+2029: never in an id.
CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]]
#: What ``str.strip`` removes that is not a control.
SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) not in CONTROLS]
ZONES = sorted(_iana_zones())
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PRIOR = ["none", "met_in_person", "met_virtually", "messaged"]
ENVELOPE_KEYS = {"specversion", "id", "source", "type", "time", "subject", "datacontenttype"}
REQUEST_TYPES = [name for name in EVENT_MODELS if name != "rapport.member.preferences_updated"]

# -- valid values ---------------------------------------------------------------------------

ABSENT = object()
text = st.text(max_size=40)
ids = st.one_of(
    st.text(st.characters(exclude_characters=CONTROLS, exclude_categories=["Cs"]), max_size=40)
    .map(lambda value: value + "x")
    .flatmap(lambda value: st.sampled_from([value, f" {value}\u3000"])),
    st.just("i" * MAX_ID_LENGTH),
    st.sampled_from(["req-7k2m9q4x", "m-priya", "req\u00a0\u200bx", "Ünïcødé 会员", "🙂"]),
)
sources = st.sampled_from(
    [
        "https://platform.example/connections",
        "/platform/requests",
        "urn:example:platform",
        "platform-a",
        "http://[2001:db8::1]:8080/events?x=%2F#f",
        "https://user@platform.example:443/a/b;c=d?q=1",
    ]
)
content_types = st.sampled_from(
    [
        "application/json",
        "Application/JSON",
        "application/cloudevents+json",
        'application/json; charset="utf-8"',
        "application/json ;charset=utf-8",
    ]
)
emails = st.from_regex(
    r"\A[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(\.[a-z0-9_+-]{1,8}){0,2}@[a-z0-9]([a-z0-9-]{0,8}"
    r"[a-z0-9])?(\.[a-z]{2,6}){0,2}\Z"
).filter(lambda value: "=?" not in value and len(value) <= MAX_EMAIL_LENGTH)


@st.composite
def times(draw: st.DrawFn) -> str:
    """An RFC 3339 time whose instant is in range, written with any offset within ±23:59."""
    instant = draw(
        st.one_of(
            st.datetimes(EARLIEST_TIME.replace(tzinfo=None), datetime(8999, 12, 31, 23, 59, 59)),
            st.sampled_from([EARLIEST_TIME, LATEST_TIME - timedelta(microseconds=1)]).map(
                lambda value: value.replace(tzinfo=None)
            ),
        )
    )
    minutes = draw(st.integers(-(24 * 60 - 1), 24 * 60 - 1))
    local = instant + timedelta(minutes=minutes)
    fraction = draw(st.sampled_from(["", ".5", f".{instant.microsecond:06d}", ".123456789"]))
    sign = "+" if minutes >= 0 else "-"
    offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if minutes == 0:
        offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"]))
    separator = draw(st.sampled_from("Tt"))
    return local.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + fraction + offset


def maybe(strategy: st.SearchStrategy[Any], *, nullable: bool = True) -> st.SearchStrategy[Any]:
    """A value from ``strategy``, or the key left out (``ABSENT``), or null where allowed."""
    options = [strategy, st.just(ABSENT)]
    return st.one_of(*options, st.none()) if nullable else st.one_of(*options)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def _object(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not ABSENT}


@st.composite
def contexts(draw: st.DrawFn) -> Any:
    strings = maybe(st.lists(text, max_size=3))
    return draw(
        maybe(
            st.builds(
                _object,
                mutual_connections=maybe(st.integers(0, 10**12)),
                shared_groups=strings,
                shared_credentials=strings,
                shared_employers=strings,
                shared_schools=strings,
                prior_interaction=maybe(st.sampled_from(PRIOR)),
            )
        )
    )


notes = st.one_of(st.none(), st.text(max_size=200), st.just("n" * MAX_NOTE_LENGTH))


@st.composite
def data_for(draw: st.DrawFn, event_type: str) -> dict[str, Any]:
    extra = draw(st.dictionaries(st.sampled_from(["extra", "version", "meta"]), json_values))
    if event_type == "rapport.member.preferences_updated":
        return extra | _object(
            member_id=draw(ids),
            email=draw(emails),
            timezone=draw(maybe(st.sampled_from(ZONES), nullable=False)),
            digest_day=draw(maybe(st.sampled_from(DAYS), nullable=False)),
            digest_hour=draw(maybe(st.integers(0, 23), nullable=False)),
            digest_enabled=draw(maybe(st.booleans(), nullable=False)),
        )
    data = extra | {"request_id": draw(ids), "sender_id": draw(ids)}
    if event_type == "rapport.connection_request.sent":
        data["recipient"] = _object(
            member_id=draw(ids),
            headline=draw(maybe(text)),
            industry=draw(maybe(text)),
            seniority=draw(maybe(text)),
        )
        data["note"] = draw(notes)
        data |= _object(context=draw(contexts()))
    elif event_type == "rapport.connection_request.declined":
        data |= _object(note=draw(maybe(notes)))
    return data


@st.composite
def valid_events(draw: st.DrawFn, types: tuple[str, ...] = tuple(EVENT_MODELS)) -> dict[str, Any]:
    event_type = draw(st.sampled_from(types))
    # CloudEvents extensions; the contract's own attributes, set after them, win.
    extensions = draw(
        st.dictionaries(st.from_regex(r"\A[a-z0-9]{1,20}\Z"), json_values, max_size=2)
    )
    return extensions | _object(
        specversion="1.0",
        id=draw(ids),
        source=draw(sources),
        type=event_type,
        time=draw(times()),
        subject=draw(maybe(text)),
        datacontenttype=draw(maybe(content_types)),
        data=draw(data_for(event_type)),
    )


def parses(document: dict[str, Any]) -> bool:
    try:
        parse_event(json.dumps(document, ensure_ascii=False))
    except InvalidEvent:
        return False
    return True


@SETTINGS
@given(document=valid_events())
def test_every_event_the_parser_accepts_validates_against_the_schema(
    document: dict[str, Any],
) -> None:
    assert parses(document)
    assert schema_errors(document, formats=False) == []


# -- one broken rule -----------------------------------------------------------------------

REMOVE = object()
blank = st.lists(st.sampled_from(SPACES), max_size=4).map("".join)
with_control = st.tuples(text, st.sampled_from(CONTROLS), text).map("".join)
not_a_string = st.one_of(st.integers(), st.booleans(), st.none(), st.lists(text, max_size=1))
bad_ids = st.one_of(
    blank,
    with_control,
    st.text(min_size=MAX_ID_LENGTH + 1, max_size=MAX_ID_LENGTH + 20).filter(str.strip),
    not_a_string,
)
# Local dates the pipeline refuses whatever the offset: years well outside 1970-8999, days a
# month does not have, clock readings that do not exist, offsets past ±23:59, no offset at all.
bad_times = st.one_of(
    st.builds("{:04d}-06-15T12:00:00Z".format, st.integers(0, 1968) | st.integers(9001, 9999)),
    st.sampled_from(
        [
            "2026-02-29T12:00:00Z",
            "2100-02-29T12:00:00Z",
            "2026-04-31T12:00:00Z",
            "2026-13-01T12:00:00Z",
            "2026-00-10T12:00:00Z",
            "2026-11-00T12:00:00Z",
            "2026-11-02T24:00:00Z",
            "2026-11-02T09:60:00Z",
            "2026-11-02T09:00:60Z",
            "2026-11-02T09:00:00+24:00",
            "2026-11-02T09:00:00-05:60",
            "2026-11-02T09:00:00",
            "2026-11-02 09:00:00Z",
            "2026-11-02T09:00Z",
            "2026-11-02T09:00:00.Z",
            "1969-12-31T23:00:00Z",
            "1969-12-31T23:00:00+01:00",
            "9000-01-01T00:00:00-00:00",
            "9000-01-02T00:00:00+23:00",
            "２０２６-11-02T09:00:00Z",
        ]
    ),
    not_a_string,
)
bad_emails = st.one_of(
    emails.map(lambda value: "=?utf-8?q?" + value),
    emails.map(lambda value: "." + value),
    emails.map(lambda value: value.replace("@", "")),
    emails.map(lambda value: value.replace("@", "@@")),
    emails.map(lambda value: "ü" + value),
    st.tuples(emails, with_control).map(lambda pair: pair[1] + pair[0]),
    emails.map(lambda value: "a" * (MAX_EMAIL_LENGTH + 1 - len(value)) + value),
    not_a_string,
)
bad_zones = st.one_of(
    st.sampled_from(ZONES).map(str.lower).filter(lambda zone: zone not in _iana_zones()),
    st.sampled_from(["", "localtime", "posixrules", "Europe", "right/UTC", "/etc/passwd"]),
    text.filter(lambda zone: zone not in _iana_zones()),
    st.sampled_from(ZONES).map(lambda zone: zone + "\r\nX: y"),
)
wrong_numbers = st.one_of(st.floats(allow_nan=False).filter(lambda x: not x.is_integer()), text)

#: (types it applies to, dotted path, values that break a rule there). A path through ``context``
#: makes the context an object first.
VIOLATIONS: list[tuple[list[str], str, st.SearchStrategy[Any]]] = [
    (list(EVENT_MODELS), "specversion", st.sampled_from(["0.3", "1", "1.0 ", 1.0, REMOVE])),
    (list(EVENT_MODELS), "id", bad_ids | st.just(REMOVE)),
    (list(EVENT_MODELS), "source", st.sampled_from(["", "a b", "<x>", "%zz", "x\\y", REMOVE])),
    (list(EVENT_MODELS), "type", text.filter(lambda value: value not in EVENT_MODELS)),
    (list(EVENT_MODELS), "time", bad_times | st.just(REMOVE)),
    (list(EVENT_MODELS), "subject", st.integers() | st.lists(text, max_size=1)),
    (
        list(EVENT_MODELS),
        "datacontenttype",
        st.sampled_from(["text/plain", "application/json-seq", "application/json; x=y", ""]),
    ),
    (list(EVENT_MODELS), "data", not_a_string | st.just(REMOVE)),
    (REQUEST_TYPES, "data.request_id", bad_ids | st.just(REMOVE)),
    (REQUEST_TYPES, "data.sender_id", bad_ids | st.just(REMOVE)),
    (["rapport.connection_request.sent"], "data.recipient", not_a_string | st.just(REMOVE)),
    (["rapport.connection_request.sent"], "data.recipient.member_id", bad_ids),
    (["rapport.connection_request.sent"], "data.recipient.headline", st.integers()),
    (
        ["rapport.connection_request.sent", "rapport.connection_request.declined"],
        "data.note",
        st.just("n" * (MAX_NOTE_LENGTH + 1)) | st.integers(),
    ),
    (["rapport.connection_request.sent"], "data.note", st.just(REMOVE)),
    (["rapport.connection_request.sent"], "data.context", text | st.lists(st.integers())),
    (
        ["rapport.connection_request.sent"],
        "data.context.mutual_connections",
        st.integers(max_value=-1) | wrong_numbers | st.booleans(),
    ),
    (
        ["rapport.connection_request.sent"],
        "data.context.shared_groups",
        text | st.lists(st.integers(), min_size=1),
    ),
    (
        ["rapport.connection_request.sent"],
        "data.context.prior_interaction",
        text.filter(lambda value: value not in PRIOR),
    ),
    (["rapport.member.preferences_updated"], "data.member_id", bad_ids | st.just(REMOVE)),
    (["rapport.member.preferences_updated"], "data.email", bad_emails | st.just(REMOVE)),
    (["rapport.member.preferences_updated"], "data.timezone", bad_zones | st.none()),
    (
        ["rapport.member.preferences_updated"],
        "data.digest_day",
        st.sampled_from(DAYS).map(str.title) | text.filter(lambda value: value not in DAYS),
    ),
    (
        ["rapport.member.preferences_updated"],
        "data.digest_hour",
        st.integers(max_value=-1) | st.integers(min_value=24) | wrong_numbers | st.none(),
    ),
    (
        ["rapport.member.preferences_updated"],
        "data.digest_enabled",
        st.sampled_from(["true", 1, 0, None]),
    ),
]


def _break(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(document)
    *parents, leaf = path.split(".")
    target = broken
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    if value is REMOVE:
        target.pop(leaf, None)
    else:
        target[leaf] = value
    return broken


@pytest.mark.parametrize(("types", "path", "values"), VIOLATIONS, ids=[v[1] for v in VIOLATIONS])
@settings(SETTINGS, max_examples=examples(20))
@given(data=st.data())
def test_an_event_breaking_a_schema_rule_is_rejected_by_both(
    types: list[str], path: str, values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    document = _break(data.draw(valid_events(tuple(types))), path, data.draw(values))
    assert schema_errors(document, formats=False)
    assert not parses(document)


def test_every_attribute_and_data_field_has_a_broken_rule() -> None:
    covered = {(event_type, path) for types, path, _ in VIOLATIONS for event_type in types}
    for event_type, model in EVENT_MODELS.items():
        data_model = model.model_fields["data"].annotation
        assert isinstance(data_model, type)
        for name in model.model_fields:
            assert (event_type, name) in covered, (event_type, name)
        for name in data_model.model_fields:
            assert (event_type, f"data.{name}") in covered, (event_type, name)


def test_the_schemas_whitespace_is_what_the_models_strip() -> None:
    """A blank id is refused by ``str.strip`` in the models and by this class in the schema."""
    whitespace = re.compile(f"[{WHITESPACE}]")
    assert [char for char in map(chr, range(0x110000)) if whitespace.fullmatch(char)] == SPACES
