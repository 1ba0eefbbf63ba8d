"""The adversarial corpus (``adversarial.jsonl``): one case per line, with what must become of it.

Each case has a ``body`` (the exact message body) or a ``build`` recipe for bodies too large or
too deep to keep readable in a data file, and an ``expect``: ``stored``, ``duplicate`` or the
``error_code`` it is quarantined with. Where the two paths differ (SQS refuses some bodies before
the handler could see them), ``expect`` names each: ``{"handler": …, "run": …}``; ``"skip"``
leaves a case out of a path (a raw line feed cannot be one line of a JSONL stream).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapport.contract import RequestSent, envelope

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "adversarial.jsonl"
SOURCE = "https://platform.example/connections"
#: Members whose data the corpus sets up first; nothing after the setup may change it.
VICTIM = "adv-victim"
#: The member whose odd but valid notes reach a digest.
ODD_MEMBER = "adv-odd"
VALID = frozenset({"stored", "duplicate"})


@dataclass(frozen=True)
class Case:
    number: int
    name: str
    body: str
    handler: str
    run: str

    @property
    def setup(self) -> bool:
        return self.name.startswith("setup:")


def _envelope(data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return envelope(
        RequestSent,
        event_id="adv-built",
        source=SOURCE,
        time="2026-11-10T09:00:00Z",
        data=data,
        **extra,
    )


def _sent_data() -> dict[str, Any]:
    return {
        "request_id": "adv-built",
        "sender_id": "adv-a",
        "recipient": {"member_id": "adv-rcpt"},
        "note": None,
    }


def build(recipe: dict[str, Any]) -> str:
    """Bodies described rather than stored: very deep, very large or very long."""
    if "nest" in recipe:
        depth = int(recipe["nest"])
        return "[" * depth + "]" * depth
    if "nest_in_extension" in recipe:
        depth = int(recipe["nest_in_extension"])
        text = json.dumps(_envelope(_sent_data(), deep="DEEP"))
        return text.replace('"DEEP"', "[" * depth + "]" * depth)
    if "pad_to_bytes" in recipe:
        size = int(recipe["pad_to_bytes"])
        text = json.dumps(_envelope(_sent_data(), padding=""))
        return text.replace('"padding": ""', '"padding": "' + "p" * (size - len(text)) + '"')
    if "huge_int_digits" in recipe:
        data = _sent_data() | {"context": {"mutual_connections": 0}}
        text = json.dumps(_envelope(data))
        return text.replace(
            '"mutual_connections": 0',
            '"mutual_connections": ' + "9" * int(recipe["huge_int_digits"]),
        )
    raise ValueError(f"unknown recipe {recipe}")


def load_cases(path: Path = CORPUS) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        expect = row["expect"]
        handler, run = (
            (expect["handler"], expect["run"])
            if isinstance(expect, dict)
            else (
                expect,
                expect,
            )
        )
        body = row["body"] if "body" in row else build(row["build"])
        cases.append(Case(number, row["case"], body, handler, run))
    return cases


def stream_lines(cases: list[Case]) -> dict[int, Case]:
    """Line number → case, in the stream ``write_stream`` writes."""
    kept = [case for case in cases if case.run != "skip"]
    return dict(enumerate(kept, start=1))


def write_stream(cases: list[Case], path: Path) -> dict[int, Case]:
    """The cases as a JSONL stream for ``rapport run``; returns line number → case."""
    lines = stream_lines(cases)
    with path.open("w", encoding="utf-8", newline="") as stream:
        for case in lines.values():
            assert "\n" not in case.body, case.name
            stream.write(case.body + "\n")
    return lines


def documented_error_codes() -> set[str]:
    """The error codes of docs/events.md's table: the only codes a quarantine may carry."""
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    section = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
