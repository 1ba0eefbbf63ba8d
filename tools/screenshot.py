"""``make screenshot``: picture one digest of ``make demo``'s output for the README.

Writes ``docs/images/digest.png`` (a desktop mail window, 800 CSS px wide) and
``docs/images/digest-phone.png`` (a 360 px phone, device emulation at 2 device pixels per CSS
pixel), both of the whole page. It refuses a digest that does not fit the screen, so a picture of
a broken layout never lands in the docs. Same digest, same Chromium: same pictures.

    python -m tools.screenshot [--digest DIGEST.html] [--out DIRECTORY]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.browser import Screen, chromium, fit, full_page_png, show

ROOT = Path(__file__).resolve().parents[1]
DIGEST = ROOT / "out" / "demo" / "digests" / "m-priya_2026-11-09.html"
OUT = ROOT / "docs" / "images"
#: Screens of the pictures: a desktop client's reading pane, and a common phone at 2x (at 3x the
#: picture is half again as large a file for no detail a README shows).
PICTURES = {
    "digest.png": Screen(width=800, height=900, scale=1, mobile=False),
    "digest-phone.png": Screen(width=360, height=780, scale=2, mobile=True),
}


def take(digest: Path, out: Path) -> list[Path]:
    """Write one PNG per entry of PICTURES into ``out``; fail if the digest overflows one."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with chromium() as driver:
        for name, screen in PICTURES.items():
            show(driver, digest, screen)
            measured = fit(driver)
            if not measured.fits:
                raise SystemExit(f"{digest} does not fit {screen.width} px: {measured}")
            path = out / name
            path.write_bytes(full_page_png(driver))
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--digest", type=Path, default=DIGEST, help="a digest's .html file")
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the PNGs")
    args = parser.parse_args(argv)
    if not args.digest.is_file():
        print(f"{args.digest} not found: run `make demo` first", file=sys.stderr)
        return 2
    for path in take(args.digest, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
