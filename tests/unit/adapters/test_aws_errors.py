"""The one map from botocore's errors to what they mean for Rapport."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from rapport.adapters.errors import Outcome, outcome, transient_as_domain
from rapport.errors import InvalidEvent, PermanentStoreError, Rejected, Transient, Undeliverable


def _client_error(code: str, message: str = "x", status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}}
    return ClientError({**response, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_client_error("ConditionalCheckFailedException"), Outcome.CONDITION_FAILED),
        (_client_error("ValidationException", "Item size has exceeded"), Outcome.TOO_LARGE),
        (_client_error("ValidationException", "Invalid expression"), Outcome.FAILED),
        (_client_error("MessageRejected"), Outcome.REFUSED),
        (_client_error("BadRequestException"), Outcome.REFUSED),
        (_client_error("ProvisionedThroughputExceededException"), Outcome.TRANSIENT),
        (_client_error("ThrottlingException"), Outcome.TRANSIENT),
        (_client_error("TooManyRequestsException", status=429), Outcome.TRANSIENT),
        (_client_error("SomethingNew", status=503), Outcome.TRANSIENT),
        (_client_error("AccessDeniedException"), Outcome.FAILED),
        (_client_error("ResourceNotFoundException"), Outcome.FAILED),
        (ConnectTimeoutError(endpoint_url="http://x"), Outcome.TRANSIENT),
        (ReadTimeoutError(endpoint_url="http://x"), Outcome.TRANSIENT),
        (ValueError("a bug"), Outcome.FAILED),
    ],
)
def test_each_error_has_one_meaning(error: Exception, expected: Outcome) -> None:
    assert outcome(error) is expected


def test_only_transient_errors_become_transient() -> None:
    throttled = _client_error("ThrottlingException")
    with pytest.raises(Transient) as raised, transient_as_domain():
        raise throttled
    assert raised.value.__cause__ is throttled
    denied = _client_error("AccessDeniedException")
    with pytest.raises(ClientError), transient_as_domain():
        raise denied


@pytest.mark.parametrize("kind", [InvalidEvent, PermanentStoreError, Undeliverable])
def test_every_permanent_case_is_rejected_with_a_code(kind: type[Rejected]) -> None:
    problem = kind("some_code", "what is wrong")
    assert isinstance(problem, Rejected)
    assert (problem.error_code, problem.message, problem.event_id) == (
        "some_code",
        "what is wrong",
        None,
    )
    assert str(problem) == "some_code: what is wrong"
