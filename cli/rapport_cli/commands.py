"""How every sub-command is declared, so each one's --help shows its examples as written."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from rapport.contract import parse_rfc3339


def add_command(
    commands: Any, name: str, *, help: str, epilog: str, description: str | None = None
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def instant(text: str) -> datetime:
    """An argument type: an RFC 3339 instant with its offset, as events carry them."""
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 instant with an offset"
        ) from exc
