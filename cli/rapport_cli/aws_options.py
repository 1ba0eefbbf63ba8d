"""The flags every command that talks to a deployed (or local) stack shares."""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlsplit

from rapport.adapters.aws import reset_clients


def http_url(text: str) -> str:
    """An argparse type: refuse anything that is not an http(s) URL before the SDK sees it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL")
    return text


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", type=http_url, metavar="URL", help="an AWS-compatible endpoint (moto)"
    )
    parser.add_argument("--region", metavar="REGION", help="AWS region (default: from the SDK)")


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table", required=True, metavar="NAME", help="the stack's table (output TableName)"
    )
    add_endpoint_arguments(parser)


def add_destination_arguments(parser: argparse.ArgumentParser) -> None:
    """For commands that publish events: to the events queue or to the event bus."""
    destination = parser.add_mutually_exclusive_group(required=True)
    destination.add_argument(
        "--queue-url",
        type=http_url,
        metavar="URL",
        help="send to the events queue (stack output EventsQueueUrl) with SendMessageBatch",
    )
    destination.add_argument(
        "--bus",
        metavar="NAME",
        help=(
            "put on the event bus (stack output EventBusName, or EventBusArn from another "
            "account) with PutEvents"
        ),
    )
    add_endpoint_arguments(parser)


def apply_aws_arguments(args: argparse.Namespace) -> None:
    """Point every client this process creates at the chosen endpoint and region."""
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    reset_clients()
