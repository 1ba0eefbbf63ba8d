"""The ``rapport`` command: one entry point, one module per sub-command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rapport_cli import (
    classify_cmd,
    dlq_cmd,
    generate_cmd,
    member_cmd,
    preview_cmd,
    quarantine_cmd,
    run_cmd,
    schema_cmd,
    send_cmd,
)
from rapport_cli.errors import UserError

_EPILOG = """examples:
  rapport run --events events/streams/demo.jsonl --out out/demo --now 2026-11-16T18:00:00Z
  rapport generate --members 20 --weeks 8 --seed 7 --out stream.jsonl
  rapport preview --events stream.jsonl --member m-1 --week 2026-11-09
  rapport classify < notes.jsonl
  rapport quarantine list --table rapport-prod
  rapport <command> --help
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rapport",
        description="Learn from the outcomes of your networking connection requests.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sub-command; a user error is one line on stderr and exit code 2, not a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UserError as exc:
        print(f"rapport {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rapport {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
