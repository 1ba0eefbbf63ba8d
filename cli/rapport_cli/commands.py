"""How every sub-command is declared, so each one's --help shows its examples as written."""

from __future__ import annotations

import argparse
from typing import Any


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
