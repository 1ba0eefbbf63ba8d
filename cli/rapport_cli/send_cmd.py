"""``rapport send``: publish a JSONL file of events to the events queue or the event bus, as a
platform would.

Unlike ``rapport run``, which publishes invalid lines on purpose so the pipeline quarantines them,
``send`` is the platform's side: each line is checked against the contract first and an invalid
line is reported with its line number instead of being sent.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from rapport_cli.aws_options import add_destination_arguments, apply_aws_arguments
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError, aws_problem, input_files
from rapport_cli.jsonl import InputLine, InputLines, json_line, require_json_lines
from rapport_cli.publisher import BusTarget, Publisher, QueueTarget, Target

_EPILOG = """examples:
  rapport send events/streams/demo.jsonl --queue-url "$EVENTS_QUEUE_URL"
  rapport send day1.jsonl --queue-url "$EVENTS_QUEUE_URL" --json > report.json
  rapport send day1.jsonl --endpoint-url http://127.0.0.1:5000 --region us-east-1 \\
      --queue-url http://127.0.0.1:5000/123456789012/rapport-events
  rapport generate --members 20 --weeks 4 --seed 7 | rapport send /dev/stdin --queue-url URL
  rapport send day1.jsonl --bus "$EVENT_BUS_NAME"       # PutEvents, 10 entries a call
  rapport send day1.jsonl --bus arn:aws:events:eu-west-1:123456789012:event-bus/rapport-prod

Blank lines are skipped. An invalid line (not UTF-8, not a valid event, characters SQS does
not accept, or a source EventBridge cannot take) is reported as "line N: error_code: message"
and not sent; the other lines still are.

exit status:
  0  every event line was sent
  1  some lines were invalid or not accepted by the queue or bus (all the others were sent)
  2  the command could not run or was cut short: a missing file, a bad URL, an unreachable
     endpoint, queue or bus (the error says how many events were sent before)
"""


@dataclass(frozen=True)
class Problem:
    """A line or event that was not sent; ``line`` is None when the queue or bus refused it after
    batching."""

    line: int | None
    event_id: str | None
    error_code: str
    message: str

    def describe(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"event {self.event_id}"
        return f"{where}: {self.error_code}: {self.message}"


@dataclass
class SendReport:
    sent: int = 0
    invalid: int = 0
    unsent: int = 0
    retried: int = 0
    blank_lines: int = 0
    #: kept only for ``--json``; otherwise each problem is printed as it is found
    problems: list[Problem] = field(default_factory=list)


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "send",
        help="validate a JSONL file of events and publish it to the events queue or bus",
        description=(
            "Stream FILE line by line, validate each event against the contract, and send the "
            "valid ones to the events queue (--queue-url) or put them on the event bus (--bus) "
            "in batches of up to 10, re-sending only the entries the queue or bus failed to "
            "accept for a transient reason."
        ),
        epilog=_EPILOG,
    )
    parser.add_argument("file", type=Path, metavar="FILE.jsonl", help="one CloudEvent per line")
    add_destination_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print a JSON summary (with every problem) on stdout"
    )
    parser.set_defaults(handler=_send)


def _send(args: argparse.Namespace) -> int:
    [path] = input_files([args.file], "FILE")
    require_json_lines(path)
    apply_aws_arguments(args)
    console = Console(stderr=True)
    report = SendReport()

    def found(problem: Problem) -> None:
        if args.json:
            report.problems.append(problem)
        else:
            _say(console, problem.describe())

    try:
        target: Target = QueueTarget(args.queue_url) if args.queue_url else BusTarget(args.bus)
    except BotoCoreError as exc:
        service = "SQS" if args.queue_url else "EventBridge"
        raise UserError(f"cannot create an {service} client: {aws_problem(exc)}") from None
    publisher: Publisher[InputLine] = Publisher(target)
    try:
        _publish_lines(path, publisher, report, found, console)
    except (ClientError, BotoCoreError) as exc:
        raise UserError(
            f"cannot send to {target.name}: {aws_problem(exc)} "
            f"({len(publisher.result.sent)} event(s) were sent before this)"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None

    unsent = publisher.result.unsent
    for refusal in unsent:
        found(Problem(None, refusal.event_id, refusal.error_code, refusal.message))
    report.sent = len(publisher.result.sent)
    report.retried = publisher.result.retried
    report.unsent = len(unsent)
    if args.json:
        print(json_line(asdict(report)))
    _say(
        console,
        f"sent {report.sent} event(s) to {target.name}; {report.invalid} invalid line(s) "
        f"and {report.unsent} event(s) {target.service} did not accept were not sent",
    )
    return 1 if report.invalid or report.unsent else 0


def _say(console: Console, text: str) -> None:
    """One unwrapped line, never read as rich markup (messages quote the user's input)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _publish_lines(
    path: Path,
    publisher: Publisher[InputLine],
    report: SendReport,
    found: Callable[[Problem], None],
    console: Console,
) -> None:
    """Stream ``path`` into ``publisher``; progress is measured in bytes of the file read."""
    total = path.stat().st_size if path.is_file() else None
    lines = InputLines([path])
    with Progress(
        TextColumn("sending"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[sent]} sent"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("sending", total=total, sent=0)
        for line in lines:
            sent = len(publisher.result.sent)
            bar.update(task, advance=len(line.text.encode("utf-8")) + 1, sent=sent)
            refusal = publisher.add_line(line)
            if refusal is not None:
                report.invalid += 1
                found(Problem(line.number, refusal.event_id, refusal.error_code, refusal.message))
        publisher.flush()
        bar.update(task, completed=total, sent=len(publisher.result.sent))
    report.blank_lines = lines.blank_lines
