"""The publisher's PutEvents path without AWS: entries as the conventions say, batches of
at most 10 entries and 256 KiB, only the entries that failed retryably sent again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.adapters.eventbridge_batch import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, BusEntry
from rapport.adapters.sqs_batch import RetryPolicy
from rapport_cli.publisher import BusTarget, Publisher, PublishError, publish
from tests.support.events import SOURCE, answer, body, preferences, sent

BUS = "rapport-test"
Entries = list[dict[str, str]]
#: (call number, position in the call) -> the failed result entry to answer with
Failures = Callable[[int, int, dict[str, str]], dict[str, str] | None]


class FakeEvents:
    """Records every PutEvents; ``fail`` says which entries fail and how. Like EventBridge, it
    answers entry by entry in the request's order."""

    def __init__(self, fail: Failures | None = None) -> None:
        self.calls: list[Entries] = []
        self._fail = fail or (lambda _call, _position, _entry: None)

    def put_events(self, Entries: Entries) -> dict[str, Any]:  # noqa: N803
        assert len(Entries) <= MAX_BATCH_ENTRIES
        size = sum(
            BusEntry(entry["Source"], entry["DetailType"], entry["Detail"]).size
            for entry in Entries
        )
        assert size <= MAX_BATCH_BYTES
        self.calls.append(Entries)
        results = []
        for position, entry in enumerate(Entries):
            failure = self._fail(len(self.calls), position, entry)
            results.append(failure or {"EventId": f"evt-{len(self.calls)}-{position}"})
        failed = sum("ErrorCode" in result for result in results)
        return {"FailedEntryCount": failed, "Entries": results}

    def details(self, call: int) -> list[str]:
        return [entry["Detail"] for entry in self.calls[call]]


def throttled(_call: int = 0, _position: int = 0, _entry: Any = None) -> dict[str, str]:
    return {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def bus(events: FakeEvents) -> BusTarget:
    return BusTarget(BUS, events=events)


def events(count: int) -> list[str]:
    return [body(sent(f"req-{number}")) for number in range(count)]


def test_each_event_is_one_entry_its_type_the_detail_type_its_source_the_source() -> None:
    fake = FakeEvents()
    bodies = [body(sent()), body(answer("declined", note="No")), body(preferences())]

    result = publish(bodies, bus(fake))

    assert fake.calls == [
        [
            {"EventBusName": BUS, "Source": SOURCE, "DetailType": detail_type, "Detail": text}
            for detail_type, text in zip(
                [
                    "rapport.connection_request.sent",
                    "rapport.connection_request.declined",
                    "rapport.member.preferences_updated",
                ],
                bodies,
                strict=True,
            )
        ]
    ]
    assert (len(result.sent), result.retried, result.refused) == (3, 0, [])


def test_events_go_out_in_batches_of_at_most_ten() -> None:
    fake = FakeEvents()
    bodies = events(23)

    result = publish(bodies, bus(fake))

    assert [len(call) for call in fake.calls] == [10, 10, 3]
    assert [text for call in range(3) for text in fake.details(call)] == bodies
    assert len(result.sent) == 23


def test_a_batch_never_exceeds_256_kib() -> None:
    # Extensions are allowed and ignored: 60 KB of one makes each entry a quarter of a batch.
    bodies = [body({**sent(f"req-{number}"), "padding": "x" * 60_000}) for number in range(9)]
    fake = FakeEvents()

    publish(bodies, bus(fake))

    assert [len(call) for call in fake.calls] == [4, 4, 1]


def test_only_the_entries_that_failed_retryably_are_sent_again_with_backoff() -> None:
    bodies = events(10)

    def fail(call: int, position: int, _entry: dict[str, str]) -> dict[str, str] | None:
        if call == 1 and position == 2:
            return throttled()
        if call == 1 and position == 7:
            return {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal error"}
        return None

    fake, sleeps = FakeEvents(fail), Sleeps()

    result = publish(bodies, bus(fake), retry=RetryPolicy(base_delay=0.5, sleep=sleeps))

    assert len(fake.calls) == 2
    assert fake.details(1) == [bodies[2], bodies[7]]
    assert (len(result.sent), result.retried, result.refused) == (10, 2, [])
    assert sleeps.delays == [0.5]


def test_the_answer_is_read_by_position_when_retried_entries_fail_again() -> None:
    bodies = events(5)
    # First call: entries 1 and 3 throttled; second call (entries 1 and 3): the second fails again.
    plan = {(1, 1), (1, 3), (2, 1)}
    fake = FakeEvents(lambda call, position, _e: throttled() if (call, position) in plan else None)

    result = publish(bodies, bus(fake), retry=RetryPolicy(sleep=Sleeps()))

    assert [fake.details(call) for call in (1, 2)] == [[bodies[1], bodies[3]], [bodies[3]]]
    assert (len(result.sent), result.retried) == (5, 3)


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "NotAuthorizedForDetailTypeException", "MalformedDetail"]
)
def test_a_permanent_failure_is_never_retried_and_names_the_event(code: str) -> None:
    bodies = events(3)
    refused = {"ErrorCode": code, "ErrorMessage": "no"}
    fake = FakeEvents(lambda _call, position, _entry: refused if position == 1 else None)

    with pytest.raises(PublishError) as raised:
        publish(bodies, bus(fake), retry=RetryPolicy(sleep=Sleeps()))

    assert len(fake.calls) == 1
    assert len(raised.value.result.sent) == 2
    [failure] = raised.value.result.refused
    assert (failure.event_id, failure.error_code, failure.message) == (
        "sent-m-sender-req-1",
        code,
        "no",
    )


