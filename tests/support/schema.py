"""Validate documents against the committed JSON Schema as a platform would.

JSON Schema patterns are ECMA-262 regular expressions, where ``$`` (without the ``m`` flag)
matches only at the end of the string. ``jsonschema`` runs them with Python's ``re``, where ``$``
also matches before one final line feed, so it would let ``"id\\n"`` through where an ECMA-262
engine (ajv, the JavaScript and Java validators) and the pipeline refuse it. The validators here
read ``pattern`` as ECMA-262 does: every pattern of the contract ends with its one ``$`` anchor
(other ``$`` characters are inside character classes), which becomes ``\\Z``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "events" / "schema"
ENVELOPE_SCHEMA = "rapport.event.schema.json"


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled so that a final ``$`` matches only at the very end."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _schema_files() -> frozenset[str]:
    return frozenset(path.name for path in SCHEMA_DIR.glob("*.schema.json"))


@cache
def validator(name: str, *, formats: bool = True) -> Validator:
    """A validator for the schema file ``name``; ``formats`` asserts ``format`` as well."""
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    base = jsonschema.validators.validator_for(schema)
    base.check_schema(schema)
    ecma: type[Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base, {"pattern": _pattern}
    )
    checker = jsonschema.FormatChecker() if formats else None
    return ecma(schema, format_checker=checker)


def schema_errors(document: Any, *, formats: bool = True) -> list[str]:
    """Errors from the envelope schema and, for a known type, from that type's own schema."""
    errors = [
        error.message for error in validator(ENVELOPE_SCHEMA, formats=formats).iter_errors(document)
    ]
    event_type = document.get("type") if isinstance(document, dict) else None
    if isinstance(event_type, str) and f"{event_type}.schema.json" in _schema_files():
        own = validator(f"{event_type}.schema.json", formats=formats)
        errors += [error.message for error in own.iter_errors(document)]
    return errors
