"""Whole `rapport run`s shared by the tests that read them, made once per test session.

Under pytest-xdist every worker would otherwise repeat a module's run; a file lock in the
session's shared temporary directory lets the first worker run it and the others read its
outputs (everything a run produces is on disk).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def shared_dir(factory: pytest.TempPathFactory) -> Path:
    base = factory.getbasetemp()
    # Each xdist worker has its own basetemp inside the session's directory.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """``make(directory)`` once per session; every caller gets the same directory."""
    root = shared_dir(factory)
    directory = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (directory / ".done").exists():
                directory.mkdir(parents=True, exist_ok=True)
                make(directory)
                (directory / ".done").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return directory


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
