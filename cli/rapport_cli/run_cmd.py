"""``rapport run``: the whole pipeline locally, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from rapport.timeutil import iso_utc
from rapport_cli.aws_options import http_url
from rapport_cli.commands import instant
from rapport_cli.errors import UserError, input_files, output_dir
from rapport_cli.jsonl import require_json_lines
from rapport_cli.local import runner
from rapport_cli.local.faults import FaultPlan, FaultSpecError

_EPILOG = """examples:
  rapport run --events events/streams/demo.jsonl --out out/demo
  rapport run --events day1.jsonl --events day2.jsonl --out out/run --now 2026-11-16T09:00:00Z
  rapport run --events events/streams/demo.jsonl --out out/faults --now 2026-11-16T18:00:00Z \\
      --inject-faults dynamodb=0.2,sqs=0.1,ses=0.3 --seed 7
  rapport run --events events/streams/demo.jsonl --out out/bus --via eventbridge
  moto_server -p 5055 &   # a local AWS that outlives the run, to explore it afterwards
  rapport run --events events/streams/demo.jsonl --out out/x --now 2026-11-16T18:00:00Z \\
      --endpoint-url http://127.0.0.1:5055
  rapport quarantine list --table "$(jq -r .table out/x/stack.json)" \\
      --endpoint-url http://127.0.0.1:5055

