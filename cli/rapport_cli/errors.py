"""Errors the CLI reports as one readable line instead of a traceback, and the wording of the
mistakes every command can meet: paths that are the wrong kind of thing, unreachable endpoints."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)


class UserError(Exception):
    """Something the person running the command can fix (a missing file, a bad flag value)."""


_OS_REASONS = {
    errno.ENOENT: "does not exist",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "has a file where a directory should be",
    errno.EEXIST: "already exists",
    errno.EACCES: "is not accessible (permission denied)",
    errno.EPERM: "is not accessible (operation not permitted)",
    errno.EROFS: "is on a read-only file system",
    errno.ENOSPC: "is on a full disk",
}


def os_problem(exc: OSError) -> str:
    """``path: what is wrong`` for a failed file operation, without errno numbers."""
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{exc.filename}: {reason}" if exc.filename else reason


def aws_problem(exc: BotoCoreError | ClientError) -> str:
    """What an SDK error means for the person at the terminal, and what to change."""
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach {exc.kwargs['endpoint_url']}: is the server running? (--endpoint-url)"
    if isinstance(exc, NoRegionError):
        return "no AWS region: give --region or set AWS_DEFAULT_REGION"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    return str(exc)


def input_files(paths: list[Path], flag: str) -> list[Path]:
    """``paths`` if each is a readable file; checked before any work starts."""
    for path in paths:
        if path.is_dir():
            raise UserError(f"{flag} {path} is a directory; give a file")
        if not path.is_file():
            raise UserError(f"{flag} {path}: no such file")
        if not os.access(path, os.R_OK):
            raise UserError(f"{flag} {path} is not readable (permission denied)")
    return paths


def output_dir(path: Path, flag: str = "--out") -> Path:
    """``path`` created if missing, before any work starts, so a bad ``--out`` fails at once."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file; give a directory (created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create {flag} {path} ({exc.strerror}); choose a writable directory"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path} is not writable; choose another directory")
    return path


def output_file(path: Path, flag: str = "--out") -> Path:
    """``path`` if a file can be written there (its directory exists), checked before any work."""
    if path.is_dir():
        raise UserError(f"{flag} {path} is a directory; give a file name, e.g. {path / 'out'}")
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: directory {parent} is not writable")
    return path
