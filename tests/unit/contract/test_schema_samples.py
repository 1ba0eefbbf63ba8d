"""The published JSON Schema agrees with the models on every line of the demo stream.

Platforms that validate with `events/schema/` instead of the Python models must accept what the
pipeline stores and reject the stream's malformed lines. The one bad line the schema cannot catch
is the conflicting duplicate: it is a valid event on its own and only the pipeline's dedupe step
(same `source` and `id` as an earlier line, different content) quarantines it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rapport.errors import InvalidEvent
from rapport.validation import parse_event, validate_document
from rapport_cli.generator import GeneratorConfig, generate
from tests.support.schema import ROOT, schema_errors

STREAM = ROOT / "events" / "streams" / "demo.jsonl"
EXPECTED = json.loads((ROOT / "events" / "streams" / "demo.expected.json").read_text())
MALFORMED = set(EXPECTED["malformed_lines"])
LINES = dict(enumerate(STREAM.read_text(encoding="utf-8").splitlines(), start=1))


def test_the_stream_and_its_list_of_bad_lines_agree() -> None:
    assert len(LINES) == EXPECTED["received"]
    assert set(LINES) >= MALFORMED


@pytest.mark.parametrize("number", sorted(set(LINES) - MALFORMED))
def test_every_valid_line_of_the_demo_stream_passes_the_schema(number: int) -> None:
    assert schema_errors(json.loads(LINES[number])) == []


def test_the_bad_lines_fail_the_schema_except_the_conflicting_duplicate() -> None:
    schema_valid = []
    for number in sorted(MALFORMED):
        try:
            document = json.loads(LINES[number])
        except json.JSONDecodeError:
            continue  # not JSON at all: no schema applies
        if not schema_errors(document):
            schema_valid.append(number)
    assert len(schema_valid) == 1
    [conflict] = schema_valid
    parse_event(LINES[conflict])  # valid on its own
    document = json.loads(LINES[conflict])
    earlier = [
        json.loads(LINES[number])
        for number in range(1, conflict)
        if number not in MALFORMED and f'"{document["id"]}"' in LINES[number]
    ]
    same_key = [
        other
        for other in earlier
        if (other["source"], other["id"]) == (document["source"], document["id"])
    ]
    assert same_key
    assert all(other != document for other in same_key)


def test_the_schema_agrees_with_the_models_on_generated_lines() -> None:
    config = GeneratorConfig(members=15, weeks=4, seed=2, malformed_rate=0.05)
    rejected = 0
    for line in generate(config):
        try:
            document = json.loads(line.text)
        except json.JSONDecodeError:
            assert line.kind == "malformed"
            continue
        if line.kind == "malformed":
            assert schema_errors(document), line.text
            rejected += 1
        else:
            assert schema_errors(document) == [], line.text
    assert rejected > 0


SAMPLES = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in (ROOT / "events" / "samples").glob("*.json")
}


def _sample_with(sample: str, path: str, value: str | None) -> dict[str, Any]:
    """A sample event with the value at dotted ``path`` replaced."""
    document: dict[str, Any] = json.loads(json.dumps(SAMPLES[sample]))
    *parents, leaf = path.split(".")
    target = document
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value
    return document


HOSTILE = [
    ("sent", "time", "2026-11-02T09:00:00+00:60", "invalid_time"),
    ("sent", "time", "2026-11-02T09:00:00+05:99", "invalid_time"),
    ("sent", "time", "2026-11-02T09:00:00+24:00", "invalid_time"),
    ("accepted", "id", "evt\u0085x", "invalid_format"),
    ("accepted", "id", "evt\u009fx", "invalid_format"),
    ("sent", "data.request_id", "req\u2028x", "invalid_format"),
    ("sent", "data.sender_id", "m\u2029x", "invalid_format"),
    ("sent", "data.recipient.member_id", "m\x7fx", "invalid_format"),
    ("preferences_updated", "data.member_id", "m\x1bx", "invalid_format"),
    ("accepted", "source", "https://platform.example/my requests", "invalid_format"),
    ("accepted", "source", "<https://platform.example/>", "invalid_format"),
    ("accepted", "source", 'https://platform.example/"x"', "invalid_format"),
    ("accepted", "source", "https://platform.example/{id}", "invalid_format"),
    ("accepted", "source", "https:\\\\platform.example", "invalid_format"),
    ("accepted", "source", "https://platform.example/%zz", "invalid_format"),
    ("accepted", "source", "http://[bad", "invalid_format"),
    ("accepted", "source", "https://platform.example/\r\nX: 1", "invalid_format"),
    ("accepted", "datacontenttype", "application/json-seq", "invalid_content_type"),
    ("accepted", "datacontenttype", "application/json; foo=bar", "invalid_content_type"),
    ("accepted", "datacontenttype", "application/json\r\nX: 1", "invalid_content_type"),
    ("accepted", "datacontenttype", "text/plain", "invalid_content_type"),
    (
        "preferences_updated",
        "data.email",
        "=?utf-8?q?victim=40other.example?=@example.com",
        "unsafe_email",
    ),
    (
        "preferences_updated",
        "data.email",
        "=?utf-8?q?a=0D=0ABcc=3A_x=40evil.example?=@example.com",
        "unsafe_email",
    ),
    ("preferences_updated", "data.email", "ann\r\nBcc: x@evil.example", "unsafe_email"),
    ("preferences_updated", "data.email", ".ann@example.com", "invalid_email"),
    # Patterns are ECMA-262, where ``$`` matches only at the very end (tests/support/schema.py).
    ("accepted", "id", "evt\n", "invalid_format"),
    ("accepted", "id", "   ", "empty_field"),
    ("accepted", "data.sender_id", "\u3000\u00a0", "empty_field"),
    ("sent", "time", "2026-02-29T09:00:00Z", "invalid_time"),
    ("sent", "time", "2026-04-31T09:00:00Z", "invalid_time"),
    ("sent", "time", "2026-11-02T24:00:00Z", "invalid_time"),
    ("sent", "time", "2026-11-02T09:00:60Z", "invalid_time"),
    ("sent", "time", "1969-07-20T20:17:40Z", "invalid_time"),
    ("sent", "time", "1969-12-31T23:59:59-00:00", "invalid_time"),
    ("sent", "time", "9000-01-01T00:00:00Z", "invalid_time"),
    ("sent", "time", "9999-12-31T23:59:59-01:00", "invalid_time"),
    ("preferences_updated", "data.timezone", "Mars/Olympus_Mons", "invalid_timezone"),
    ("preferences_updated", "data.timezone", "europe/berlin", "invalid_timezone"),
    ("preferences_updated", "data.timezone", "localtime", "invalid_timezone"),
]
ODD_BUT_VALID = [
    ("sent", "time", "2026-11-02T09:00:00-23:59"),
    ("accepted", "source", "urn:example:platform"),
    ("accepted", "source", "/platform/requests"),
    ("accepted", "source", "platform-a"),
    ("accepted", "source", "http://[2001:db8::1]:8080/events?x=%2F#f"),
    ("accepted", "datacontenttype", "Application/JSON"),
    ("accepted", "datacontenttype", "application/cloudevents+json; charset=utf-8"),
    ("sent", "data.request_id", "req\u00a0\u200bx"),
    ("preferences_updated", "data.email", "x?=@example.com"),
    ("sent", "time", "2028-02-29T09:00:00Z"),
    ("sent", "time", "2000-02-29T09:00:00Z"),
    ("sent", "time", "1969-12-31T23:30:00-01:00"),
    ("sent", "time", "9000-01-01T00:30:00+01:00"),
    ("sent", "data.context", None),
    ("sent", "data.context.mutual_connections", None),
    ("sent", "data.context.shared_groups", None),
    ("sent", "data.context.prior_interaction", None),
    ("preferences_updated", "data.timezone", "America/Argentina/ComodRivadavia"),
]


@pytest.mark.parametrize(("sample", "path", "value", "code"), HOSTILE)
def test_the_schema_and_the_models_both_reject_hostile_values(
    sample: str, path: str, value: str, code: str
) -> None:
    document = _sample_with(sample, path, value)
    assert schema_errors(document)
    with pytest.raises(InvalidEvent) as caught:
        validate_document(document)
    assert caught.value.error_code == code


@pytest.mark.parametrize(("sample", "path", "value"), ODD_BUT_VALID)
def test_the_schema_and_the_models_both_accept_odd_but_valid_values(
    sample: str, path: str, value: str | None
) -> None:
    document = _sample_with(sample, path, value)
    assert schema_errors(document) == []
    validate_document(document)