def test_a_persistent_retryable_failure_gives_up_after_bounded_backoff() -> None:
    bodies = events(4)
    fake = FakeEvents(lambda call, position, _e: throttled() if call > 1 or position == 3 else None)
    sleeps = Sleeps()

    with pytest.raises(PublishError) as raised:
        publish(bodies, bus(fake), retry=RetryPolicy(attempts=3, base_delay=1.0, sleep=sleeps))

    assert [len(call) for call in fake.calls] == [4, 1, 1]
    assert sleeps.delays == [1.0, 2.0]
    assert len(raised.value.result.sent) == 3
    assert "ThrottlingException: Rate exceeded (still failing after 3 attempts)" in str(
        raised.value
    )


def test_entries_eventbridge_does_not_answer_for_are_sent_again() -> None:
    class ShortAnswers(FakeEvents):
        def put_events(self, Entries: Entries) -> dict[str, Any]:  # noqa: N803
            response = super().put_events(Entries)
            return {**response, "Entries": response["Entries"][:1]}

    fake = ShortAnswers()

    result = publish(events(2), bus(fake), retry=RetryPolicy(sleep=Sleeps()))

    assert [fake.details(call) for call in (0, 1)] == [events(2), events(2)[1:]]
    assert (len(result.sent), result.retried) == (2, 1)


@pytest.mark.parametrize(
    ("source", "problem"),
    [("s" * 257, "1 to 256 characters"), ("aws.partner", "reserves Sources starting with 'aws.'")],
)
def test_a_source_eventbridge_cannot_take_is_refused_before_sending(
    source: str, problem: str
) -> None:
    fake = FakeEvents()
    publisher: Publisher[None] = Publisher(bus(fake))
    refusal = publisher.add({**sent(event_id="evt-src"), "source": source}, None)
    publisher.flush()
    assert refusal is not None
    assert (refusal.error_code, refusal.event_id) == ("rejected_by_bus", "evt-src")
    assert problem in refusal.message
    assert fake.calls == []


def test_invalid_events_are_not_put_on_the_bus_and_are_named_as_on_the_queue() -> None:
    fake = FakeEvents()

    with pytest.raises(PublishError) as raised:
        publish([body(sent("req-ok")), "{not json", body(sent("r" * 129, event_id="e"))], bus(fake))

    assert fake.details(0) == [body(sent("req-ok"))]
    assert [(f.event_id, f.error_code) for f in raised.value.result.refused] == [
        (None, "invalid_json"),
        ("e", "field_too_long"),
    ]


def test_characters_the_events_queue_refuses_are_caught_before_putting() -> None:
    publisher: Publisher[None] = Publisher(bus(FakeEvents()))
    refusal = publisher.add(sent(note="unsendable \uffff", event_id="evt-odd"), None)
    assert refusal is not None
    assert (refusal.error_code, refusal.event_id) == ("rejected_by_queue", "evt-odd")
