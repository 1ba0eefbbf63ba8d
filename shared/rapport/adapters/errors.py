"""What a failed AWS call means for Rapport: botocore's errors are read here and nowhere else.

Every adapter asks ``outcome`` and acts on the answer: a failed condition is an answer, not an
error; a refusal or an item too large is permanent (a ``rapport.errors.Rejected``); a transient
failure may pass on a retry; anything else propagates as it is (SQS redelivers, then
dead-letters).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from rapport.errors import Transient


class Outcome(StrEnum):
    #: A conditional write's condition was false: what is stored already answers the write.
    CONDITION_FAILED = "condition_failed"
    #: The item would pass DynamoDB's 400 KB limit: the same write can never succeed.
    TOO_LARGE = "too_large"
    #: SES refused this very message (say, a rejected address): sending it again cannot help.
    REFUSED = "refused"
    #: Throttling, a server error, a timeout: what AWS documents as retryable.
    TRANSIENT = "transient"
    #: Anything else (a missing table, denied access, a bug): neither retried here nor settled.
    FAILED = "failed"


_TRANSIENT_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionConflictException",
    }
)
_OUTCOMES: dict[str, Outcome] = {
    "ConditionalCheckFailedException": Outcome.CONDITION_FAILED,
    "MessageRejected": Outcome.REFUSED,
    "BadRequestException": Outcome.REFUSED,
} | dict.fromkeys(_TRANSIENT_CODES, Outcome.TRANSIENT)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def outcome(error: Exception) -> Outcome:
    """The one map from a botocore error (or any other exception) to what it means."""
    if isinstance(error, (ConnectionError, HTTPClientError)):  # timeouts, resets, no route
        return Outcome.TRANSIENT
    if not isinstance(error, ClientError):
        return Outcome.FAILED
    code = error_code(error)
    if code == "ValidationException" and "size" in str(error).lower():
        return Outcome.TOO_LARGE
    if code in _OUTCOMES:
        return _OUTCOMES[code]
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return Outcome.TRANSIENT if status >= 500 else Outcome.FAILED


@contextmanager
def transient_as_domain() -> Iterator[None]:
    """Raise a transient AWS error as ``rapport.errors.Transient``, which the core retries without
    knowing botocore; any other error goes on as it is."""
    try:
        yield
    except Exception as error:
        if outcome(error) is Outcome.TRANSIENT:
            raise Transient(str(error)) from error
        raise
