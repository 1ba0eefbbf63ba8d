"""The CloudEvents contract of DESIGN §2 as pydantic models.

Models are strict (no silent coercion of ``"3"`` to ``3`` or of numbers to timestamps) because a
platform that sends the wrong type should hear about it, not have its data reinterpreted.
Unknown envelope attributes (CloudEvents extensions) and unknown ``data`` fields are ignored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

SPEC_VERSION = "1.0"
MAX_EVENT_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
MAX_NOTE_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
#: Event times outside this range are not plausible, and date arithmetic on them (the response
#: window, the next digest, local weeks) would overflow Python's datetime near year 1 or 9999.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9000, 1, 1, tzinfo=UTC)

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?P<fraction>\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})$"
)
# WHATWG HTML "valid email address": the grammar browsers enforce for <input type=email>.
_EMAIL = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"


def parse_rfc3339(value: Any) -> datetime:
    """Accept only RFC 3339 strings with an explicit offset; return an aware UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError("invalid_time", "Timestamp must carry a UTC offset")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_time", "Timestamp must be an RFC 3339 string")
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise PydanticCustomError(
            "invalid_time",
            "Timestamp must be RFC 3339 with an offset, like 2026-11-02T09:30:00+01:00",
        )
    fraction = match.group("fraction") or ""
    offset = match.group("offset")
    normalised = value[: match.start("fraction") if fraction else match.start("offset")]
    normalised += fraction[:7] + ("+00:00" if offset in ("Z", "z") else offset)
    try:
        parsed = datetime.fromisoformat(normalised.replace("t", "T")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # 9999-12-31T23:59:59-01:00 is past year 9999
        raise PydanticCustomError(
            "invalid_time", "Timestamp is not a real instant: {reason}", {"reason": str(exc)}
        ) from exc
    if not EARLIEST_TIME <= parsed < LATEST_TIME:
        raise PydanticCustomError(
            "invalid_time", "Timestamp must be from 1970 up to the year 9000 (UTC)"
        )
    return parsed


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank_string", "Value must not be blank")
    return value


def _valid_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError("invalid_email", "Value is not a valid email address")
    return value


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    """The IANA zone names the pinned ``tzdata`` package ships, the same here and on Lambda.

    Asking ``ZoneInfo`` alone would also accept files of the host such as ``localtime``.
    """
    return frozenset(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())


def _known_timezone(name: str) -> bool:
    return name in _iana_zones()


def _valid_timezone(value: str) -> str:
    if not _known_timezone(value):
        raise PydanticCustomError("invalid_timezone", "Unknown IANA timezone")
    return value


def _none_as_default(default: Any) -> BeforeValidator:
    """Read an explicit null as an absent key: every context key has a contract default."""
    return BeforeValidator(lambda value: default() if value is None else value)


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _RFC3339.pattern}),
]
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=_NO_CONTROL_CHARS),
    AfterValidator(_not_blank),
]
NonBlank = Annotated[str, StringConstraints(min_length=1), AfterValidator(_not_blank)]
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE_LENGTH)]
Email = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL_LENGTH),
    AfterValidator(_valid_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}),
]
TimezoneName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_valid_timezone)
]
StringList = Annotated[list[str], _none_as_default(list)]
PriorInteraction = Literal["none", "met_in_person", "met_virtually", "messaged"]
DigestDay = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Recipient(_Strict):
    member_id: Identifier
    headline: str | None = None
    industry: str | None = None
    seniority: str | None = None


class RequestContext(_Strict):
    """What sender and recipient have in common when the request is sent."""

    mutual_connections: Annotated[int, Field(ge=0), _none_as_default(int)] = 0
    shared_groups: StringList = Field(default_factory=list)
    shared_credentials: StringList = Field(default_factory=list)
    shared_employers: StringList = Field(default_factory=list)
    shared_schools: StringList = Field(default_factory=list)
    prior_interaction: Annotated[PriorInteraction, _none_as_default(lambda: "none")] = "none"


class RequestRef(_Strict):
    request_id: Identifier
    sender_id: Identifier


class SentData(RequestRef):
    recipient: Recipient
    note: Note | None
    context: Annotated[RequestContext, _none_as_default(RequestContext)] = Field(
        default_factory=RequestContext
    )


class RequestFacts(_Strict):
    """The facts of a sent request that a reason can be derived from (a view of ``SentData``)."""

    note: Note | None = None
    context: Annotated[RequestContext, _none_as_default(RequestContext)] = Field(
        default_factory=RequestContext
    )


class DeclinedData(RequestRef):
    note: Note | None = None


class PreferencesData(_Strict):
    member_id: Identifier
    email: Email
    timezone: TimezoneName = "UTC"
    digest_day: DigestDay = "monday"
    digest_hour: Annotated[int, Field(ge=0, le=23)] = 8
    digest_enabled: bool = True


class CloudEvent(_Strict):
    """The CloudEvents 1.0 envelope in structured JSON mode; ``time`` is required here."""

    specversion: Literal["1.0"]
    id: Identifier
    source: Annotated[NonBlank, StringConstraints(pattern=_NO_CONTROL_CHARS)]
    type: str
    time: Timestamp
    subject: str | None = None
    datacontenttype: (
        Annotated[str, StringConstraints(pattern=r"^application/([\w.+-]+\+)?json\b")] | None
    ) = None


class RequestSent(CloudEvent):
    type: Literal["rapport.connection_request.sent"]
    data: SentData


class RequestAccepted(CloudEvent):
    type: Literal["rapport.connection_request.accepted"]
    data: RequestRef


class RequestDeclined(CloudEvent):
    type: Literal["rapport.connection_request.declined"]
    data: DeclinedData


class RequestWithdrawn(CloudEvent):
    type: Literal["rapport.connection_request.withdrawn"]
    data: RequestRef


class RequestExpired(CloudEvent):
    type: Literal["rapport.connection_request.expired"]
    data: RequestRef


class PreferencesUpdated(CloudEvent):
    type: Literal["rapport.member.preferences_updated"]
    data: PreferencesData


RequestEvent = RequestSent | RequestAccepted | RequestDeclined | RequestWithdrawn | RequestExpired
RapportEvent = RequestEvent | PreferencesUpdated

#: Every event type of the contract and the model that validates it.
EVENT_MODELS: dict[str, type[RequestEvent] | type[PreferencesUpdated]] = {
    "rapport.connection_request.sent": RequestSent,
    "rapport.connection_request.accepted": RequestAccepted,
    "rapport.connection_request.declined": RequestDeclined,
    "rapport.connection_request.withdrawn": RequestWithdrawn,
    "rapport.connection_request.expired": RequestExpired,
    "rapport.member.preferences_updated": PreferencesUpdated,
}
