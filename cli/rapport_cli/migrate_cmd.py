"""``rapport migrate history-index``: give request items written before the history index the
attribute it sorts by, so digests read them (docs/data-model.md, "Migration")."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rapport.adapters.dynamodb.backfill import BackfillProgress, backfill_events_until
from rapport_cli.aws_options import add_aws_arguments, apply_aws_arguments
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError, aws_problem

_EPILOG = """examples:
  rapport migrate history-index --table rapport-prod
  rapport migrate history-index --table rapport-prod --json

Scans the table once (an operator's one-off: no other path scans) and sets events_until on each
request item that lacks it, to the latest time of its events. Safe to run while events arrive,
and again: an item that has the attribute is left alone, so a second run updates nothing.
Progress goes to stderr after each page; the totals to stdout.
"""


def register(commands: Any) -> None:
    parser = add_command(
        commands, "migrate", help="one-off data migrations of a deployed table", epilog=_EPILOG
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="<migration>")
    history = add_command(
        actions,
        "history-index",
        help="backfill events_until on request items written before the history index",
        epilog=_EPILOG,
    )
    add_aws_arguments(history)
    history.add_argument("--json", action="store_true", help="print the totals as JSON")
    history.set_defaults(handler=_history_index)


def _history_index(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    totals = BackfillProgress(0, 0, 0, 0)
    try:
        for totals in backfill_events_until(args.table):
            print(
                f"scanned {totals.scanned} item(s): {totals.updated} updated, "
                f"{totals.raced} set or removed meanwhile",
                file=sys.stderr,
            )
    except (ClientError, BotoCoreError) as exc:
        raise UserError(
            f"cannot backfill (rerun to continue where it stopped): {aws_problem(exc)}"
        ) from None
    if args.json:
        print(
            json.dumps(
                {"scanned": totals.scanned, "updated": totals.updated, "raced": totals.raced}
            )
        )
    else:
        print(
            f"{totals.updated} request item(s) given events_until "
            f"({totals.raced} set by a new event or removed meanwhile) of {totals.scanned} scanned"
        )
    return 0
