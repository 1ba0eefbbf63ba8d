"""The stream generator: reproducible, valid, consistent, noisy as asked, and lazy."""

from __future__ import annotations

import functools
import itertools
import json
import math
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from rapport.contract import (
    PreferencesUpdated,
    RapportEvent,
    RequestDeclined,
    RequestEvent,
    RequestSent,
)
from rapport.errors import InvalidEvent
from rapport.validation import parse_event
from rapport_cli import generate_cmd
from rapport_cli.generator import (
    DECLINE_PHRASES,
    MAX_DISPLACEMENT,
    GeneratedLine,
    GenerationStats,
    GeneratorConfig,
    generate,
    horizon,
)
from rapport_cli.main import main

NOISY = GeneratorConfig(
    members=40, weeks=5, seed=11, duplicate_rate=0.05, reorder_rate=0.1, malformed_rate=0.03
)


#: A stream the size of real traffic: generated and parsed once, for the tests of its shape.
TRAFFIC = GeneratorConfig(members=150, weeks=6, seed=8)


@functools.cache
def traffic() -> tuple[tuple[GeneratedLine, ...], tuple[RapportEvent, ...]]:
    lines = tuple(generate(TRAFFIC))
    return lines, tuple(parse_event(line.text) for line in lines if line.kind == "event")


def by_request(events: Sequence[RapportEvent]) -> dict[tuple[str, str], list[RequestEvent]]:
    grouped: dict[tuple[str, str], list[RequestEvent]] = defaultdict(list)
    for event in events:
        if not isinstance(event, PreferencesUpdated):
            grouped[(event.data.sender_id, event.data.request_id)].append(event)
    return grouped


def answers_of(request_events: list[RequestEvent]) -> list[RequestEvent]:
    """A request's answers in time order (normally one at most)."""
    answers = [event for event in request_events if not isinstance(event, RequestSent)]
    return sorted(answers, key=lambda event: event.time)


