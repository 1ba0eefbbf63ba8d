"""A digest as a reader sees it: Debian's headless Chromium with real device emulation.

Headless Chromium never lays a window out narrower than 500 px, so `--window-size` cannot show a
phone. Device emulation can: `Emulation.setDeviceMetricsOverride` with `mobile` on gives the page
a phone's screen, device pixel ratio and `<meta name="viewport">` handling. On such a screen a
page that is too wide does not scroll sideways inside a 360 px viewport: Chromium widens the
layout viewport to the content, so `window.innerWidth` grows with it (433 for the old digest)
and `scrollWidth <= innerWidth` holds either way. `fit` therefore measures against the
emulated screen's width.

The tests (tests/browser/test_digest_layout.py, tests/e2e/test_run_digests.py) and `make screenshot`
(tools/screenshot.py) use this one module, so what is measured is what is pictured.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1280,900",
)


@dataclass(frozen=True)
class Screen:
    """An emulated screen: CSS pixels, device pixels per CSS pixel, and phone or not."""

    width: int
    height: int
    scale: float
    mobile: bool


PHONE = Screen(width=360, height=780, scale=3, mobile=True)
DESKTOP = Screen(width=1280, height=900, scale=1, mobile=False)


class ChromiumMissing(RuntimeError):
    """Debian's chromium or chromedriver is not installed (`make browser` installs both)."""


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """One headless Chromium, quit on exit."""
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        raise ChromiumMissing(
            "Chromium is missing: `make browser` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def emulate(driver: webdriver.Chrome, screen: Screen, *, dark: bool = False) -> None:
    """Give the page `screen` (kept across navigations) and a light or dark colour scheme."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": screen.width,
            "height": screen.height,
            "deviceScaleFactor": screen.scale,
            "mobile": screen.mobile,
            "screenWidth": screen.width,
            "screenHeight": screen.height,
        },
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
    )


def show(driver: webdriver.Chrome, page: Path, screen: Screen, *, dark: bool = False) -> None:
    """Open the file `page` on `screen`; returns when it has loaded (no scripts, no images)."""
    emulate(driver, screen, dark=dark)
    driver.get(page.resolve().as_uri())


@dataclass(frozen=True)
class Fit:
    """How wide the shown page is, against the screen it is shown on."""

    screen_width: int
    client_width: int
    inner_width: int
    scroll_width: int
    #: Elements and text that reach past the screen's right edge (or left of its left edge),
    #: each as "tag: text… (left–right)": clipped overflow counts too, as it is cut off.
    overflowing: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return (
            self.scroll_width <= self.screen_width
            and self.inner_width <= self.screen_width
            and not self.overflowing
        )


_FIT = """
const width = screen.width;
const overflowing = [];
const describe = (node, rect) => {
  const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  const text = (node.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 40);
  const span = `${rect.left.toFixed(1)}–${rect.right.toFixed(1)}`;
  return `${element.tagName.toLowerCase()}: ${text} (${span})`;
};
const outside = (rect) =>
  (rect.width > 0 || rect.height > 0) && (rect.right > width + 0.5 || rect.left < -0.5);
for (const element of document.body.querySelectorAll('*')) {
  const rect = element.getBoundingClientRect();
  if (outside(rect)) overflowing.push(describe(element, rect));
}
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const range = document.createRange();
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (!node.textContent.trim()) continue;
  range.selectNodeContents(node);
  for (const rect of range.getClientRects()) {
    if (outside(rect)) { overflowing.push(describe(node, rect)); break; }
  }
}
return {
  screen_width: width,
  client_width: document.documentElement.clientWidth,
  inner_width: window.innerWidth,
  scroll_width: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
  overflowing: overflowing,
};
"""


def fit(driver: webdriver.Chrome) -> Fit:
    """Measure the page now shown: its widths and whatever sticks out of the screen."""
    found: dict[str, Any] = driver.execute_script(_FIT)
    return Fit(
        screen_width=int(found["screen_width"]),
        client_width=int(found["client_width"]),
        inner_width=int(found["inner_width"]),
        scroll_width=int(found["scroll_width"]),
        overflowing=tuple(str(item) for item in found["overflowing"]),
    )


def full_page_png(driver: webdriver.Chrome, scale: float = 1) -> bytes:
    """A PNG of the whole page shown (not just the viewport), at the screen's pixel ratio times
    ``scale`` (``1 / screen.scale`` gives one pixel per CSS pixel: a ninth of a 3x picture)."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": scale,
            },
        },
    )
    return base64.b64decode(shot["data"])
