"""The ``rapport`` command: one entry point, one module per sub-command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from rapport_cli import (
    classify_cmd,
    dlq_cmd,
    generate_cmd,
    member_cmd,
    migrate_cmd,
    preview_cmd,
    quarantine_cmd,
    run_cmd,
    schema_cmd,
    send_cmd,
)
from rapport_cli.errors import UserError, aws_problem, os_problem

_EPILOG = """examples:
  rapport run --events events/streams/demo.jsonl --out out/demo --now 2026-11-16T18:00:00Z
  rapport generate --members 20 --weeks 8 --seed 7 --out stream.jsonl
  rapport preview --events stream.jsonl --member m-1 --week 2026-11-09
  rapport classify < notes.jsonl
  rapport quarantine list --table rapport-prod
  rapport <command> --help
  rapport --debug <command> …   # a traceback instead of a one-line error
"""


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line naming it and where to read more, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rapport",
        description="Learn from the outcomes of your networking connection requests.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, for a bug report"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    run_cmd.register(commands)
    classify_cmd.register(commands)
    schema_cmd.register(commands)
    quarantine_cmd.register(commands)
    send_cmd.register(commands)
    generate_cmd.register(commands)
    preview_cmd.register(commands)
    member_cmd.register(commands)
    dlq_cmd.register(commands)
    migrate_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sub-command. The one error path of the CLI: whatever goes wrong is one line on
    stderr and a non-zero exit (2 for what the user can fix, 1 for a bug, 130 for Ctrl-C);
    ``--debug`` shows the traceback instead."""
    args = build_parser().parse_args(argv)
    prefix = f"rapport {args.command}"
    try:
        return int(args.handler(args))
    except KeyboardInterrupt as exc:
        detail = f": {exc}" if str(exc) else ""
        print(f"{prefix}: interrupted{detail}", file=sys.stderr)
        return 130
    except (UserError, OSError, BotoCoreError, ClientError) as exc:
        if args.debug:
            raise
        print(f"{prefix}: error: {_problem(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"{prefix}: internal error: {type(exc).__name__}: {exc} "
            "(rapport --debug shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _problem(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return os_problem(exc)
    if isinstance(exc, BotoCoreError | ClientError):
        return aws_problem(exc)
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
