"""Time sanity (DESIGN §2): an event dated too far after the queue received it is quarantined.

The check is against ``InboundMessage.enqueued_at``, so a redrive, which is a new SQS message,
is judged against its own enqueue time. The in-memory store stands in for DynamoDB; the integration
test ``tests/integration/test_preferences_from_the_future.py`` runs the same story against moto.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.ingest import Disposition, InboundMessage, ingest
from rapport.settings import ConfigurationError, IngestSettings, load
from tests.support.events import answer, body, preferences
from tests.support.fakes import MemoryEventStore

ENQUEUED = datetime(2026, 11, 16, 12, tzinfo=UTC)


def _ingest(
    text: str, store: MemoryEventStore, enqueued_at: datetime = ENQUEUED, **kwargs: timedelta
) -> str:
    result = ingest(InboundMessage("m-1", text, enqueued_at), store, **kwargs)
    return result.error_code or result.disposition.value


def test_preferences_dated_8999_are_quarantined_and_schedule_nothing() -> None:
    store = MemoryEventStore()
    year_8999 = datetime(8999, 1, 4, 9, tzinfo=UTC)
    text = body(preferences("m-ann", at=year_8999, email="attacker@evil.example"))
    result = ingest(InboundMessage("m-1", text, ENQUEUED), store)
    assert result.disposition is Disposition.QUARANTINED
    assert result.error_code == "time_in_future"
    assert result.event_type == "rapport.member.preferences_updated"
    assert store.table.profiles == {}
    [entry] = store.table.quarantine.values()
    assert entry.error_code == "time_in_future"
    assert entry.event_id == result.event_id
    assert "8999" not in entry.message
    assert "24 hours" in entry.message


@pytest.mark.parametrize(
    ("ahead", "outcome"),
    [
        (timedelta(hours=-2000), "stored"),  # old events are fine: late delivery is normal
        (timedelta(hours=23), "stored"),
        (timedelta(hours=24), "stored"),  # the tolerance itself is still tolerated
        (timedelta(hours=24, seconds=1), "time_in_future"),
        (timedelta(hours=25), "time_in_future"),
    ],
)
def test_the_default_tolerance_is_24_hours(ahead: timedelta, outcome: str) -> None:
    assert _ingest(body(answer("accepted", at=ENQUEUED + ahead)), MemoryEventStore()) == outcome


def test_the_instant_is_compared_whatever_the_offset() -> None:
    raw = answer("accepted")
    raw["time"] = "2026-11-17T23:30:00+14:00"  # 09:30 UTC on the 17th: 21.5 h ahead
    assert _ingest(body(raw), MemoryEventStore()) == "stored"


def test_a_preferences_event_23_hours_ahead_schedules_its_digest() -> None:
    store = MemoryEventStore()
    text = body(preferences("m-ann", at=ENQUEUED + timedelta(hours=23)))
    assert _ingest(text, store) == "stored"
    due = store.table.profiles["m-ann"].next_due
    assert due is not None
    assert due - ENQUEUED < timedelta(days=8)


def test_the_tolerance_is_configurable() -> None:
    text = body(answer("accepted", at=ENQUEUED + timedelta(hours=3)))
    assert (
        _ingest(text, MemoryEventStore(), future_tolerance=timedelta(hours=2)) == "time_in_future"
    )
    assert _ingest(text, MemoryEventStore(), future_tolerance=timedelta(hours=4)) == "stored"


def test_a_redrive_is_judged_against_its_own_enqueue_time() -> None:
    store = MemoryEventStore()
    text = body(answer("declined", at=ENQUEUED + timedelta(hours=30)))
    assert _ingest(text, store) == "time_in_future"
    redriven_at = ENQUEUED + timedelta(hours=10)  # a new SQS message, sent after the fix
    assert _ingest(text, store, redriven_at) == "stored"


def test_future_tolerance_hours_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "rapport-test")
    monkeypatch.delenv("FUTURE_TOLERANCE_HOURS", raising=False)
    assert load(IngestSettings).future_tolerance == timedelta(hours=24)
    monkeypatch.setenv("FUTURE_TOLERANCE_HOURS", "6")
    assert load(IngestSettings).future_tolerance == timedelta(hours=6)


@pytest.mark.parametrize("value", ["0", "-1", "721", "1.5", "a day", ""])
def test_an_unusable_future_tolerance_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TABLE_NAME", "rapport-test")
    monkeypatch.setenv("FUTURE_TOLERANCE_HOURS", value)
    with pytest.raises(ConfigurationError, match="FUTURE_TOLERANCE_HOURS"):
        load(IngestSettings)