outputs (in --out): summary.json, stack.json (the resources' names), requests.jsonl,
quarantine.jsonl, dead_letters.jsonl, digests/ (with --now: <member>_<week>.eml, .html,
.json), logs/functions.jsonl, faults.json (with --inject-faults: attempts and injected faults
per service). A run owns its --out: the outputs of an earlier run there are replaced (it says
so), never mixed with this run's; a directory holding other files is refused.

A run that stores nothing says so and exits with status 2; pretty-printed JSON (such as
events/samples/*.json) is refused with the jq command that turns it into JSON Lines.
"""


def _fault_rates(text: str) -> str:
    try:
        FaultPlan.parse(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run the whole pipeline locally on JSONL event files",
        description=(
            "Start a local AWS (moto) on 127.0.0.1, build the queues and table from "
            "infra/template.yaml, publish every line to the events queue (or put it on the "
            "event bus, with --via eventbridge) and drain the queue through the real Lambda "
            "handler with SQS event-source semantics."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--events",
        action="append",
        required=True,
        type=Path,
        metavar="FILE.jsonl",
        help="a JSONL file of CloudEvents, one per line (repeatable)",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output directory: new, empty, or an earlier run's (its outputs are replaced)",
    )
    parser.add_argument(
        "--now",
        type=instant,
        metavar="ISO8601",
        help=(
            "evaluate outcomes as of this instant and run the digest schedule then (default: "
            "the latest time of an event the run stored, and no digests)"
        ),
    )
    parser.add_argument(
        "--inject-faults",
        type=_fault_rates,
        metavar="SVC=RATE,…",
        help=(
            "make that fraction of calls to each service (dynamodb, sqs, ses, secretsmanager) "
            "fail with a retryable AWS error: throttling, HTTP 500/503 or a timeout"
        ),
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="which calls fail under --inject-faults: the same seed, the same faults (default 0)",
    )
    parser.add_argument(
        "--via",
        choices=runner.VIAS,
        default=runner.VIA_SQS,
        help=(
            "how events go in: sent to the events queue (sqs, the default), or put on the event "
            "bus, whose rule delivers them to the queue (eventbridge)"
        ),
    )
    parser.add_argument(
        "--endpoint-url",
        type=http_url,
        metavar="URL",
        help=(
            "build the stack in this moto server, already running, instead of starting one; the "
            "resources stay there under names of their own, listed in DIR/stack.json"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    parser.set_defaults(handler=_run)


def _summary_table(report: runner.RunReport) -> Table:
    table = Table(title=f"Rapport run — as of {iso_utc(report.now)}", show_header=True)
    table.add_column("figure")
    table.add_column("count", justify="right")
    for name, value in report.summary.as_dict().items():
        table.add_row(name, str(value))
    for outcome, count in sorted(report.outcomes.items()):
        table.add_row(f"requests {outcome}", str(count))
    table.add_row("handler invocations", str(report.invocations))
    for run in report.schedule_runs:
        outcome = "succeeded" if run.succeeded else "[red]failed[/red]"
        table.add_row(f"{run.function} run", f"{outcome} after {run.attempts} attempt(s)")
    table.add_row("records retried", str(report.retried_records))
    for function, calls in sorted(report.function_calls.items()):
        for action, count in sorted(calls.items()):
            table.add_row(f"{function} {action}", str(count))
    for service, figures in sorted(report.faults.items()):
        table.add_row(
            f"faults injected {service}",
            f"{figures['injected']} of {figures['attempts']} attempts",
        )
        for kind in ("throttling", "server_error", "timeout"):
            table.add_row(f"  {service} {kind}", str(figures[kind]))
    if report.dynamodb_writes_per_stored_event is not None:
        table.add_row(
            "DynamoDB writes / stored event", f"{report.dynamodb_writes_per_stored_event:.3f}"
        )
    return table


def _check_paths(args: argparse.Namespace) -> None:
    """Every mistake in the paths, found before a server starts."""
    for path in input_files(args.events, "--events"):
        require_json_lines(path)
    output_dir(args.out)
    try:
        runner.holds_earlier_run(args.out)
    except runner.OutDirInUse:
        raise UserError(
            f"--out {args.out} holds files that are not a run's outputs; give a new or empty "
            "directory, or the --out of an earlier run (its outputs are replaced)"
        ) from None


class _Count(ProgressColumn):
    """How many records a phase has drained; nothing for a phase that counts none."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.completed:,.0f}" if task.fields["counted"] else "")


def _run(args: argparse.Namespace) -> int:
    _check_paths(args)
    console = Console(stderr=True, quiet=args.quiet)
    # Started by the first phase, so an error before it (an unreachable endpoint) is the only
    # line printed, not one after an empty progress display.
    bar = Progress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        _Count(),
        TimeElapsedColumn(),
        console=console,
    )
    current: list[TaskID] = []

    def finish_current() -> None:
        if current:
            task = bar.tasks[current[-1]]
            done = task.completed if task.fields["counted"] else 1
            bar.update(current[-1], total=done, completed=done)

    def phase(name: str, counted: bool) -> None:
        finish_current()
        bar.start()
        current.append(bar.add_task(name, total=None, counted=counted))

    try:
        report = runner.run(
            args.events,
            args.out,
            args.now,
            runner.Progress(phase, lambda count: bar.advance(current[-1], count)),
            faults=FaultPlan.parse(args.inject_faults, args.seed) if args.inject_faults else None,
            endpoint_url=args.endpoint_url,
            via=args.via,
        )
        finish_current()
    finally:
        bar.stop()
    console.print(_summary_table(report))
    if report.replaced_earlier_run:
        console.print(f"replaced the outputs of an earlier run in {args.out}/")
    if report.blank_lines:
        console.print(f"{report.blank_lines} blank line(s) skipped (not events)")
    if report.digest_files:
        console.print(f"{len(report.digest_files)} digest(s) in {report.out_dir / 'digests'}/")
    if report.digest_jobs_dead_lettered:
        console.print(f"[red]{report.digest_jobs_dead_lettered} digest job(s) dead-lettered[/red]")
    for run in report.schedule_runs:
        if not run.succeeded:
            console.print(
                f"[red]{run.function} failed {run.attempts} time(s) over "
                f"{run.elapsed.total_seconds():.0f} s (simulated) and was dropped, as Lambda "
                f"drops it; the next scheduled run would catch up: {run.error}[/red]"
            )
    if args.now and report.first_event_time and args.now < report.first_event_time:
        console.print(
            f"[yellow]warning: --now {iso_utc(args.now)} is before every event (the first is at "
            f"{iso_utc(report.first_event_time)}): every request is pending then[/yellow]",
            soft_wrap=True,
        )
    console.print(f"outputs written to {report.out_dir}/")
    summary = report.summary
    if not summary.stored:
        raise UserError(_nothing_stored(summary, report.out_dir))
    return 0


def _nothing_stored(summary: runner.Summary, out: Path) -> str:
    """Where every line went when none was stored, and where to look."""
    if not summary.received:
        return "the input has no events (no non-blank line)"
    parts = [
        f"{count} {what}, see {out / file}"
        for count, what, file in (
            (summary.quarantined, "quarantined", "quarantine.jsonl"),
            (summary.dead_lettered, "dead-lettered", "dead_letters.jsonl"),
        )
        if count
    ]
    if summary.quarantined == summary.received:
        parts = [f"all quarantined, see {out / 'quarantine.jsonl'}"]
    return f"0 of {summary.received} lines stored; {'; '.join(parts)}"
