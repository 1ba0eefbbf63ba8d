"""``rapport member export|delete``: a member's data, all of it, out or gone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rapport.adapters.dynamodb.member_data import ErasureIncomplete, erase_member, export_member
from rapport_cli.aws_options import add_aws_arguments, apply_aws_arguments
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError, aws_problem, output_file

_EPILOG = """examples:
  rapport member export m-priya --table rapport-prod > m-priya.json
  rapport member export m-priya --table rapport-prod --out m-priya.json
  rapport member delete m-priya --table rapport-prod --yes

export lists the member's profile, the requests they sent and received, their digest records and
the quarantined payloads that name them; an id with no data at all is an error (exit status 2).
delete removes the member's requests, preferences, digest records and the quarantined payloads
that name them, takes their id, headline and words out of the requests they received (the sender
keeps the outcome, dates and reasons), then queries again to prove nothing is left.
"""


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "member",
        help="export or erase everything Rapport keeps about a member",
        epilog=_EPILOG,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="<action>")
    export = add_command(
        actions,
        "export",
        help="all of a member's data as JSON",
        epilog=_EPILOG,
    )
    export.add_argument("member_id", metavar="MEMBER", help="the member's id (case-sensitive)")
    add_aws_arguments(export)
    export.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    export.set_defaults(handler=_export)
    delete = add_command(
        actions,
        "delete",
        help="erase every item of a member",
        epilog=_EPILOG,
    )
    delete.add_argument("member_id", metavar="MEMBER", help="the member's id (case-sensitive)")
    add_aws_arguments(delete)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--json", action="store_true", help="print the result as JSON")
    delete.set_defaults(handler=_delete)


def _export(args: argparse.Namespace) -> int:
    if args.out:
        output_file(args.out)
    apply_aws_arguments(args)
    try:
        data = export_member(args.table, args.member_id)
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"cannot read the member's data: {aws_problem(exc)}") from None
    if not any(value for key, value in data.items() if key != "member_id"):
        # A mistyped id must not look like a member who has no data yet.
        raise UserError(
            f"no data about member {args.member_id!r} in table {args.table}; check the id "
            "(ids are case-sensitive) and the table"
        )
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _delete(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("refusing to delete without --yes when not run interactively")
        answer = input(f"Erase every item of member {args.member_id!r}? Type the id to confirm: ")
        if answer.strip() != args.member_id:
            raise UserError("not confirmed; nothing was deleted")
    try:
        erasure = erase_member(args.table, args.member_id)
    except ErasureIncomplete as exc:
        raise UserError(f"erasure incomplete: {exc}") from None
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"cannot erase the member's data: {aws_problem(exc)}") from None
    if args.json:
        result = {
            "member_id": args.member_id,
            "deleted_items": erasure.deleted,
            "redacted_items": erasure.redacted,
            "remaining": 0,
        }
        print(json.dumps(result))
    else:
        print(
            f"deleted {erasure.deleted} item(s) of {args.member_id} and redacted them from "
            f"{erasure.redacted} request(s) they received; a query afterwards found none"
        )
    return 0
