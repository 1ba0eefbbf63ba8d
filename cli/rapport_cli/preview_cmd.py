"""``rapport preview``: render one member's digest for one week from an events file, no AWS."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from rapport.contract import PreferencesUpdated, RapportEvent, RequestEvent
from rapport.digest.compose import compose_digest
from rapport.digest.schedule import DigestSchedule, scheduled_run_for
from rapport.errors import InvalidEvent
from rapport.identity import event_key
from rapport.timeutil import iso_utc
from rapport.validation import parse_event
from rapport_cli.commands import add_command, instant
from rapport_cli.errors import UserError, input_files, output_dir
from rapport_cli.jsonl import InputLines, require_json_lines
from rapport_cli.local.digests import file_stem

_EPILOG = """examples:
  rapport preview --events events/streams/demo.jsonl --member m-priya --week 2026-11-09
  rapport preview --events events.jsonl --member m-1 --week 2026-11-09 --out /tmp/previews
  rapport preview --events events/streams/demo.jsonl --member m-priya --week 2026-11-09 \\
      --now 2026-11-16T18:00:00Z --first-digest    # the digest `make demo` sends

The week is the Monday that starts it, in the member's timezone. Invalid lines and repeated
events are skipped, as the pipeline would quarantine or ignore them. The digest is built by the
same function send_digest uses; only the unsubscribe link differs (a placeholder here).
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
        description=(
            "Render the digest one member would get for one week from JSONL event files, "
            "without AWS: <member>_<week>.html and .txt in --out, the HTML file's path on stdout."
        ),
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--events",
        required=True,
        type=Path,
        action="append",
        metavar="FILE",
        help="a JSONL file of CloudEvents, one per line (repeatable)",
    )
    parser.add_argument("--member", required=True, metavar="MEMBER_ID", help="whose digest")
    parser.add_argument(
        "--week",
        required=True,
        type=_monday,
        metavar="YYYY-MM-DD",
        help="the Monday that starts the week, in the member's timezone",
    )
    parser.add_argument(
        "--now",
        type=instant,
        metavar="ISO8601",
        help=(
            "the instant the digest is built at (default: the hourly scheduler run that sends "
            "it, from the member's digest day and hour)"
        ),
    )
    parser.add_argument(
        "--first-digest",
        action="store_true",
        help="render it as the member's first digest, with the welcome note",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="where <member>_<week>.html and .txt are written (default: out)",
    )
    parser.set_defaults(handler=_run)


def _member_events(paths: list[Path], member: str) -> list[RapportEvent]:
    """The member's valid events, each (source, id) once: what the pipeline would have stored."""
    seen: set[str] = set()
    events = []
    for line in InputLines(paths):
        if line.encoding_error is not None:
            continue
        try:
            event = parse_event(line.text)
        except InvalidEvent:
            continue
        if event.data.owner == member and event_key(event) not in seen:
            seen.add(event_key(event))
            events.append(event)
    return events


def _run(args: argparse.Namespace) -> int:
    for path in input_files(args.events, "--events"):
        require_json_lines(path)
    output_dir(args.out)
    events = _member_events(args.events, args.member)
    if not events:
        raise UserError(f"no valid events of member {args.member!r} in the input")
    preferences = [event for event in events if isinstance(event, PreferencesUpdated)]
    latest = max(preferences, key=lambda event: event.time).data if preferences else None
    schedule = (
        DigestSchedule(latest.timezone, latest.digest_day, latest.digest_hour)
        if latest is not None
        else DigestSchedule("UTC", "monday", 8)
    )
    requests: dict[str, list[RequestEvent]] = defaultdict(list)
    for event in events:
        if not isinstance(event, PreferencesUpdated):
            requests[event.data.request_id].append(event)
    as_of = args.now or scheduled_run_for(schedule, args.week)
    digest = compose_digest(
        args.member,
        list(requests.values()),
        args.week,
        schedule.timezone,
        as_of,
        unsubscribe_url=PREVIEW_LINK,
        first_digest=args.first_digest,
    )
    stem = file_stem(args.member, args.week.isoformat())
    (args.out / f"{stem}.html").write_text(digest.rendered.html, encoding="utf-8")
    (args.out / f"{stem}.txt").write_text(digest.rendered.text, encoding="utf-8")
    print(f"as of {iso_utc(as_of)}, {schedule.timezone}", file=sys.stderr)
    print(args.out / f"{stem}.html")
    return 0
