"""Shared helpers for the benchmark suite: inputs, function environments, call counting.

Everything here is deterministic: streams come from the project's generator with fixed seeds.
"""

# Imports inside functions are deliberate: each benchmark imports what it measures itself.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapport_cli.local.template import LogicalId

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {
    "process_events": LogicalId.PROCESS_EVENTS,
    "schedule_digests": LogicalId.SCHEDULE_DIGESTS,
    "send_digest": LogicalId.SEND_DIGEST,
    "unsubscribe": LogicalId.UNSUBSCRIBE,
}
#: The clients each handler creates once per container (what its code calls; see the
#: least-privilege test for the proof that these are the services it uses).
FUNCTION_CLIENTS = {
    "process_events": ("dynamodb",),
    "schedule_digests": ("dynamodb", "sqs"),
    "send_digest": ("dynamodb", "sesv2", "secretsmanager"),
    "unsubscribe": ("dynamodb", "secretsmanager"),
}
REGION = "us-east-1"

#: The ingest stream: 10% of events delivered twice, 10% displaced up to 5 lines later.
INGEST_STREAM = {"members": 12, "weeks": 4, "seed": 7, "duplicates": 0.1, "reorder": 0.1}


@dataclass(frozen=True)
class Stream:
    path: Path
    lines: int
    events: int
    duplicates: int
    reordered: int


def generate_stream(out: Path, members: int, weeks: int, seed: int, **rates: float) -> Stream:
    """A stream from ``rapport generate``'s code (same arguments, same bytes)."""
    from rapport_cli.generator import GenerationStats, GeneratorConfig, generate

    config = GeneratorConfig(
        members=members,
        weeks=weeks,
        seed=seed,
        duplicate_rate=rates.get("duplicates", 0.0),
        reorder_rate=rates.get("reorder", 0.0),
    )
    stats = GenerationStats()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as stream:
        for line in generate(config, stats):
            stream.write(line.text + "\n")
    return Stream(out, stats.lines, stats.events, stats.duplicates, stats.reordered)


def function_environment(name: str, table_name: str = "bench-table") -> dict[str, str]:
    """The function's environment from infra/template.yaml, with placeholder resource names."""
    from rapport_cli.local.template import Resolver, load_template, parameter_defaults

    template = load_template()
    resolver = Resolver(
        parameters=parameter_defaults(template), region=REGION, stack_name="rapport-bench"
    )
    for logical_id in template["Resources"]:
        placeholder = f"bench-{logical_id}"
        resolver.resources[logical_id] = {
            "Ref": placeholder,
            "Arn": f"arn:aws:bench:{REGION}:123456789012:{placeholder}",
        }
    resolver.resources[LogicalId.TABLE]["Ref"] = table_name
    resolver.resources["UnsubscribeFunctionUrl"] = {
        "FunctionUrl": "https://unsubscribe.bench.example/"
    }
    spec = template["Resources"][FUNCTIONS[name]]["Properties"]
    variables = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **spec.get("Environment", {}).get("Variables", {}),
    }
    return {key: str(value) for key, value in resolver.resolve(variables).items()}


def event_source_batch_size(name: str) -> int:
    """The ``BatchSize`` of the function's SQS event source in infra/template.yaml."""
    from rapport_cli.local.stack import queue_sources
    from rapport_cli.local.template import load_template

    (source,) = queue_sources(load_template()["Resources"][FUNCTIONS[name]]["Properties"])
    return source.batch_size


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def run_json(module: str, *args: str) -> Any:
    """Run ``python -m bench.<module>`` in a fresh interpreter; its last stdout line is JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.{module} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


class CallCounter:
    """Counts API calls by ``service:Operation`` with botocore's ``before-parameter-build`` hook
    (emitted once per API call, to every handler, before anything can answer the call)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1

    def service(self, prefix: str) -> int:
        return sum(count for action, count in self.calls.items() if action.startswith(prefix))


#: When the bench's messages were sent: after every event of the generated streams (the latest
#: is on 1 November 2026), so none is quarantined as "in the future" for its SentTimestamp.
SENT_AT_MS = int(datetime(2026, 11, 3, tzinfo=UTC).timestamp() * 1000)


def sqs_records(bodies: Sequence[str], batch_size: int) -> Iterator[dict[str, Any]]:
    """SQS event-source events, as Lambda builds them, for ``bodies`` in order."""
    for start in range(0, len(bodies), batch_size):
        yield {
            "Records": [
                {
                    "messageId": f"00000000-0000-4000-8000-{index:012d}",
                    "receiptHandle": f"receipt-{index}",
                    "body": body,
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": str(SENT_AT_MS + index),
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": str(SENT_AT_MS + index),
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:bench-events",
                    "awsRegion": REGION,
                }
                for index, body in enumerate(bodies[start : start + batch_size], start)
            ]
        }


@dataclass
class Context:
    """The Lambda context attributes Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/bench"
    log_stream_name: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
