"""``rapport generate``: write a realistic, reproducible JSONL stream of events."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from rapport_cli.commands import add_command
from rapport_cli.errors import output_file
from rapport_cli.generator import (
    DEFAULT_START,
    MAX_DISPLACEMENT,
    GenerationStats,
    GeneratorConfig,
    generate,
)

_EPILOG = f"""examples:
  rapport generate --members 6 --weeks 6 --seed 1 --out out/small.jsonl
  rapport generate --members 50 --weeks 4 --seed 7 --duplicates 0.02 --reorder 0.05 \\
      --malformed 0.01 --out out/noisy.jsonl && rapport run --events out/noisy.jsonl --out out/noisy
  rapport generate --members 12000 --weeks 8 --seed 42 | gzip > million.jsonl.gz  # ~1M events

The same arguments always give byte-identical output. Rates are per event:
  --duplicates 0.02  re-delivers about 2% of events (an identical line, up to {MAX_DISPLACEMENT}
                     lines later)
  --reorder 0.05     moves about 5% of events up to {MAX_DISPLACEMENT} lines later, so an answer can
                     arrive before its request
  --malformed 0.01   adds about one line the contract rejects per 100 events
Events after the end of the last week are left out, so late answers leave requests pending.
A summary (lines, events, duplicates, malformed) goes to stderr; with --out, so do the
expected size and a progress bar. The file appears only when complete: until then it is
FILE.partial, removed if generation is interrupted.
"""
#: Members generated up front to estimate the size of the whole file.
_SAMPLE_MEMBERS = 20
#: Lines written between two progress updates.
_PROGRESS_LINES = 1000


def _count(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate between 0 and 1")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-10-05") from None


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "generate",
        help="write a realistic, reproducible JSONL stream of events",
        description=(
            "Generate members in several timezones with their preferences, their connection "
            "requests week by week and the answers (accepted, declined with or without a note, "
            "withdrawn, expired, unanswered), streamed so any size fits in memory."
        ),
        epilog=_EPILOG,
    )
    parser.add_argument("--members", type=_count, required=True, metavar="N", help="members")
    parser.add_argument("--weeks", type=_count, required=True, metavar="W", help="weeks of traffic")
    parser.add_argument(
        "--seed", type=_integer, required=True, metavar="S", help="same seed, same bytes"
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="output file (default: stdout)")
    parser.add_argument(
        "--start",
        type=_day,
        default=DEFAULT_START,
        metavar="YYYY-MM-DD",
        help=f"first day of the first week (default: {DEFAULT_START})",
    )
    for flag, what in (
        ("--duplicates", "share of events delivered twice"),
        ("--reorder", "share of events displaced a few lines later"),
        ("--malformed", "malformed lines per event"),
    ):
        parser.add_argument(flag, type=_rate, default=0.0, metavar="RATE", help=what)
    parser.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    config = GeneratorConfig(
        members=args.members,
        weeks=args.weeks,
        seed=args.seed,
        start=args.start,
        duplicate_rate=args.duplicates,
        reorder_rate=args.reorder,
        malformed_rate=args.malformed,
    )
    stats = GenerationStats()
    if args.out is None:
        try:
            _write(config, stats, sys.stdout.buffer)
        except BrokenPipeError:  # `rapport generate … | head`: the reader has had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    else:
        _write_file(config, stats, output_file(args.out))
    print(
        f"wrote {stats.lines} line(s): {stats.events} events ({stats.requests} requests from "
        f"{stats.members} members, {stats.races} accept/withdraw races), {stats.duplicates} "
        f"duplicates, {stats.reordered} reordered, {stats.malformed} malformed",
        file=sys.stderr,
    )
    return 0


def _write(
    config: GeneratorConfig,
    stats: GenerationStats,
    sink: BinaryIO,
    progress: Callable[[int], None] = lambda _bytes: None,
) -> None:
    """Every line into ``sink``; ``progress`` gets the bytes written every few lines."""
    written = 0
    for number, line in enumerate(generate(config, stats), start=1):
        written += sink.write(line.text.encode("utf-8") + b"\n")
        if number % _PROGRESS_LINES == 0:
            progress(written)
    sink.flush()
    progress(written)


def expected_bytes(config: GeneratorConfig) -> int:
    """The file's size, extrapolated from its first members (the same bytes the file starts
    with: each member's events depend on the seed and its index alone)."""
    sample = dataclasses.replace(config, members=min(config.members, _SAMPLE_MEMBERS))
    size = sum(len(line.text.encode("utf-8")) + 1 for line in generate(sample))
    return size * config.members // sample.members


def _write_file(config: GeneratorConfig, stats: GenerationStats, path: Path) -> None:
    """Write to ``path`` with the expected size and a progress bar on stderr. The lines go to
    ``<path>.partial``, renamed when complete, so an interrupted run leaves no truncated file
    that looks whole (and an existing ``path`` stays as it was)."""
    partial = path.with_name(path.name + ".partial")
    console = Console(stderr=True)
    expected = expected_bytes(config)
    console.print(f"writing {path}: about {_megabytes(expected)}", soft_wrap=True)
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("generating", total=expected)

        def advance(written: int) -> None:
            bar.update(task, completed=written, total=max(expected, written))

        try:
            with partial.open("wb") as sink:
                _write(config, stats, sink, advance)
            partial.replace(path)
        except KeyboardInterrupt:
            partial.unlink(missing_ok=True)
            raise KeyboardInterrupt(f"{path} not written (the partial file is removed)") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        bar.update(task, total=bar.tasks[0].completed)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