def kind(event: RapportEvent) -> str:
    return event.type.rsplit(".", 1)[1]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    outputs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        out = tmp_path / f"{name}.jsonl"
        args = ["generate", "--members", "8", "--weeks", "3", "--seed", seed, "--out", str(out)]
        assert main([*args, "--duplicates", "0.1", "--reorder", "0.1", "--malformed", "0.1"]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    assert outputs[0].count(b"\n") > 100


def test_every_line_but_the_malformed_ones_is_a_contract_event() -> None:
    kinds: Counter[str] = Counter()
    for line in generate(NOISY):
        kinds[line.kind] += 1
        if line.kind == "malformed":
            with pytest.raises(InvalidEvent):
                parse_event(line.text)
        else:
            parse_event(line.text)
    assert kinds["malformed"] > 0
    assert kinds["duplicate"] > 0


def test_rates_are_roughly_respected_and_the_stats_match_the_lines() -> None:
    stats = GenerationStats()
    lines = list(generate(NOISY, stats))
    kinds = Counter(line.kind for line in lines)
    assert (kinds["event"], kinds["duplicate"], kinds["malformed"]) == (
        stats.events,
        stats.duplicates,
        stats.malformed,
    )
    assert stats.lines == len(lines)
    for count, rate in (
        (stats.duplicates, NOISY.duplicate_rate),
        (stats.reordered, NOISY.reorder_rate),
        (stats.malformed, NOISY.malformed_rate),
    ):
        expected = stats.events * rate
        assert abs(count - expected) < 4 * math.sqrt(expected), (count, expected)
    first_seen: dict[str, int] = {}
    for index, line in enumerate(lines):
        if line.kind == "event":
            assert line.text not in first_seen  # ids are unique: no event repeats by chance
            first_seen[line.text] = index
        elif line.kind == "duplicate":
            assert first_seen[line.text] < index  # a redelivery comes after the original


def test_without_noise_there_are_no_duplicates_reordering_or_bad_lines() -> None:
    quiet = GeneratorConfig(members=NOISY.members, weeks=NOISY.weeks, seed=NOISY.seed)
    stats = GenerationStats()
    lines = list(generate(quiet, stats))
    assert {line.kind for line in lines} == {"event"}
    assert stats.duplicates == stats.reordered == stats.malformed == 0
    seen_sent: set[tuple[str, str]] = set()
    for line in lines:
        event = parse_event(line.text)
        if isinstance(event, PreferencesUpdated):
            continue
        key = (event.data.sender_id, event.data.request_id)
        if isinstance(event, RequestSent):
            seen_sent.add(key)
        else:
            assert key in seen_sent, "an answer came before its request without reordering"


def test_noise_only_moves_lines_a_few_places_and_adds_copies() -> None:
    quiet = GeneratorConfig(members=NOISY.members, weeks=NOISY.weeks, seed=NOISY.seed)
    reference = {line.text: index for index, line in enumerate(generate(quiet))}
    reordered = GeneratorConfig(
        members=NOISY.members, weeks=NOISY.weeks, seed=NOISY.seed, reorder_rate=0.3
    )
    moved = [line.text for line in generate(reordered)]
    assert sorted(moved) == sorted(reference)
    displacements = [index - reference[text] for index, text in enumerate(moved)]
    assert max(map(abs, displacements)) <= MAX_DISPLACEMENT
    answers_first = 0
    seen: set[str] = set()
    for text in moved:
        event = json.loads(text)
        if event["type"].endswith(".sent"):
            seen.add(event["data"]["request_id"] + event["data"]["sender_id"])
        elif "request_id" in event["data"]:
            key = event["data"]["request_id"] + event["data"]["sender_id"]
            answers_first += key not in seen
    assert answers_first > 0  # e.g. a decline that arrives before its sent event


def test_outcomes_are_consistent() -> None:
    config = GeneratorConfig(members=60, weeks=6, seed=3)
    stats = GenerationStats()
    events = [parse_event(line.text) for line in generate(config, stats)]
    end = horizon(config)
    assert all(event.time <= end for event in events)
    races = 0
    for key, request_events in by_request(events).items():
        sent = [event for event in request_events if isinstance(event, RequestSent)]
        answers = answers_of(request_events)
        assert len(sent) == 1, key
        assert all(answer.time > sent[0].time for answer in answers), key
        if len(answers) == 2:  # the documented race: a withdrawal seconds after the acceptance
            races += 1
            assert [kind(answer) for answer in answers] == ["accepted", "withdrawn"]
            assert answers[1].time - answers[0].time <= timedelta(seconds=30)
        else:
            assert len(answers) <= 1, key
    assert races == stats.races
    assert stats.requests == len(by_request(events))


def test_the_stream_looks_like_real_traffic() -> None:
    lines, events = traffic()
    requests = by_request(events)
    outcome_types = Counter(
        kind(answers[0]) if (answers := answers_of(request_events)) else "unanswered"
        for request_events in requests.values()
    )
    assert set(outcome_types) == {"accepted", "declined", "withdrawn", "expired", "unanswered"}
    assert 0.2 < outcome_types["accepted"] / len(requests) < 0.45

    # members in several timezones, each with preferences before their first request
    zones = Counter(json.loads(line.text)["data"].get("timezone") for line in lines)
    assert len(zones) - 1 >= 6
    first_seen: dict[str, str] = {}
    for event in sorted(events, key=lambda event: event.time):
        first_seen.setdefault(event.data.owner, event.type)
    assert set(first_seen.values()) == {"rapport.member.preferences_updated"}

    # decline notes cover every reason of the phrase bank, and some declines have no note
    notes = [event.data.note for event in events if isinstance(event, RequestDeclined)]
    phrases = {reason: [p.split("{")[0] for p in bank] for reason, bank in DECLINE_PHRASES.items()}
    covered = {
        reason
        for note in notes
        if note
        for reason, starts in phrases.items()
        if any(start and start in note for start in starts)
    }
    assert covered == set(DECLINE_PHRASES)
    assert None in notes


def test_acceptance_depends_on_prior_interaction() -> None:
    _, events = traffic()
    accepted: dict[str, list[bool]] = defaultdict(list)
    for request_events in by_request(events).values():
        sent = next(event for event in request_events if isinstance(event, RequestSent))
        answered = {kind(event) for event in request_events}
        accepted[sent.data.context.prior_interaction].append("accepted" in answered)
    rate = {prior: sum(flags) / len(flags) for prior, flags in accepted.items()}
    assert rate["met_in_person"] > rate["none"] + 0.2


def test_the_generator_is_lazy_and_its_memory_bounded() -> None:
    huge = GeneratorConfig(members=200_000, weeks=52, seed=1, duplicate_rate=0.1, reorder_rate=0.1)
    stats = GenerationStats()
    first = list(itertools.islice(generate(huge, stats), 2_000))
    assert len(first) == 2_000
    assert stats.members < 100  # stopped long before 200,000 members

    tracemalloc.start()
    try:
        produced = sum(len(line.text) for line in itertools.islice(generate(huge), 5_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < produced / 2  # holding the lines would take more than all of their text


def test_the_command_writes_to_stdout_and_summarises_on_stderr(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    args = ["generate", "--members", "3", "--weeks", "2", "--seed", "1", "--start", "2027-01-04"]
    assert main(args) == 0
    captured = capsysbinary.readouterr()
    lines = captured.out.decode().splitlines()
    expected = [
        line.text
        for line in generate(GeneratorConfig(members=3, weeks=2, seed=1, start=date(2027, 1, 4)))
    ]
    assert lines == expected
    assert captured.err.decode().startswith(f"wrote {len(lines)} line(s): {len(lines)} events")


@pytest.mark.parametrize(
    ("flag", "value", "complaint"),
    [
        ("--duplicates", "1.5", "is not a rate between 0 and 1"),
        ("--members", "0", "must be at least 1"),
        ("--start", "05/10/2026", "is not a date like 2026-10-05"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(
    flag: str, value: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args: dict[str, Any] = {"--members": "2", "--weeks": "1", "--seed": "1", flag: value}
    with pytest.raises(SystemExit) as exited:
        main(["generate", *itertools.chain.from_iterable(args.items())])
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_writing_a_file_shows_the_expected_size_then_renames_it_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stream.jsonl"
    assert (
        main(["generate", "--members", "30", "--weeks", "2", "--seed", "4", "--out", str(out)]) == 0
    )
    err = capsys.readouterr().err
    expected = generate_cmd.expected_bytes(GeneratorConfig(members=30, weeks=2, seed=4))
    assert err.startswith(f"writing {out}: about {expected / 1_000_000:,.1f} MB\n")
    assert "generating" in err  # the progress bar
    assert abs(out.stat().st_size - expected) < 0.25 * expected  # extrapolated from 20 members
    assert not (tmp_path / "stream.jsonl.partial").exists()


def test_an_interrupted_file_is_removed_and_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stream.jsonl"
    out.write_text("an earlier file\n")

    def interrupted(config: GeneratorConfig, stats: Any = None) -> Iterator[Any]:
        yield from itertools.islice(generate(config, stats), 5)
        raise KeyboardInterrupt  # Ctrl-C after five lines

    monkeypatch.setattr(generate_cmd, "expected_bytes", lambda _config: 1000)
    monkeypatch.setattr(generate_cmd, "generate", interrupted)
    assert (
        main(["generate", "--members", "3", "--weeks", "2", "--seed", "1", "--out", str(out)])
        == 130
    )
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"rapport generate: interrupted: {out} not written (the partial file is removed)"
    )
    assert out.read_text() == "an earlier file\n"
    assert list(tmp_path.iterdir()) == [out]
