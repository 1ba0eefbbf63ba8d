"""The rendered digest in a real headless Chromium: it draws, shows figures and notes as text, fits
a phone's screen and a desktop's without sideways scrolling, and stays legible in dark mode.

Chromium comes from Debian (`make test` installs it when missing); no test tool downloads one.
Phones are emulated devices (tools/browser.py), not narrow windows: headless Chromium lays a
window out at 500 px at least. Screenshots are kept (tests/support/browser.py says where).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from rapport.contract import PreferencesUpdated, RequestEvent
from rapport.digest.insights import build_insights
from rapport.digest.render import render_digest
from rapport.validation import parse_event
from tests.support.browser import Screenshots
from tests.support.events import answer, body, sent
from tools.browser import DESKTOP, PHONE, Screen, fit, full_page_png, show

SCRIPT_NOTE = "<script>alert(1)</script> I only connect with people I've met in person"
IMAGE_NOTE = "<img src=x onerror=alert(2)> Have we met?"
#: One unbroken 300-character token: a pasted link or a keyboard mash, in a note or a headline.
TOKEN = ("Supercalifragilistic" * 15)[:300]
PHONES = [
    Screen(width=width, height=PHONE.height, scale=PHONE.scale, mobile=True)
    for width in (320, 360, 375, 414)
]


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
    show(browser, _digest_file(tmp_path), DESKTOP)
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


def _event(raw: dict[str, Any]) -> RequestEvent:
    event = parse_event(body(raw))
    assert not isinstance(event, PreferencesUpdated)
    return event


def _hostile_digest_file(directory: Path) -> Path:
    """A busy week written to break a narrow layout: unbroken 300-character notes and recipient
    headlines, three reasons with evidence, a dozen requests left waiting, two-digit figures."""
    week = datetime(2026, 11, 2, tzinfo=UTC)
    as_of = datetime(2026, 11, 9, 9, tzinfo=UTC)
    notes = [
        f"I only connect with people I've met in person {TOKEN}",
        f"Not interested, sorry. {TOKEN}",
        f"I don't know you. {TOKEN}",
        f"{TOKEN}",
        None,
        "Please write a note next time",
    ]
    requests: list[list[RequestEvent]] = []

    def add(index: int, at: datetime, kind: str | None, note: str | None = None) -> None:
        raw = sent(f"r{index}", "m-dana", at=at, note=TOKEN if index % 2 else None)
        raw["data"]["recipient"]["headline"] = f"{TOKEN} {index}"
        events = [_event(raw)]
        if kind is not None:
            reply = answer(kind, f"r{index}", "m-dana", at=at + timedelta(hours=20), note=note)
            events.append(_event(reply))
        requests.append(events)

    for index in range(36):  # this week: all answered, most declined with a note
        kind = "accepted" if index % 6 == 0 else "withdrawn" if index % 6 == 1 else "declined"
        note = notes[index % len(notes)] if kind == "declined" else None
        add(index, week + timedelta(hours=3 * index), kind, note)
    for index in range(36, 48):  # sent 15–20 days before the digest: waiting, and stale
        add(index, as_of - timedelta(days=20) + timedelta(hours=10 * (index - 36)), None)
    for index in range(48, 60):  # earlier weeks of the trend
        add(index, week - timedelta(days=7 * (index % 6) + 8), "declined", notes[0])
    insights = build_insights("m-dana", requests, week.date(), "UTC", as_of, first_digest=True)
    assert len(insights.stale_pending) >= 10
    assert len(insights.top_reasons) >= 3
    url = f"https://u.example/?token={TOKEN}"
    path = directory / "hostile.html"
    path.write_text(render_digest(insights, "America/Argentina/Buenos_Aires", url).html, "utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_digest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hostile_digest_file(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("screen", [*PHONES, DESKTOP], ids=lambda screen: f"{screen.width}px")
def test_a_digest_of_long_unbroken_text_fits_the_screen(
    browser: webdriver.Chrome, hostile_digest: Path, screenshots: Screenshots, screen: Screen
) -> None:
    show(browser, hostile_digest, screen)
    measured = fit(browser)
    if screen in (PHONE, DESKTOP):  # a picture per kind of screen (each takes a second)
        print(
            "screenshots:",
            *screenshots.keep(f"hostile-{screen.width}px.png", full_page_png(browser)),
        )
    assert measured.screen_width == screen.width  # the emulation took effect
    # A page too wide for a phone widens the layout viewport, and innerWidth with it: so the
    # bound is the screen's width, and innerWidth staying at it is part of what is checked.
    assert measured.inner_width == screen.width, measured
    assert measured.scroll_width <= screen.width, measured
    assert measured.overflowing == (), measured.overflowing[:5]
    visible = browser.find_element(By.TAG_NAME, "body").text.replace("\n", "")
    assert f"{TOKEN} 36" in visible  # broken across lines, not cut off or hidden


def test_the_old_six_across_layout_would_have_failed(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    """The measure itself catches what the issue saw: a 433 px table on a 360 px phone."""
    page = tmp_path / "wide.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, '
        'initial-scale=1"></head><body style="margin:0"><table style="width:433px"><tr>'
        "<td>8 pending</td></tr></table></body></html>",
        "utf-8",
    )
    show(browser, page, PHONE)
    measured = fit(browser)
    assert not measured.fits
    assert measured.inner_width == measured.scroll_width == 433  # innerWidth alone would pass
    assert any(item.startswith("table:") for item in measured.overflowing)


_COLOURS = """
const parse = (value) => {
  const [r, g, b, a] = value.match(/[\\d.]+/g).map(Number);
  return {rgb: [r, g, b], alpha: a === undefined ? 1 : a};
};
const luminance = ([r, g, b]) => {
  const [R, G, B] = [r, g, b].map((c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * R + 0.7152 * G + 0.0722 * B;
};
const canvas = document.createElement('div');
canvas.style.background = 'Canvas';
document.body.appendChild(canvas);
const canvasColour = getComputedStyle(canvas).backgroundColor;
canvas.remove();
const backdrop = (element) => {
  for (let node = element; node; node = node.parentElement) {
    const colour = parse(getComputedStyle(node).backgroundColor);
    if (colour.alpha > 0) return colour.rgb;
  }
  return parse(canvasColour).rgb;
};
const worst = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const text = node.textContent.trim();
  const element = node.parentElement;
  if (!text || getComputedStyle(element).fontSize === '0px') continue;
  const [fore, back] = [parse(getComputedStyle(element).color).rgb, backdrop(element)];
  const [l1, l2] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
  worst.push([(l1 + 0.05) / (l2 + 0.05), text.slice(0, 40)]);
}
const unpaired = [...document.querySelectorAll('[style]')]
  .filter((element) => element.style.backgroundColor && !element.style.color)
  .map((element) => element.outerHTML.slice(0, 80));
return {contrast: worst.sort((x, y) => x[0] - y[0]).slice(0, 3), unpaired: unpaired};
"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_text_is_legible_in_a_light_or_dark_client(
    browser: webdriver.Chrome, hostile_digest: Path, screenshots: Screenshots, dark: bool
) -> None:
    """The digest declares it can be shown in dark mode, so the client's dark defaults apply to
    anything it leaves unset: every text must still contrast with what is behind it (WCAG AA,
    4.5:1). And every block that sets a background sets its text colour, so a client that
    inverts one and not the other keeps the pair together."""
    show(browser, hostile_digest, PHONE, dark=dark)
    assert (
        browser.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches") is dark
    )
    schemes = {
        element.get_attribute("name"): element.get_attribute("content")
        for element in browser.find_elements(By.CSS_SELECTOR, "meta[name*='color-scheme']")
    }
    assert schemes == {"color-scheme": "light dark", "supported-color-schemes": "light dark"}
    if dark:
        print("screenshots:", *screenshots.keep("hostile-dark.png", full_page_png(browser)))
    found = browser.execute_script(_COLOURS)
    assert found["unpaired"] == []
    lowest, text = found["contrast"][0]
    assert lowest >= 4.5, (lowest, text)
