"""Shared test setup: a region for boto3, no real AWS credentials ever, and Hypothesis profiles."""

import os

import tests.support.examples  # noqa: F401 - registers and loads the Hypothesis profile

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

pytest_plugins = ["tests.support.local_aws", "tests.support.browser"]
