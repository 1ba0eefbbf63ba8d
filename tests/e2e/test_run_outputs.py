"""`rapport run`'s files: one digest file set per member-week whatever the id, JSONL rows that
no line-based reader splits, and a default "now" that only stored events set."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rapport.errors import InvalidEvent
from rapport.validation import parse_event
from rapport_cli.local import runner
from tests.support.events import preferences, sent

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 16, 18, tzinfo=UTC)
#: Ids that used to share a digest file name (a dot cut the name; space and "_" both became "_").
LOOK_ALIKES = ("john.doe", "john.smith", "m a", "m_a")


def _preferences(member: str) -> dict[str, Any]:
    """Digests every Monday 08:00 UTC, so each member is due at NOW."""
    return preferences(
        member,
        at=datetime(2026, 11, 1, 10, tzinfo=UTC),
        email=f"{member.replace(' ', '-')}@example.com",  # "m a@…" is no address
        digest_day="monday",
        digest_hour=8,
    )


def _write(path: Path, *documents: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [doc if isinstance(doc, str) else json.dumps(doc) for doc in documents]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, Any]]:
    """Rows as a line-based reader sees them: the raw bytes, split by ``str.splitlines``."""
    raw = path.read_bytes()
    assert "\u2028".encode() not in raw
    assert "\u2029".encode() not in raw
    assert "\x85".encode() not in raw  # NEL: str.splitlines() breaks lines there too
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


@pytest.fixture(scope="module")
def look_alike_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("outputs")
    stream = _write(
        base / "in\u2028put" / "stream.jsonl",  # the file name is in every quarantine row
        *(_preferences(member) for member in LOOK_ALIKES),
        sent("req-one", "john.doe", at=datetime(2026, 11, 10, 9, tzinfo=UTC)),
        # The contract refuses U+2028 in ids: the row is a quarantine row, its payload raw.
        json.dumps(
            sent("req\u2028two", "john.doe", at=datetime(2026, 11, 10, 9, tzinfo=UTC)),
            ensure_ascii=False,  # the separator raw in the input line
        ),
        '{"specversion": "1.0", "note": "not an event\u2029at all\x85really"}',
    )
    runner.run([stream], base / "out", now=NOW)
    return base / "out"


def test_look_alike_member_ids_each_get_their_own_digest_files(look_alike_run: Path) -> None:
    digests = look_alike_run / "digests"
    stems = {path.name.removesuffix(".json") for path in digests.glob("*.json")}
    assert len(stems) == len(LOOK_ALIKES)
    members = {json.loads((digests / f"{stem}.json").read_text())["member_id"] for stem in stems}
    assert members == set(LOOK_ALIKES)
    for stem in stems:
        assert (digests / f"{stem}.eml").is_file()
        assert (digests / f"{stem}.html").is_file()
    assert "john%2Edoe_2026-11-09" in stems


def test_jsonl_rows_escape_unicode_line_separators(look_alike_run: Path) -> None:
    (request,) = _rows(look_alike_run / "requests.jsonl")
    assert request["request_id"] == "req-one"
    refused_id, not_an_event = _rows(look_alike_run / "quarantine.jsonl")
    assert (refused_id["error_code"], not_an_event["error_code"]) == (
        "invalid_format",
        "missing_field",
    )
    assert all("\u2028" in row["file"] for row in (refused_id, not_an_event))
    assert "req\u2028two" in refused_id["payload"]
    assert "\u2029" in not_an_event["payload"]
    assert _rows(look_alike_run / "dead_letters.jsonl") == []


def test_default_now_is_the_latest_stored_event_time(tmp_path: Path) -> None:
    far_future = sent("req-far", "m-a", at=datetime(8999, 6, 1, tzinfo=UTC))
    broken_future = {
        **sent("req-broken", "m-a", at=datetime(8999, 12, 1, tzinfo=UTC)),
        "specversion": "0.3",
    }
    stream = _write(
        tmp_path / "stream.jsonl",
        _preferences("m-a"),
        sent("req-1", "m-a", at=datetime(2026, 11, 10, 9, tzinfo=UTC)),
        far_future,
        broken_future,
    )

    report = runner.run([stream], tmp_path / "out")

    quarantined = {row["event_id"] for row in _rows(tmp_path / "out" / "quarantine.jsonl")}
    assert broken_future["id"] in quarantined
    stored_times = []
    for line in stream.read_text(encoding="utf-8").splitlines():
        try:
            event = parse_event(line)
        except InvalidEvent:
            continue
        if event.id not in quarantined:
            stored_times.append(event.time)
    # Holds whether or not the pipeline stores an event dated 8999: "now" is never a time
    # that only a quarantined event carries.
    assert report.now == max(stored_times)
    assert report.now < datetime(8999, 12, 1, tzinfo=UTC)
