"""Fixtures for browser tests: one headless Chromium per module, and where screenshots go.

Screenshots are kept: under the session's pytest temporary directory (`<basetemp>/screenshots/`,
printed by the tests that write them) and, when RAPPORT_SCREENSHOT_DIR is set, there as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # selenium is imported when a test first asks for a browser
    from selenium import webdriver

SCREENSHOT_DIR_VARIABLE = "RAPPORT_SCREENSHOT_DIR"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    from tools.browser import ChromiumMissing, chromium

    try:
        with chromium() as driver:
            yield driver
    except ChromiumMissing as missing:
        pytest.fail(f"{missing} (`make test` does it)")


class Screenshots:
    """Writes a PNG under every screenshot directory and returns the paths written."""

    def __init__(self, directories: list[Path]) -> None:
        self.directories = directories
        for directory in directories:
            directory.mkdir(parents=True, exist_ok=True)

    def keep(self, name: str, png: bytes) -> list[Path]:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        paths = [directory / name for directory in self.directories]
        for path in paths:
            path.write_bytes(png)
        return paths


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    directories = [tmp_path_factory.getbasetemp() / "screenshots"]
    if os.environ.get(SCREENSHOT_DIR_VARIABLE):
        directories.append(Path(os.environ[SCREENSHOT_DIR_VARIABLE]))
    return Screenshots(directories)
