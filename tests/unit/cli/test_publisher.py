"""The publisher without AWS: batching, validation, retrying only failed entries, refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from rapport.adapters.sqs_batch import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    RetryPolicy,
    fits_in_batch,
)
from rapport_cli.jsonl import InputLine
from rapport_cli.publisher import Publisher, PublishError, QueueTarget, publish
from tests.support.events import answer, body, sent

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
Entries = list[dict[str, str]]


class FakeSqs:
    """Records every SendMessageBatch; ``fail(call, entries)`` says which entries fail and how."""

    def __init__(self, fail: Callable[[int, Entries], dict[str, dict[str, Any]]] | None = None):
        self.calls: list[Entries] = []
        self._fail = fail or (lambda _call, _entries: {})

    def send_message_batch(self, QueueUrl: str, Entries: Entries) -> dict[str, Any]:  # noqa: N803
        assert QueueUrl == QUEUE
        assert len(Entries) <= MAX_BATCH_ENTRIES
        self.calls.append(Entries)
        failures = self._fail(len(self.calls), Entries)
        return {
            "Successful": [
                {"Id": entry["Id"], "MessageId": f"msg-{len(self.calls)}-{entry['Id']}"}
                for entry in Entries
                if entry["Id"] not in failures
            ],
            "Failed": [{"Id": entry_id, **failure} for entry_id, failure in failures.items()],
        }

    def bodies(self, call: int) -> list[str]:
        return [entry["MessageBody"] for entry in self.calls[call]]


def transient(message: str = "Internal error") -> dict[str, Any]:
    return {"Code": "InternalError", "Message": message, "SenderFault": False}


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def events(count: int) -> list[str]:
    return [body(sent(f"req-{number}")) for number in range(count)]


def test_events_go_out_in_batches_of_at_most_ten_unchanged() -> None:
    sqs = FakeSqs()
    bodies = events(23)

    result = publish(bodies, QueueTarget(QUEUE, sqs=sqs))

    assert [len(call) for call in sqs.calls] == [10, 10, 3]
    assert [text for call in range(3) for text in sqs.bodies(call)] == bodies
    assert (len(result.sent), result.retried, result.refused) == (23, 0, [])


def test_only_the_entries_that_failed_transiently_are_sent_again() -> None:
    bodies = events(10)

    def fail(call: int, entries: Entries) -> dict[str, dict[str, Any]]:
        return {entries[2]["Id"]: transient(), entries[7]["Id"]: transient()} if call == 1 else {}

    sqs, sleeps = FakeSqs(fail), Sleeps()

    result = publish(
        bodies, QueueTarget(QUEUE, sqs=sqs), retry=RetryPolicy(base_delay=0.5, sleep=sleeps)
    )

    assert len(sqs.calls) == 2
    assert sqs.bodies(1) == [bodies[2], bodies[7]]
    assert (len(result.sent), result.retried) == (10, 2)
    assert sleeps.delays == [0.5]


def test_a_sender_fault_is_never_retried_and_names_the_event() -> None:
    bodies = events(3)
    refused = {"Code": "InvalidMessageContents", "Message": "bad body", "SenderFault": True}
    sqs = FakeSqs(lambda _call, entries: {entries[1]["Id"]: refused})

    with pytest.raises(PublishError) as raised:
        publish(bodies, QueueTarget(QUEUE, sqs=sqs), retry=RetryPolicy(sleep=Sleeps()))

    assert len(sqs.calls) == 1
    assert len(raised.value.result.sent) == 2
    [failure] = raised.value.result.refused
    assert (failure.event_id, failure.error_code) == (
        "sent-m-sender-req-1",
        "InvalidMessageContents",
    )
    assert "sent-m-sender-req-1: InvalidMessageContents: bad body" in str(raised.value)


def test_a_persistent_transient_failure_gives_up_after_bounded_backoff() -> None:
    bodies = events(4)
    sqs, sleeps = FakeSqs(lambda _call, entries: {entries[-1]["Id"]: transient("Busy")}), Sleeps()
    retry = RetryPolicy(attempts=4, base_delay=1.0, max_delay=3.0, sleep=sleeps)

    with pytest.raises(PublishError) as raised:
        publish(bodies, QueueTarget(QUEUE, sqs=sqs), retry=retry)

    assert len(sqs.calls) == 4
    assert all(sqs.bodies(call) == [bodies[3]] for call in (1, 2, 3))
    assert sleeps.delays == [1.0, 2.0, 3.0]
    assert len(raised.value.result.sent) == 3
    assert [failure.event_id for failure in raised.value.result.refused] == ["sent-m-sender-req-3"]
    assert "InternalError: Busy (still failing after 4 attempts)" in str(raised.value)


def test_invalid_events_are_not_sent_and_each_is_named_with_its_code() -> None:
    too_long = sent("r" * 129, event_id="evt-long")
    no_time = {key: value for key, value in answer("accepted").items() if key != "time"}
    sqs = FakeSqs()

    with pytest.raises(PublishError) as raised:
        publish(
            [body(sent("req-ok")), body(too_long), "{not json", no_time],
            QueueTarget(QUEUE, sqs=sqs),
        )

    assert sqs.bodies(0) == [body(sent("req-ok"))]
    assert [(f.event_id, f.error_code) for f in raised.value.result.refused] == [
        ("evt-long", "field_too_long"),
        (None, "invalid_json"),
        ("accepted-m-sender-req-1", "missing_field"),
    ]
    message = str(raised.value)
    assert message.startswith("3 event(s) not sent (1 sent): evt-long: field_too_long: ")
    assert "accepted-m-sender-req-1: missing_field: time: Field required" in message


def test_a_mapping_is_sent_as_compact_json_and_a_string_exactly_as_given() -> None:
    sqs = FakeSqs()
    spaced = json.dumps(sent("req-2"), indent=2)
    publisher: Publisher[None] = Publisher(QueueTarget(QUEUE, sqs=sqs))
    assert publisher.add(sent("req-1"), None) is None
    publisher.add(spaced, None)
    publisher.flush()

    assert sqs.bodies(0) == [json.dumps(sent("req-1"), separators=(",", ":")), spaced]


def test_characters_sqs_refuses_are_caught_before_sending() -> None:
    publisher: Publisher[None] = Publisher(QueueTarget(QUEUE, sqs=FakeSqs()))
    refusal = publisher.add(sent(note="unsendable \uffff", event_id="evt-odd"), None)
    assert refusal is not None
    assert (refusal.error_code, refusal.event_id) == ("rejected_by_queue", "evt-odd")
    assert publisher.result.refused == [refusal]


def test_a_mapping_that_is_not_json_is_an_invalid_event() -> None:
    publisher: Publisher[None] = Publisher(QueueTarget(QUEUE, sqs=FakeSqs()))
    refusal = publisher.add({**sent(), "time": object()}, None)
    assert refusal is not None
    assert (refusal.error_code, refusal.event_id) == ("invalid_json", "sent-m-sender-req-1")


def test_nothing_is_sent_before_a_batch_fills_or_flush_is_called() -> None:
    sqs = FakeSqs()
    publisher: Publisher[None] = Publisher(QueueTarget(QUEUE, sqs=sqs))
    for number in range(MAX_BATCH_ENTRIES):
        publisher.add(sent(f"req-{number}"), None)
    assert sqs.calls == []
    publisher.add(sent("req-last"), None)
    assert [len(call) for call in sqs.calls] == [MAX_BATCH_ENTRIES]


def _line(number: int, text: str, encoding_error: str | None = None) -> InputLine:
    return InputLine("events.jsonl", number, text, encoding_error)


def test_every_refusal_names_its_line_before_and_after_batching() -> None:
    lines = [
        _line(1, body(sent("req-1"))),
        _line(2, "{not json"),
        _line(3, "caf\ufffd", encoding_error="invalid start byte"),
        _line(4, body(sent("req-4"))),
    ]
    refused = {"Code": "InvalidMessageContents", "Message": "bad body", "SenderFault": True}
    sqs = FakeSqs(lambda _call, entries: {entries[1]["Id"]: refused})
    publisher: Publisher[InputLine] = Publisher(QueueTarget(QUEUE, sqs=sqs))

    returned = [publisher.add_line(line) for line in lines]
    result = publisher.flush()

    assert [refusal is None for refusal in returned] == [True, False, False, True]
    assert [(r.source, r.error_code, r.by_target) for r in result.refused] == [
        (lines[1], "invalid_json", False),
        (lines[2], "invalid_encoding", False),
        (lines[3], "InvalidMessageContents", True),
    ]
    assert result.refused[1].message == "The line is not UTF-8 (invalid start byte)"
    assert result.unsent == result.refused[2:]
    assert result.sent == {"msg-1-0": lines[0]}


def test_only_failed_entries_are_retried_and_each_message_keeps_its_line() -> None:
    lines = [_line(number, body(sent(f"req-{number}"))) for number in range(1, 5)]
    sqs = FakeSqs(lambda call, entries: {entries[1]["Id"]: transient()} if call == 1 else {})
    publisher: Publisher[InputLine] = Publisher(
        QueueTarget(QUEUE, sqs=sqs), retry=RetryPolicy(sleep=Sleeps())
    )

    for line in lines:
        publisher.add_line(line)
    result = publisher.flush()

    assert sqs.bodies(1) == [lines[1].text]
    assert (result.retried, result.refused) == (1, [])
    assert result.sent == {
        "msg-1-0": lines[0],
        "msg-2-1": lines[1],
        "msg-1-2": lines[2],
        "msg-1-3": lines[3],
    }


def test_a_transient_failure_that_persists_is_a_transient_refusal() -> None:
    sqs = FakeSqs(lambda _call, entries: {entries[0]["Id"]: transient("Busy")})
    publisher: Publisher[InputLine] = Publisher(
        QueueTarget(QUEUE, sqs=sqs), retry=RetryPolicy(attempts=2, sleep=Sleeps())
    )
    line = _line(1, body(sent()))
    publisher.add_line(line)

    [refusal] = publisher.flush().refused

    assert (refusal.source, refusal.by_target, refusal.transient) == (line, True, True)


def test_without_validation_an_invalid_event_is_sent_and_a_large_body_refused() -> None:
    sqs = FakeSqs()
    publisher: Publisher[InputLine] = Publisher(
        QueueTarget(QUEUE, sqs=sqs, max_message_bytes=100), validate=False
    )
    small, large = _line(1, "{not json"), _line(2, "x" * 101)

    publisher.add_line(small)
    [refusal] = [publisher.add_line(large)]
    publisher.flush()

    assert sqs.bodies(0) == ["{not json"]
    assert refusal is not None
    assert (refusal.error_code, refusal.message) == (
        "rejected_by_queue",
        "The message is 101 bytes; SQS accepts at most 100",
    )


def test_each_batch_is_reported_once_it_is_sent() -> None:
    sizes: list[int] = []
    publisher: Publisher[None] = Publisher(QueueTarget(QUEUE, sqs=FakeSqs()), on_batch=sizes.append)
    for number in range(13):
        publisher.add(sent(f"req-{number}"), None)
    assert sizes == [10]
    publisher.flush()
    assert sizes == [10, 3]


def test_the_batch_byte_limit_is_respected() -> None:
    assert fits_in_batch(9, MAX_BATCH_BYTES - 10, 10)
    assert not fits_in_batch(9, MAX_BATCH_BYTES - 10, 11)
    assert not fits_in_batch(MAX_BATCH_ENTRIES, 0, 1)


def test_backoff_doubles_up_to_its_bound() -> None:
    retry = RetryPolicy(base_delay=0.25, max_delay=1.0)
    assert [retry.delay(number) for number in range(1, 6)] == [0.25, 0.5, 1.0, 1.0, 1.0]
