"""The committed JSON Schema is what the models generate, and it accepts every sample event."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from rapport.validation import parse_event
from rapport_cli.schema_cmd import render, schemas

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_DIR = ROOT / "events" / "schema"
SAMPLES = sorted((ROOT / "events" / "samples").glob("*.json"))


def test_committed_schema_files_are_up_to_date() -> None:
    generated = schemas()
    committed = {path.name for path in SCHEMA_DIR.glob("*.json")}
    assert committed == set(generated), "run `make schemas` and commit events/schema/"
    for name, document in generated.items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == render(document), (
            f"{name} is stale: run `make schemas`"
        )


def test_there_is_one_sample_per_event_type() -> None:
    types = {json.loads(path.read_text())["type"] for path in SAMPLES}
    assert types == {name.removesuffix(".schema.json") for name in schemas()} - {"rapport.event"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_every_sample_is_valid_for_the_schema_and_the_models(sample: Path) -> None:
    document = json.loads(sample.read_text())
    for name in (f"{document['type']}.schema.json", "rapport.event.schema.json"):
        schema = json.loads((SCHEMA_DIR / name).read_text())
        jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    assert parse_event(sample.read_text()).type == document["type"]


def test_the_schema_rejects_what_the_models_reject() -> None:
    schema = json.loads((SCHEMA_DIR / "rapport.event.schema.json").read_text())
    document = json.loads((ROOT / "events" / "samples" / "declined.json").read_text())
    document["data"]["request_id"] = "r" * 129
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
