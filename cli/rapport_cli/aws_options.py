"""The flags every command that talks to a deployed (or local) stack shares."""

from __future__ import annotations

import argparse
import os

from rapport.adapters.aws import reset_clients


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table", required=True, metavar="NAME", help="the stack's table (output TableName)"
    )
    parser.add_argument("--endpoint-url", metavar="URL", help="an AWS-compatible endpoint (moto)")
    parser.add_argument("--region", metavar="REGION", help="AWS region (default: from the SDK)")


def apply_aws_arguments(args: argparse.Namespace) -> None:
    """Point every client this process creates at the chosen endpoint and region."""
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    reset_clients()
