"""``rapport classify``: reason classification of JSONL notes on stdin (placeholder wiring)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "classify",
        help="classify why requests were declined (JSONL on stdin)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=lambda _args: 0)
