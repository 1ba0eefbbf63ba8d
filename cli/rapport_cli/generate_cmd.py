"""``rapport generate``: write a realistic, reproducible JSONL stream of events."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from rapport_cli.commands import add_command
from rapport_cli.errors import UserError
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
A summary (lines, events, duplicates, malformed) goes to stderr.
"""


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
        try:
            with args.out.open("wb") as sink:
                _write(config, stats, sink)
        except OSError as exc:
            raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(
        f"wrote {stats.lines} line(s): {stats.events} events ({stats.requests} requests from "
        f"{stats.members} members, {stats.races} accept/withdraw races), {stats.duplicates} "
        f"duplicates, {stats.reordered} reordered, {stats.malformed} malformed",
        file=sys.stderr,
    )
    return 0


def _write(config: GeneratorConfig, stats: GenerationStats, sink: BinaryIO) -> None:
    for line in generate(config, stats):
        sink.write(line.text.encode("utf-8") + b"\n")
    sink.flush()
