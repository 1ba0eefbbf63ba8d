"""Shared test setup: a region for boto3, and no real AWS credentials ever."""

import os

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

pytest_plugins = ["tests.support.local_aws", "tests.support.browser"]
