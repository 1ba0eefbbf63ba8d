"""``rapport classify``: why requests were declined, one JSONL line in and one out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

from pydantic import BaseModel, ValidationError

from rapport.reasons import Classification, classify
from rapport.reasons.evaluation import CaseInput, EvaluationReport, LabelledCase, evaluate
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError
from rapport_cli.jsonl import InputLine, InputLines, json_line

_EPILOG = """input lines (JSONL):
  {"note": "I only connect with people I've met", "request": {"note": null,
   "context": {"shared_credentials": ["PMP"]}}, "outcome": "declined"}
  note: the recipient's words or null; request: the sent event's note and context, or null
  when unknown; outcome: declined or no_response (accepted, pending, withdrawn carry no reason).
  With --evaluate, each line also has "expected": [acceptable codes, preferred first], and may
  have "language" and "category" (accuracy is reported per value; without a language of its
  own, a case counts under the language the reader detected).

examples:
  rapport classify < notes.jsonl
  echo '{"note": "Have we met?", "request": null, "outcome": "declined"}' | rapport classify
  rapport classify --evaluate data/reasons/test.jsonl
  rapport classify --evaluate tests/unit/reasons/heldout.jsonl --json
"""

_Case = TypeVar("_Case", bound=BaseModel)


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "classify",
        help="classify why requests were declined (JSONL on stdin)",
        description=(
            "Read JSONL requests on stdin and print, per line, the primary reason, all reasons "
            "(strongest first), a confidence in [0, 1] and the evidence behind them."
        ),
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--evaluate",
        metavar="FILE",
        type=Path,
        help="score labelled lines from FILE: accuracy, macro recall, per-code precision/recall, "
        "accuracy per language and per category, and the confident-wrong rate",
    )
    parser.add_argument(
        "--json", action="store_true", help="with --evaluate, print the report as one JSON object"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.evaluate is None:
        if args.json:
            raise UserError("--json only applies to --evaluate (classification output is JSONL)")
        bad, total = _classify_stream(sys.stdin.buffer, sys.stdout)
        if bad:
            raise UserError(f"{bad} of {total} line(s) not classified (each is reported above)")
        return 0
    try:
        with args.evaluate.open(encoding="utf-8") as lines:
            cases = list(_parse(lines, LabelledCase))
    except OSError as exc:
        raise UserError(f"cannot read {args.evaluate}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{args.evaluate} is not UTF-8 text") from exc
    if not cases:
        raise UserError(f"{args.evaluate} has no cases")
    report = evaluate(
        (
            (line, case.expected, classify(case.note, case.request, case.outcome))
            for line, case in cases
        ),
        groups={
            line: {"language": case.language, "category": case.category} for line, case in cases
        },
    )
    if args.json:
        print(json_line(report.model_dump(mode="json")))
    else:
        print(_render(report, dict(cases)))
    return 0


def _parse(lines: Iterable[str], model: type[_Case]) -> Iterator[tuple[int, _Case]]:
    """Validate each non-blank line; a bad line stops with its 1-based number (an evaluation
    of part of a labelled file would be a wrong score)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, model.model_validate_json(line)
        except ValidationError as exc:
            raise UserError(f"line {number}: {_describe(exc)}") from None


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return f"not valid JSON ({first['msg'].removeprefix('Invalid JSON: ')})"
    location = ".".join(str(part) for part in first["loc"])
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{location or 'line'}: {first['msg']}{extra}"


def _as_json(result: Classification) -> str:
    return json_line(result.model_dump(mode="json"))


def _classify_stream(source: BinaryIO, sink: TextIO) -> tuple[int, int]:
    """One result per good line, in order; a bad line is reported on stderr with its number and
    skipped, so one typo does not cost the rest of the input. Returns (bad, all) line counts."""
    bad = total = 0
    for line in InputLines(()).read(source, "<stdin>"):
        total += 1
        case = _case(line)
        if isinstance(case, str):
            bad += 1
            print(f"rapport classify: line {line.number}: {case}", file=sys.stderr)
            continue
        sink.write(_as_json(classify(case.note, case.request, case.outcome)) + "\n")
        sink.flush()
    return bad, total


def _case(line: InputLine) -> CaseInput | str:
    """The line's case, or what is wrong with it."""
    if line.encoding_error is not None:
        return f"not UTF-8 ({line.encoding_error})"
    try:
        return CaseInput.model_validate_json(line.text)
    except ValidationError as exc:
        return _describe(exc)


def _percent(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def _render(report: EvaluationReport, cases: dict[int, LabelledCase]) -> str:
    threshold = report.confident_threshold
    lines = [
        f"cases              {report.cases}",
        f"accuracy           {report.accuracy:.3f}  ({report.correct}/{report.cases})",
        f"macro recall       {report.macro_recall:.3f}",
        f"confident (>={threshold:.2f}) {report.confident}, wrong {report.confident_wrong} "
        f"({report.confident_wrong_rate:.1%} of confident)",
        "",
        f"{'code':<18}{'support':>8}{'predicted':>10}{'precision':>10}{'recall':>8}",
    ]
    for code, metrics in report.per_code.items():
        lines.append(
            f"{code:<18}{metrics.support:>8}{metrics.predicted:>10}"
            f"{_percent(metrics.precision):>10}{_percent(metrics.recall):>8}"
        )
    for grouping, values in report.per_group.items():
        lines += ["", f"{grouping:<18}{'cases':>8}{'accuracy':>10}{'confident':>10}{'wrong':>8}"]
        lines.extend(
            f"{value:<18}{metrics.cases:>8}{metrics.accuracy:>10.3f}"
            f"{metrics.confident:>10}{metrics.confident_wrong:>8}"
            for value, metrics in values.items()
        )
    if report.mistakes:
        lines += ["", "misclassified (line: expected -> predicted @ confidence)"]
        for mistake in report.mistakes:
            note = cases[mistake.case].note or ""
            shown = note if len(note) <= 70 else note[:67] + "..."
            expected = "|".join(mistake.expected)
            lines.append(
                f"  line {mistake.case}: {expected} -> {mistake.predicted} "
                f"@ {mistake.confidence}  {json_line(shown)}"
            )
    return "\n".join(lines)
