"""``rapport preview``: render one member's digest for one week from an events file, no AWS."""

from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from rapport.contract import PreferencesUpdated, RapportEvent, RequestEvent
from rapport.digest.insights import build_insights
from rapport.digest.render import render_digest
from rapport.digest.schedule import week_bounds
from rapport.identity import event_key
from rapport.validation import InvalidEvent, parse_event
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError
from rapport_cli.local.digests import file_stem
from rapport_cli.local.publisher import InputLine, PublishResult, read_lines

_EPILOG = """examples:
  rapport preview --events events/streams/demo.jsonl --member m-priya --week 2026-11-09
  rapport preview --events events.jsonl --member m-1 --week 2026-11-09 --out /tmp/previews

The week is the Monday that starts it, in the member's timezone. Invalid lines and repeated
events are skipped, as the pipeline would quarantine or ignore them.
"""
PREVIEW_LINK = "https://unsubscribe.invalid/preview"


def _monday(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-09") from None
    if day.weekday() != 0:
        raise argparse.ArgumentTypeError(f"{text} is a {day:%A}; weeks start on Monday")
    return day


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "preview",
        help="render one member's weekly digest from an events file",
        epilog=_EPILOG,
    )
    parser.add_argument("--events", required=True, type=Path, action="append", metavar="FILE")
    parser.add_argument("--member", required=True, metavar="MEMBER_ID")
    parser.add_argument("--week", required=True, type=_monday, metavar="YYYY-MM-DD")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR")
    parser.set_defaults(handler=_run)


def _member_events(paths: list[Path], member: str) -> list[RapportEvent]:
    """The member's valid events, each (source, id) once: what the pipeline would have stored."""
    seen: set[str] = set()
    events = []
    for item in read_lines(paths, PublishResult()):
        if not isinstance(item, InputLine):
            continue
        try:
            event = parse_event(item.text)
        except InvalidEvent:
            continue
        owner = (
            event.data.member_id if isinstance(event, PreferencesUpdated) else event.data.sender_id
        )
        if owner == member and event_key(event) not in seen:
            seen.add(event_key(event))
            events.append(event)
    return events


def _run(args: argparse.Namespace) -> int:
    missing = [str(path) for path in args.events if not path.is_file()]
    if missing:
        raise UserError(f"no such events file: {', '.join(missing)}")
    events = _member_events(args.events, args.member)
    if not events:
        raise UserError(f"no valid events of member {args.member!r} in the input")
    preferences = [event for event in events if isinstance(event, PreferencesUpdated)]
    timezone = (
        max(preferences, key=lambda event: event.time).data.timezone if preferences else "UTC"
    )
    requests: dict[str, list[RequestEvent]] = defaultdict(list)
    for event in events:
        if not isinstance(event, PreferencesUpdated):
            requests[event.data.request_id].append(event)
    _, week_end = week_bounds(args.week, timezone)
    insights = build_insights(args.member, list(requests.values()), args.week, timezone, week_end)
    rendered = render_digest(insights, timezone, PREVIEW_LINK)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(args.member, args.week.isoformat())
    (args.out / f"{stem}.html").write_text(rendered.html, encoding="utf-8")
    (args.out / f"{stem}.txt").write_text(rendered.text, encoding="utf-8")
    print(args.out / f"{stem}.html")
    return 0
