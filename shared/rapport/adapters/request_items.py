"""A request item's events as the read side sees them (digests, exports, local runs).

Kept apart from the write path (``dynamodb_store``) so ingestion never imports the reason
classifier that a request's state needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rapport.adapters import keys
from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.reasons import Classification
from rapport.state import RequestHistory
from rapport.validation import validate_document

Item = Mapping[str, Any]
#: On a request item whose recipient was erased: what their decline meant, without their words.
KEPT_REASONS = "kept_reasons"


def stored_request_events(item: Item) -> list[tuple[str, RequestEvent]]:
    """The events stored in one request item, each with the attribute that holds it."""
    events = []
    for name, value in item.items():
        if name.startswith(keys.EVENT_ATTRIBUTE_PREFIX):
            event = validate_document(json.loads(value["M"]["e"]["S"]))
            assert not isinstance(event, PreferencesUpdated)
            events.append((name, event))
    return events


def request_events(item: Item) -> RequestHistory:
    """The events stored in one request item, with the reasons kept by an erasure."""
    return history_of(item, stored_request_events(item))


def history_of(item: Item, stored: list[tuple[str, RequestEvent]]) -> RequestHistory:
    """``stored`` (the item's decoded events) as a history, with the item's kept reasons."""
    kept = item.get(KEPT_REASONS)
    return RequestHistory(
        (event for _, event in stored),
        Classification.model_validate_json(kept["S"]) if kept is not None else None,
    )


def count_events(item: Item) -> int:
    return sum(1 for name in item if name.startswith(keys.EVENT_ATTRIBUTE_PREFIX))
