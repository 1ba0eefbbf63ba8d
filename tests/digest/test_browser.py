"""The rendered digest in a real headless Chromium: it draws, and shows figures and notes as text.

Chromium comes from Debian (`make test` installs it when missing); no test tool downloads one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.insights import build_insights
from rapport.digest.render import render_digest
from rapport.validation import parse_event
from tests.support.events import answer, body, sent

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCRIPT_NOTE = "<script>alert(1)</script> I only connect with people I've met in person"
IMAGE_NOTE = "<img src=x onerror=alert(2)> Have we met?"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.fail(
            "Chromium is missing: `make test` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=800,2400",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _digest_file(directory: Path) -> Path:
    raw = [
        sent("r1", at=datetime(2026, 11, 2, 10, tzinfo=UTC)),
        answer("declined", "r1", at=datetime(2026, 11, 3, 10, tzinfo=UTC), note=SCRIPT_NOTE),
        sent("r2", at=datetime(2026, 11, 4, 10, tzinfo=UTC)),
        answer("declined", "r2", at=datetime(2026, 11, 5, 10, tzinfo=UTC), note=IMAGE_NOTE),
        sent("r3", at=datetime(2026, 11, 4, 11, tzinfo=UTC)),
        answer("accepted", "r3", at=datetime(2026, 11, 6, 10, tzinfo=UTC)),
    ]
    events = [parse_event(body(event)) for event in raw]
    requests: dict[str, list[RequestEvent]] = {}
    for event in events:
        if not isinstance(event, PreferencesUpdated):
            requests.setdefault(event.data.request_id, []).append(event)
    insights = build_insights(
        "m-dana",
        list(requests.values()),
        date(2026, 11, 2),
        "UTC",
        datetime(2026, 11, 9, 9, tzinfo=UTC),
        first_digest=True,
    )
    path = directory / "digest.html"
    path.write_text(render_digest(insights, "UTC", "https://u.example/?token=t").html, "utf-8")
    return path


def test_the_digest_renders_with_its_figures_and_notes_as_text(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(_digest_file(tmp_path).as_uri())
    screenshot = tmp_path / "digest.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000

    visible = browser.find_element(By.TAG_NAME, "body").text
    assert "3 requests sent, 1 accepted this week" in visible
    for figure, label in (("3", "sent"), ("1", "accepted"), ("2", "declined")):
        assert f"{figure}\n{label}" in visible
    assert "Welcome to Rapport" in visible
    assert "<script>alert(1)</script>" in visible
    assert "<img src=x onerror=alert(2)>" in visible
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert browser.find_elements(By.TAG_NAME, "img") == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is how Selenium probes for one
