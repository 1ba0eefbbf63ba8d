"""The unsubscribe signing key, kept in Secrets Manager (never in code or template defaults)."""

from __future__ import annotations

from rapport.adapters.aws import client


def signing_key(secret_id: str) -> bytes:
    secret = client("secretsmanager").get_secret_value(SecretId=secret_id)
    return str(secret["SecretString"]).encode("utf-8")
