"""``rapport dlq show|redrive``: look into a dead-letter queue, and move its messages back.

Redriving is safe: an event already stored is recognised as a duplicate, and one that is still
invalid is quarantined by the pipeline instead of failing again, so nothing loops.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rapport.adapters.aws import client
from rapport_cli.aws_options import add_endpoint_arguments, apply_aws_arguments, http_url
from rapport_cli.commands import add_command
from rapport_cli.errors import UserError, aws_problem
from rapport_cli.jsonl import json_line
from rapport_cli.publisher import Publisher, QueueTarget

#: Queue name -> (dead-letter queue output, source queue output) of the stack.
QUEUES = {
    "events": ("EventsDeadLetterQueueUrl", "EventsQueueUrl"),
    "digest-jobs": ("DigestJobsDeadLetterQueueUrl", "DigestJobsQueueUrl"),
}
_EPILOG = """examples:
  rapport dlq show --stack rapport-prod --queue events
  rapport dlq show --dlq-url https://sqs.eu-west-1.amazonaws.com/123/rapport-prod-events-dlq --json
  rapport dlq redrive --stack rapport-prod --queue digest-jobs
  rapport dlq redrive --dlq-url URL --to-url URL --max 100

Queue URLs come from the stack's outputs (--stack, --queue) or are given directly.
`show` receives messages without deleting them, which raises their receive count.
"""


@dataclass(frozen=True)
class QueuePair:
    dlq_url: str
    source_url: str | None


def register(commands: Any) -> None:
    parser = add_command(
        commands,
        "dlq",
        help="show or redrive a dead-letter queue",
        epilog=_EPILOG,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="<action>")
    for name, helptext, handler in (
        ("show", "list the messages waiting in a dead-letter queue", _show),
        ("redrive", "move a dead-letter queue's messages back to their queue", _redrive),
    ):
        action = add_command(
            actions,
            name,
            help=helptext,
            epilog=_EPILOG,
        )
        action.add_argument("--stack", metavar="NAME", help="read the queue URLs from this stack")
        action.add_argument(
            "--queue",
            choices=sorted(QUEUES),
            default="events",
            help="with --stack, whose dead-letter queue (default: events)",
        )
        action.add_argument(
            "--dlq-url",
            type=http_url,
            metavar="URL",
            help="the dead-letter queue, instead of --stack",
        )
        action.add_argument("--to-url", type=http_url, metavar="URL", help="redrive target")
        action.add_argument("--max", type=int, default=1000, metavar="N", help="at most N messages")
        action.add_argument("--json", action="store_true", help="machine-readable output")
        add_endpoint_arguments(action)
        action.set_defaults(handler=handler)


def _stack_outputs(stack: str) -> dict[str, str]:
    try:
        description = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"cannot read stack {stack!r}: {aws_problem(exc)}") from None
    return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}


def _queues(args: argparse.Namespace) -> QueuePair:
    if args.dlq_url:
        return QueuePair(args.dlq_url, args.to_url)
    if not args.stack:
        raise UserError("give --stack (and --queue) or --dlq-url")
    outputs = _stack_outputs(args.stack)
    dlq_key, source_key = QUEUES[args.queue]
    if dlq_key not in outputs:
        raise UserError(f"stack {args.stack!r} has no output {dlq_key}")
    return QueuePair(outputs[dlq_key], args.to_url or outputs.get(source_key))


def _receive(queue_url: str, visibility: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        client("sqs")
        .receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        .get("Messages", [])
    )
    return messages


def peek(queue_url: str, limit: int) -> Iterator[dict[str, Any]]:
    """Each waiting message once (they become visible again at once: nothing is removed)."""
    seen: set[str] = set()
    while len(seen) < limit:
        fresh = [m for m in _receive(queue_url, visibility=0) if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh[: limit - len(seen)]:
            seen.add(message["MessageId"])
            yield message


def redrive(dlq_url: str, source_url: str, limit: int) -> int:
    """Send each message back to ``source_url``, deleting it from the DLQ only once it is sent.

    Bodies are sent as they are, unchecked: a digest job is no event, and an event that is
    still invalid is quarantined by the pipeline."""
    target = QueueTarget(source_url)
    moved = 0
    while moved < limit:
        messages = _receive(dlq_url, visibility=120)[: limit - moved]
        if not messages:
            return moved
        publisher: Publisher[dict[str, Any]] = Publisher(target, validate=False)
        for message in messages:
            publisher.add(message["Body"], message)
        result = publisher.flush()
        sent = list(result.sent.values())
        if sent:
            client("sqs").delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(sent)
                ],
            )
        moved += len(sent)
        if result.refused:
            raise UserError(
                f"moved {moved}; {len(result.refused)} message(s) could not be sent back and "
                "stay in the dead-letter queue"
            )
    return moved


def _show(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    queues = _queues(args)
    count = 0
    try:
        for message in peek(queues.dlq_url, args.max):
            count += 1
            attributes = message.get("Attributes", {})
            row = {
                "message_id": message["MessageId"],
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "sent_timestamp": int(attributes.get("SentTimestamp", 0)),
                "body": message["Body"],
            }
            if args.json:
                print(json_line(row))
            else:
                body = row["body"] if len(row["body"]) <= 120 else row["body"][:119] + "…"
                print(f"{row['message_id']}  received {row['receive_count']}x  {body}")
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"cannot read the dead-letter queue: {aws_problem(exc)}") from None
    if not args.json:
        print(f"{count} message(s) in {queues.dlq_url}", file=sys.stderr)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    apply_aws_arguments(args)
    queues = _queues(args)
    if not queues.source_url:
        raise UserError("no queue to redrive to: give --to-url or a --stack with its outputs")
    try:
        moved = redrive(queues.dlq_url, queues.source_url, args.max)
    except (ClientError, BotoCoreError) as exc:
        raise UserError(f"redrive failed: {aws_problem(exc)}") from None
    if args.json:
        print(json.dumps({"moved": moved, "to": queues.source_url}))
    else:
        print(f"moved {moved} message(s) back to {queues.source_url}")
    return 0
