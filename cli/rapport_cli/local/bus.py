"""What EventBridge delivers to the events queue, where moto's EventBridge falls short of it.

moto (5.2) routes ``PutEvents`` entries through the bus's rules and sends each matched event to
the rule's SQS target, but as the whole EventBridge event (``version``, ``id``, ``detail-type``,
``source``, ``time``, ``region``, ``resources``, ``detail``), written with ``json.dumps``: it
keeps a target's ``InputPath`` and ignores it (``tests/integration/test_moto_eventbridge.py``
pins this). EventBridge sends only what ``InputPath`` selects, for Rapport's rule
``$.detail``: the CloudEvent. So the local runtime applies ``InputPath`` itself, where the local
poller turns a received message into the Lambda record, and the handler sees the body it sees in
AWS. The message stays in the queue as moto wrote it (a dead-lettered one too).

Reading the EventBridge event also says which message carries which event (its ``id`` is the
event id ``PutEvents`` returned), so the run can name the input line of each message, and the
lines no rule delivered anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport_cli.jsonl import InputLine
from rapport_cli.publisher import PublishResult, Refusal

#: The keys of an event as EventBridge (and moto) writes it.
_EVENT_KEYS = frozenset({"version", "id", "detail-type", "source", "detail"})
#: The JSONPath forms the local runtime applies: ``$`` and ``$.name.name…``.
_SIMPLE_PATH = re.compile(r"\$(\.[A-Za-z0-9_-]+)*")


class NotAnEventBridgeEvent(RuntimeError):
    """A message in a rule's target queue is not an EventBridge event as moto writes it."""


def select(document: Any, input_path: str | None) -> Any:
    """The part of ``document`` that ``input_path`` selects (all of it for None)."""
    if input_path is None:
        return document
    if not _SIMPLE_PATH.fullmatch(input_path):
        raise ValueError(f"InputPath {input_path!r}: only $ and $.name… are applied locally")
    for name in input_path.split(".")[1:]:
        document = document[name]
    return document


@dataclass
class BusDelivery:
    """Completes moto's delivery through one rule target (``InputPath``), message by message."""

    input_path: str | None
    #: SQS message id -> the EventBridge event id it carries
    event_ids: dict[str, str] = field(default_factory=dict)

    def body_of(self, message: Mapping[str, Any]) -> str:
        """The body EventBridge would have delivered: what ``InputPath`` selects, as JSON."""
        try:
            event = json.loads(message["Body"])
        except ValueError:
            event = None
        if not isinstance(event, dict) or not set(event) >= _EVENT_KEYS:
            raise NotAnEventBridgeEvent(
                f"message {message['MessageId']} is not an EventBridge event as moto delivers "
                "it; if moto now applies InputPath itself, stop applying it in "
                "rapport_cli/local/bus.py (docs/architecture.md, local runtime)"
            )
        self.event_ids[message["MessageId"]] = event["id"]
        return json.dumps(select(event, self.input_path), ensure_ascii=False, separators=(",", ":"))

    def settle(self, published: PublishResult[InputLine]) -> PublishResult[InputLine]:
        """``published`` (keyed by event id) keyed by the message that carries each event; an
        event no message carries went nowhere (no rule matched it) and becomes a refused line."""
        unknown = set(self.event_ids.values()) - set(published.sent)
        if unknown:
            raise NotAnEventBridgeEvent(f"{len(unknown)} delivered event(s) were never put")
        delivered = set(self.event_ids.values())
        return PublishResult(
            sent={
                message_id: published.sent[event_id]
                for message_id, event_id in self.event_ids.items()
            },
            retried=published.retried,
            refused=[
                *published.refused,
                *(
                    Refusal(
                        line,
                        None,
                        "not_routed",
                        "No rule of the event bus matches the event (its type is not one of "
                        "Rapport's), so EventBridge delivered it nowhere",
                    )
                    for event_id, line in published.sent.items()
                    if event_id not in delivered
                ),
            ],
        )
