"""``rapport quarantine list|show``: what was rejected, why, and the original payload."""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rapport.adapters.dynamodb.quarantine import get_quarantined, list_quarantined, mark_redriven
from rapport_cli.aws_options import add_aws_arguments, apply_aws_arguments, http_url
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError, aws_problem, input_files
from rapport_cli.jsonl import json_line
from rapport_cli.publisher import PublishError, publish

_EPILOG = """examples:
  rapport quarantine list --table rapport-prod
  rapport quarantine list --table rapport-prod --since 2026-11-20 --json
  rapport quarantine show '2026-11-26T13:00:52.271000Z#3155ec2d-…' --table rapport-prod
  rapport quarantine redrive '<id>' --table rapport-prod --queue-url <queue url> --fixed ok.json

A redriven event is validated against the contract before it is sent; it keeps its id, which
is free because the invalid original was never stored. Each quarantined event is redriven once.
"""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-26") from None


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "quarantine",
        help="list and inspect quarantined events",
        description="Events that can never be applied are quarantined with a reason, not retried.",
        epilog=_EPILOG,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="<action>")
    listing = add_command(
        actions,
        "list",
        help="quarantined events per day (UTC), oldest first",
        epilog=_EPILOG,
    )
    add_aws_arguments(listing)
    listing.add_argument(
        "--since", type=_day, metavar="DATE", help="first day (default: 6 days ago)"
    )
    listing.add_argument("--until", type=_day, metavar="DATE", help="last day (default: today)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_list)
    show = add_command(
        actions,
        "show",
        help="one quarantined event with its original payload",
        epilog=_EPILOG,
    )
    show.add_argument("quarantine_id", metavar="ID", help="a quarantine id, from list")
    add_aws_arguments(show)
    show.set_defaults(handler=_show)
    redrive = add_command(
        actions,
        "redrive",
        help="send a quarantined event again, as it was or fixed, once it passes the contract",
        epilog=_EPILOG,
    )
    redrive.add_argument("quarantine_id", metavar="ID", help="a quarantine id, from list")
    add_aws_arguments(redrive)
    redrive.add_argument(
        "--queue-url", required=True, type=http_url, metavar="URL", help="the events queue"
    )
    redrive.add_argument(
        "--fixed", type=Path, metavar="FILE", help="send this corrected event instead"
    )
    redrive.set_defaults(handler=_redrive)


def _list(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    until = args.until or datetime.now(UTC).date()
    since = args.since or until - timedelta(days=6)
    if since > until:
        raise UserError("--since is after --until")
    count = 0
    try:
        day = since
        while day <= until:
            for record in list_quarantined(args.table, day):
                count += 1
                if args.json:
                    print(json_line(dataclasses.asdict(record)))
                else:
                    print(f"{record.quarantine_id}  {record.error_code:<24} {record.message}")
            day += timedelta(days=1)
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"cannot read the quarantine: {aws_problem(exc)}") from None
    if not args.json:
        print(f"{count} quarantined event(s) from {since} to {until}")
    return 0


def _show(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    try:
        record = get_quarantined(args.table, args.quarantine_id)
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"cannot read the quarantine: {aws_problem(exc)}") from None
    if record is None:
        raise UserError(f"no quarantined event with id {args.quarantine_id!r}")
    print(json.dumps(dataclasses.asdict(record), indent=2, ensure_ascii=False))
    return 0


def _redrive(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    try:
        record = get_quarantined(args.table, args.quarantine_id)
        if record is None:
            raise UserError(f"no quarantined event with id {args.quarantine_id!r}")
        if record.redriven_at:
            raise UserError(f"already redriven at {record.redriven_at}")
        if args.fixed:
            input_files([args.fixed], "--fixed")
        payload = args.fixed.read_text(encoding="utf-8").strip() if args.fixed else record.payload
        publish([payload], args.queue_url)
        mark_redriven(args.table, args.quarantine_id, datetime.now(UTC))
    except PublishError as exc:
        raise UserError(f"not sent: {exc}") from None
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"redrive failed: {aws_problem(exc)}") from None
    print(f"sent {args.quarantine_id} to {args.queue_url}")
    return 0
