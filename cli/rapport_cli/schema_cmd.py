"""``rapport schema``: the event contract as JSON Schema, generated from the pydantic models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from rapport.contract import EVENT_MODELS, RapportEvent
from rapport_cli import asyncapi
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError, output_dir, output_file

_EPILOG = """examples:
  rapport schema --out events/schema --asyncapi events/asyncapi.yaml
                                         # regenerate the committed files (make schemas)
  rapport schema                         # print the schema of any Rapport event
"""
_SCHEMA_BASE = "https://rapport.example/schema/"


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema: one per event type, and one for any event."""
    documents = {}
    for event_type, model in EVENT_MODELS.items():
        name = f"{event_type}.schema.json"
        documents[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": _SCHEMA_BASE + name,
            **model.model_json_schema(),
        }
    documents["rapport.event.schema.json"] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _SCHEMA_BASE + "rapport.event.schema.json",
        "title": "RapportEvent",
        **TypeAdapter(RapportEvent).json_schema(),
    }
    return documents


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "schema",
        help="print or write the JSON Schema of the event contract",
        epilog=_EPILOG,
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="write one file per event type")
    parser.add_argument(
        "--asyncapi",
        type=Path,
        metavar="FILE",
        help="also write the AsyncAPI 3.0 document over the files in --out "
        "(reads infra/template.yaml)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    documents = schemas()
    if args.out is None:
        if args.asyncapi is not None:
            raise UserError("--asyncapi needs --out: the document refers to the schema files")
        print(render(documents["rapport.event.schema.json"]), end="")
        return 0
    output_dir(args.out)
    if args.asyncapi is not None:
        output_file(args.asyncapi, "--asyncapi")
    for name, document in documents.items():
        (args.out / name).write_text(render(document), encoding="utf-8")
    print(f"wrote {len(documents)} schema files to {args.out}/")
    if args.asyncapi is not None:
        asyncapi.write(args.asyncapi, args.out)
        print(f"wrote {args.asyncapi}")
    return 0
