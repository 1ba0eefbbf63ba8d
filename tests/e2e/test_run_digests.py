"""`rapport run --now` sends the digests of exactly the members due, with DESIGN §4 counts that an
independent, deliberately simple reading of the stream agrees with."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver

from rapport_cli.local import runner
from rapport_cli.main import main
from rapport_cli.preview_cmd import PREVIEW_LINK
from tests.support.browser import Screenshots
from tests.support.html_text import visible_text, words_of
from tools.browser import PHONE, Screen, fit, full_page_png, show

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STREAM = ROOT / "events" / "streams" / "demo.jsonl"
MALFORMED = set(
    json.loads((ROOT / "events" / "streams" / "demo.expected.json").read_text())["malformed_lines"]
)
NOW = datetime(2026, 11, 16, 18, tzinfo=UTC)  # a Monday, after 08:00 in every member's zone
WINDOW = timedelta(days=21)
ANSWERS = {"accepted", "declined", "withdrawn", "expired"}


def _valid_events() -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    events = []
    for number, line in enumerate(STREAM.read_text(encoding="utf-8").splitlines(), start=1):
        if number in MALFORMED or not line.strip():
            continue
        event = json.loads(line)
        if (event["source"], event["id"]) not in seen:
            seen.add((event["source"], event["id"]))
            event["instant"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
            events.append(event)
    return events


def _latest_preferences(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["type"].endswith("preferences_updated"):
            member = event["data"]["member_id"]
            if member not in latest or event["instant"] > latest[member]["instant"]:
                latest[member] = event
    return {
        member: event["data"] | {"instant": event["instant"]} for member, event in latest.items()
    }


def _expected_counts(events: list[dict[str, Any]], member: str, tz: str) -> dict[str, Any]:
    """DESIGN §4, read literally: each request judged by its own events, in the member's week.

    Outcomes are those known at the digest's instant (NOW); pending is judged at the week's end.
    """
    zone = ZoneInfo(tz)
    local_now = NOW.astimezone(zone).date()
    week = local_now - timedelta(days=local_now.weekday() + 7)
    start = datetime.combine(week, time(0), tzinfo=zone)
    end = datetime.combine(week + timedelta(days=7), time(0), tzinfo=zone)
    requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        data = event["data"]
        if data.get("sender_id") == member and event["instant"] <= NOW:
            requests[data["request_id"]].append(event)
    counts: dict[str, Any] = dict.fromkeys(
        ("sent", "accepted", "declined", "withdrawn", "no_response", "pending"), 0
    )
    for history in requests.values():
        sent = min((e["instant"] for e in history if e["type"].endswith(".sent")), default=None)
        answers = sorted(
            (e["instant"], e["type"].rsplit(".", 1)[1])
            for e in history
            if e["type"].rsplit(".", 1)[1] in ANSWERS
        )
        if sent is not None and start <= sent < end:
            counts["sent"] += 1
        if answers:
            at, kind = answers[0]
            if sent is not None and kind == "expired" and sent + WINDOW < at:
                at = sent + WINDOW
            if start <= at < end:
                counts["no_response" if kind == "expired" else kind] += 1
        elif sent is not None and start <= sent + WINDOW < end:
            counts["no_response"] += 1
        answered_by_end = bool(answers) and answers[0][0] < end
        if sent is not None and sent < end and not answered_by_end and sent + WINDOW >= end:
            counts["pending"] += 1
    decided = counts["accepted"] + counts["declined"] + counts["no_response"]
    counts["acceptance_rate"] = counts["accepted"] / decided if decided else None
    return {"member_id": member, "week_start": week.isoformat(), **counts}


@pytest.fixture(scope="module")
def digest_run(tmp_path_factory: pytest.TempPathFactory) -> runner.RunReport:
    return runner.run([STREAM], tmp_path_factory.mktemp("digests"), now=NOW)


def _email(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_exactly_the_due_members_get_one_digest(digest_run: runner.RunReport) -> None:
    preferences = _latest_preferences(_valid_events())
    subscribed = {
        member for member, data in preferences.items() if data.get("digest_enabled", True)
    }
    emails = sorted((digest_run.out_dir / "digests").glob("*.eml"))
    members = [json.loads(path.with_suffix(".json").read_text())["member_id"] for path in emails]
    assert sorted(members) == sorted(subscribed)
    assert len(subscribed) < len(preferences)  # the demo has a member who turned digests off
    assert digest_run.summary.digests_sent == len(emails)


def test_each_digest_goes_to_the_latest_address(digest_run: runner.RunReport) -> None:
    preferences = _latest_preferences(_valid_events())
    for path in (digest_run.out_dir / "digests").glob("*.eml"):
        member = json.loads(path.with_suffix(".json").read_text())["member_id"]
        assert _email(path)["To"] == preferences[member]["email"]


def test_counts_match_the_design_definitions_in_each_local_week(
    digest_run: runner.RunReport,
) -> None:
    events = _valid_events()
    preferences = _latest_preferences(events)
    checked = 0
    for path in (digest_run.out_dir / "digests").glob("*.json"):
        figures = json.loads(path.read_text())
        member = figures["member_id"]
        expected = _expected_counts(events, member, preferences[member].get("timezone", "UTC"))
        assert figures == pytest.approx(expected), member
        checked += 1
    assert checked >= 4


def test_every_email_has_both_parts_and_one_click_headers(digest_run: runner.RunReport) -> None:
    for path in (digest_run.out_dir / "digests").glob("*.eml"):
        message = _email(path)
        assert [part.get_content_type() for part in message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        assert message["List-Unsubscribe"].startswith("<https://")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # As a mail provider reads it: the raw header line, not what a decoding parser returns.
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        [unsubscribe] = [line for line in head if line.startswith(b"List-Unsubscribe:")]
        assert re.fullmatch(rb"List-Unsubscribe: <https://[\x21-\x3b\x3d\x3f-\x7e]+>", unsubscribe)
        assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head
        html_part = message.get_body(preferencelist=("html",))
        assert html_part is not None
        assert path.with_suffix(".html").read_text() == html_part.get_content().replace(
            "\r\n", "\n"
        )


def test_preview_renders_the_same_figures_without_aws(
    digest_run: runner.RunReport, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent_digest = json.loads(
        (digest_run.out_dir / "digests" / "m-priya_2026-11-09.json").read_text()
    )
    code = main(
        [
            "preview",
            "--events",
            str(STREAM),
            "--member",
            "m-priya",
            "--week",
            "2026-11-09",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    html_path = Path(capsys.readouterr().out.strip())
    assert html_path == tmp_path / "m-priya_2026-11-09.html"
    text = html_path.with_suffix(".txt").read_text()
    for name in ("sent", "accepted", "declined", "withdrawn", "pending"):
        assert f"\n{sent_digest[name]} {name}\n" in text
    assert f"\n{sent_digest['no_response']} no response\n" in text


def test_preview_is_the_digest_that_was_sent(
    digest_run: runner.RunReport, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same member-week, same instant, same first-digest flag: the same bodies, byte for byte,
    except the unsubscribe link (a signed token when sent, a placeholder in a preview)."""
    sent_email = _email(digest_run.out_dir / "digests" / "m-priya_2026-11-09.eml")
    link = re.compile(r"https://[^\s\"<>]+")
    [unsubscribe] = set(link.findall(sent_email["List-Unsubscribe"]))
    code = main(
        [
            "preview",
            "--events",
            str(STREAM),
            "--member",
            "m-priya",
            "--week",
            "2026-11-09",
            "--now",
            NOW.isoformat(),
            "--first-digest",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    html_path = Path(capsys.readouterr().out.strip())
    for kind, preview in (("html", html_path), ("plain", html_path.with_suffix(".txt"))):
        part = sent_email.get_body(preferencelist=(kind,))
        assert part is not None
        sent_body = str(part.get_content()).replace("\r\n", "\n")
        assert unsubscribe.replace("&", "&amp;") in sent_body or unsubscribe in sent_body
        sent_body = sent_body.replace(unsubscribe, PREVIEW_LINK)
        assert preview.read_text(encoding="utf-8") == sent_body, kind


#: Words only the HTML has: the legend of its bar chart, which the text part has no bars for.
_CHART_LEGEND = {"bar", "length", "green"}


def test_the_text_part_says_what_the_html_says(digest_run: runner.RunReport) -> None:
    """Every line a plain-text reader gets is in what a browser shows, and the HTML says nothing
    the text leaves out (its chart's legend aside)."""
    for path in (digest_run.out_dir / "digests").glob("*.eml"):
        message = _email(path)
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        assert text_part is not None
        assert html_part is not None
        text = str(text_part.get_content())
        shown = visible_text(str(html_part.get_content()))
        for raw_line in text.splitlines():
            line = " ".join(re.sub(r"^\s*(?:- |\d+\. )?", "", raw_line).split())
            if line and not line.startswith("Unsubscribe from these digests: https://"):
                assert line in shown, (path.name, line)
        assert words_of(shown) - words_of(text) <= _CHART_LEGEND, path.name


@pytest.mark.parametrize("width", [320, PHONE.width])
def test_no_demo_digest_scrolls_sideways_on_a_phone(
    digest_run: runner.RunReport, browser: webdriver.Chrome, screenshots: Screenshots, width: int
) -> None:
    """Every digest the demo sent, as its HTML part, on a phone (device emulation): nothing
    reaches past the screen's edge, so nothing is cut off or needs sideways scrolling."""
    screen = Screen(width=width, height=PHONE.height, scale=PHONE.scale, mobile=True)
    pages = sorted((digest_run.out_dir / "digests").glob("*.html"))
    assert len(pages) == digest_run.summary.digests_sent
    too_wide = {}
    for page in pages:
        show(browser, page, screen)
        measured = fit(browser)
        assert measured.screen_width == width
        if screen == PHONE:  # at one pixel per CSS pixel: quick to encode, enough to look at
            png = full_page_png(browser, scale=1 / PHONE.scale)
            screenshots.keep(f"demo-{page.stem}-{width}px.png", png)
        if not measured.fits:
            too_wide[page.name] = (measured.scroll_width, measured.overflowing[:3])
    assert too_wide == {}
