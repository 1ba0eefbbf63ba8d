"""A request item's events as the read side sees them (digests, exports, local runs).

Kept apart from ``items`` so ingestion never imports the contract's readers or the reason
classifier that a request's state needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from rapport.adapters.dynamodb.items import (
    KEPT_REASONS,
    EventEntry,
    Item,
    event_entries,
    optional_text,
)
from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.reasons import Classification
from rapport.state import RequestHistory
from rapport.validation import validate_document


def stored_request_events(entries: Mapping[str, EventEntry]) -> list[tuple[str, RequestEvent]]:
    """The events stored in one request item, each with the attribute that holds it."""
    events = []
    for name, entry in entries.items():
        assert entry.canonical is not None, "request items keep their events"
        event = validate_document(json.loads(entry.canonical))
        assert not isinstance(event, PreferencesUpdated)
        events.append((name, event))
    return events


def request_events(item: Item) -> RequestHistory:
    """The events stored in one request item, with the reasons kept by an erasure."""
    return history_of(stored_request_events(event_entries(item)), optional_text(item, KEPT_REASONS))


def history_of(stored: list[tuple[str, RequestEvent]], kept: str | None) -> RequestHistory:
    """``stored`` (an item's decoded events) as a history, with the reasons an erasure kept."""
    return RequestHistory(
        (event for _, event in stored),
        Classification.model_validate_json(kept) if kept is not None else None,
    )
