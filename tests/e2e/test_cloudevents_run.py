"""Events written with the CloudEvents SDK go through `rapport run` and are stored."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.contract.test_cloudevents_sdk import DATA, SENT_AT, sdk_body, sdk_event

pytestmark = pytest.mark.e2e

RAPPORT = Path(sys.executable).parent / "rapport"
#: answer type -> the outcome it gives
ANSWERS = {
    "accepted": "accepted",
    "declined": "declined",
    "withdrawn": "withdrawn",
    "expired": "no_response",
}


def test_sdk_events_of_every_type_are_stored_with_their_outcomes(tmp_path: Path) -> None:
    bodies = [sdk_body(sdk_event("rapport.member.preferences_updated"))]
    for answer in ANSWERS:
        ref = {"request_id": f"req-{answer}", "sender_id": "m-sdk"}
        sent_data = {**DATA["rapport.connection_request.sent"], **ref}
        answer_type = f"rapport.connection_request.{answer}"
        bodies.append(sdk_body(sdk_event("rapport.connection_request.sent", data=sent_data)))
        bodies.append(
            sdk_body(
                sdk_event(answer_type, SENT_AT + timedelta(days=2), {**DATA[answer_type], **ref})
            )
        )
    stream = tmp_path / "sdk.jsonl"
    stream.write_text("\n".join(bodies) + "\n", encoding="utf-8")

    completed = subprocess.run(
        [str(RAPPORT), "run", "--events", str(stream), "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["received"], summary["stored"], summary["quarantined"]) == (9, 9, 0)
    rows = [
        json.loads(line) for line in (tmp_path / "out" / "requests.jsonl").read_text().splitlines()
    ]
    assert {row["request_id"]: row["outcome"] for row in rows} == {
        f"req-{answer}": outcome for answer, outcome in ANSWERS.items()
    }
