"""The CloudEvents contract of DESIGN §2 as pydantic models.

Models are strict (no silent coercion of ``"3"`` to ``3`` or of numbers to timestamps) because a
platform that sends the wrong type should hear about it, not have its data reinterpreted.
Unknown envelope attributes (CloudEvents extensions) and unknown ``data`` fields are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

SPEC_VERSION = "1.0"
MAX_EVENT_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
MAX_NOTE_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
#: Event times outside this range are not plausible, and date arithmetic on them (the response
#: window, the next digest, local weeks) would overflow Python's datetime near year 1 or 9999.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9000, 1, 1, tzinfo=UTC)

# Offsets are at most 23:59 either way (RFC 3339 §5.6); ASCII digits only, since ``\d`` is
# Unicode in Python and Rust but ASCII in the JSON Schema's ECMA-262 dialect.
_OFFSET_HHMM = "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    f"([Zz]|[+-]{_OFFSET_HHMM})$"
)


def _plausible_time() -> str:
    """The strings ``parse_rfc3339`` accepts, as closely as a pattern can say it.

    A real calendar date (leap years included) from 1970 to 8999, a time of day up to 23:59:59,
    an offset within ±23:59; on the two days just outside that (1969-12-31 and 9000-01-01), only
    an offset that can move the instant into the range. What a pattern cannot do is add the
    offset: on 1969-12-31, 1970-01-01, 8999-12-31 and 9000-01-01 only the pipeline can tell
    whether the instant is in range.
    """
    day31 = "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    day30 = "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    february = "02-(?:0[1-9]|1[0-9]|2[0-8])"
    year = "(?:19[7-9][0-9]|[2-8][0-9]{3})"
    # Divisible by 4 and not by 100, or by 400, from 1972 to 8996.
    leap_year = (
        "(?:19(?:7[26]|8[048]|9[26])|[2-8][0-9](?:0[48]|[2468][048]|[13579][26])"
        "|(?:[2468][048]|[357][26])00)"
    )
    clock = r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    nonzero_offset = "(?:00:(?:0[1-9]|[1-5][0-9])|(?:0[1-9]|1[0-9]|2[0-3]):[0-5][0-9])"
    return (
        f"^(?:(?:{year}-(?:{day31}|{day30}|{february})|{leap_year}-02-29){clock}"
        f"(?:[Zz]|[+-]{_OFFSET_HHMM})"
        f"|1969-12-31{clock}-{nonzero_offset}"
        rf"|9000-01-01{clock}\+{nonzero_offset})$"
    )


PLAUSIBLE_TIME = re.compile(_plausible_time())
# RFC 5322 dot-atom local part (no leading, trailing or doubled dot: a mail header parser reads
# those as obsolete syntax and rewrites them) at a WHATWG-valid domain.
_ATOM = r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*$")
#: What a mail header would decode or act on instead of carrying it: RFC 2047 encoded-words and
#: control characters (below).
_ENCODED_WORD = r"=\?"
#: C0 and C1 controls and the line and paragraph separators: they would break a log line, a
#: header or a terminal that shows the value.
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
CONTROL_CHARACTER = re.compile(f"[{_CONTROLS}]")
_HEADER_HAZARD = re.compile(f"{_ENCODED_WORD}|[{_CONTROLS}]")
_NO_CONTROL_CHARS = f"^[^{_CONTROLS}]+$"
#: What ``str.strip`` removes besides the controls above: a value of only these is blank.
WHITESPACE = r" \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
#: An id for the JSON Schema: no controls and not blank. The models check the same with the
#: pattern above and ``_not_blank``, so that a blank id keeps its own error code.
_ID_PATTERN = f"^[{WHITESPACE}]*[^{_CONTROLS}{WHITESPACE}][^{_CONTROLS}]*$"


def _uri_reference() -> str:
    """RFC 3986 URI-reference, transcribed from its ABNF (appendix A).

    Written without look-arounds or ``\\d`` so that Python, Rust (pydantic) and ECMA-262 (JSON
    Schema) read it alike. IPv4 addresses need no rule of their own: ``reg-name`` covers them.
    """
    hexdig = "[0-9A-Fa-f]"
    pct_encoded = f"%{hexdig}{hexdig}"
    unreserved = r"A-Za-z0-9._~\-"
    sub_delims = "!$&'()*+,;="
    pchar = f"(?:[{unreserved}{sub_delims}:@]|{pct_encoded})"
    segment_nz_nc = f"(?:[{unreserved}{sub_delims}@]|{pct_encoded})+"
    h16 = f"{hexdig}{{1,4}}"
    dec_octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{dec_octet}(?:\.{dec_octet}){{3}})"
    # IPv6address: up to 8 groups with at most one "::"; after n groups before the "::", room for
    # 5 - n groups and ls32, then for one group, then for none.
    after_gap = [f"(?:{h16}:){{{5 - n}}}{ls32}" for n in range(6)] + [h16, ""]
    ipv6 = "|".join(
        [
            f"(?:{h16}:){{6}}{ls32}",
            *(
                (f"(?:(?:{h16}:){{0,{n - 1}}}{h16})?" if n else "") + "::" + tail
                for n, tail in enumerate(after_gap)
            ),
        ]
    )
    ip_future = rf"[vV]{hexdig}+\.[{unreserved}{sub_delims}:]+"
    host = rf"(?:\[(?:{ipv6}|{ip_future})\]|(?:[{unreserved}{sub_delims}]|{pct_encoded})*)"
    userinfo = f"(?:[{unreserved}{sub_delims}:]|{pct_encoded})*"
    authority = f"(?:{userinfo}@)?{host}(?::[0-9]*)?"
    rest = f"(?:/{pchar}*)*"
    hier_part = f"(?://{authority}{rest}|/(?:{pchar}+{rest})?|{pchar}+{rest})?"
    relative_part = f"(?://{authority}{rest}|/(?:{pchar}+{rest})?|{segment_nz_nc}{rest})?"
    query_or_fragment = f"(?:{pchar}|[/?])*"
    scheme = r"[A-Za-z][A-Za-z0-9+.\-]*"
    return (
        f"^(?:{scheme}:{hier_part}|{relative_part})"
        f"(?:\\?{query_or_fragment})?(?:#{query_or_fragment})?$"
    )


_URI_REFERENCE = re.compile(_uri_reference())


def _caseless(text: str) -> str:
    """``text`` as a pattern matching it in any case (JSON Schema patterns have no flags)."""
    return "".join(f"[{char.upper()}{char.lower()}]" if char.isalpha() else char for char in text)


#: RFC 6838 restricted-name characters; a parameter value is an RFC 9110 token.
_SUBTYPE_PREFIX = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*\+"
_PARAMETER_VALUE = r"[A-Za-z0-9!#$%&'*+.^_`|~\-]+"
#: ``application/json`` or ``application/<name>+json``, in any case, with at most a charset
#: parameter: a media type that is JSON by name, with nothing a consumer could act on.
_JSON_MEDIA_TYPE = re.compile(
    f"^{_caseless('application/')}(?:{_SUBTYPE_PREFIX})?{_caseless('json')}"
    f'(?: *; *{_caseless("charset")}=(?:{_PARAMETER_VALUE}|"{_PARAMETER_VALUE}"))?$'
)


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
            "Timestamp must be RFC 3339 with an offset (Z, or -23:59 to +23:59), "
            "like 2026-11-02T09:30:00+01:00",
        )
    fraction, offset = match.group(1) or "", match.group(2)
    normalised = value[: match.start(1) if fraction else match.start(2)]
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
    """An address digests can be sent to, which a ``To:`` header carries byte for byte."""
    if _HEADER_HAZARD.search(value):
        raise PydanticCustomError(
            "unsafe_email",
            "The address uses syntax a mail header would decode or rewrite "
            "(RFC 2047 encoded-words, controls)",
        )
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError("invalid_email", "Value is not a valid email address")
    return value


def _uri_reference_value(value: str) -> str:
    if not _URI_REFERENCE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_uri_reference",
            "Value must be a URI-reference (RFC 3986): no spaces, quotes, angle brackets, "
            "braces, backslashes, controls or malformed percent-escapes",
        )
    return value


def _json_media_type(value: str) -> str:
    if not _JSON_MEDIA_TYPE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_content_type",
            "datacontenttype must be application/json or application/*+json, "
            "with no parameter but charset",
        )
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


@dataclass(frozen=True)
class _NoneAsDefault:
    """Read an explicit null as an absent key (every context key has a contract default), and
    say so in the JSON Schema: the value's own schema, or null."""

    default: Callable[[], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        default = self.default
        return core_schema.no_info_before_validator_function(
            lambda value: default() if value is None else value, handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


@dataclass(frozen=True)
class _JsonSchemaEnum:
    """Add ``enum`` to a value's JSON Schema, listed only when a schema is generated."""

    values: Callable[[], frozenset[str]]

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "enum": sorted(self.values())}


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": PLAUSIBLE_TIME.pattern}),
]
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=_NO_CONTROL_CHARS),
    AfterValidator(_not_blank),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": _ID_PATTERN}
    ),
]
NonBlank = Annotated[str, StringConstraints(min_length=1), AfterValidator(_not_blank)]
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE_LENGTH)]
Email = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL_LENGTH),
    AfterValidator(_valid_email),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": MAX_EMAIL_LENGTH,
            "pattern": _EMAIL.pattern,
            "not": {"pattern": _ENCODED_WORD},
        }
    ),
]
UriReference = Annotated[
    NonBlank,
    AfterValidator(_uri_reference_value),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": _URI_REFERENCE.pattern}),
]
JsonMediaType = Annotated[
    str,
    AfterValidator(_json_media_type),
    WithJsonSchema({"type": "string", "pattern": _JSON_MEDIA_TYPE.pattern}),
]
TimezoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_valid_timezone),
    _JsonSchemaEnum(_iana_zones),
]
StringList = Annotated[list[str], _NoneAsDefault(list)]
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

    mutual_connections: Annotated[int, Field(ge=0), _NoneAsDefault(int)] = 0
    shared_groups: StringList = Field(default_factory=list)
    shared_credentials: StringList = Field(default_factory=list)
    shared_employers: StringList = Field(default_factory=list)
    shared_schools: StringList = Field(default_factory=list)
    prior_interaction: Annotated[PriorInteraction, _NoneAsDefault(lambda: "none")] = "none"


class RequestRef(_Strict):
    request_id: Identifier
    sender_id: Identifier

    @property
    def owner(self) -> str:
        """The member whose event this is: a request's events belong to its sender."""
        return self.sender_id


class RequestFacts(_Strict):
    """The facts of a sent request that a reason can be derived from."""

    note: Note | None = None
    context: Annotated[RequestContext, _NoneAsDefault(RequestContext)] = Field(
        default_factory=RequestContext
    )


class _AddressedRequest(RequestRef):
    """A request and the member it went to: the first fields of ``SentData``, a base of its own
    so that the fields keep the contract's order (request, recipient, then the facts)."""

    recipient: Recipient


# A sent request: its reference and recipient, and its ``RequestFacts``. On the wire the note is
# required (null for none), where a ``RequestFacts`` may leave it out. (No docstring: it would
# become the published schema's description.)
class SentData(RequestFacts, _AddressedRequest):
    note: Note | None


class DeclinedData(RequestRef):
    note: Note | None = None


class PreferencesData(_Strict):
    member_id: Identifier
    email: Email
    timezone: TimezoneName = "UTC"
    digest_day: DigestDay = "monday"
    digest_hour: Annotated[int, Field(ge=0, le=23)] = 8
    digest_enabled: bool = True

    @property
    def owner(self) -> str:
        """The member whose event this is: the one whose preferences they are."""
        return self.member_id


class CloudEvent(_Strict):
    """The CloudEvents 1.0 envelope in structured JSON mode; ``time`` is required here."""

    specversion: Literal["1.0"]
    id: Identifier
    source: UriReference
    type: str
    time: Timestamp
    subject: str | None = None
    datacontenttype: JsonMediaType | None = None

    @classmethod
    def event_type(cls) -> str:
        """The ``type`` this model validates, read from its ``Literal``."""
        (value,) = get_args(cls.model_fields["type"].annotation)
        return str(value)


class RequestSent(CloudEvent):
    """A member sent a connection request (with the note and context it carried)."""

    type: Literal["rapport.connection_request.sent"]
    data: SentData


class RequestAccepted(CloudEvent):
    """The recipient accepted the request."""

    type: Literal["rapport.connection_request.accepted"]
    data: RequestRef


class RequestDeclined(CloudEvent):
    """The recipient declined the request, with their words if they gave any."""

    type: Literal["rapport.connection_request.declined"]
    data: DeclinedData


class RequestWithdrawn(CloudEvent):
    """The sender withdrew the request."""

    type: Literal["rapport.connection_request.withdrawn"]
    data: RequestRef


class RequestExpired(CloudEvent):
    """The platform closed the request unanswered."""

    type: Literal["rapport.connection_request.expired"]
    data: RequestRef


class PreferencesUpdated(CloudEvent):
    """A member's digest address and settings; the latest `time` wins."""

    type: Literal["rapport.member.preferences_updated"]
    data: PreferencesData


RequestEvent = RequestSent | RequestAccepted | RequestDeclined | RequestWithdrawn | RequestExpired
RapportEvent = RequestEvent | PreferencesUpdated

EventModel = type[RequestEvent] | type[PreferencesUpdated]
#: Every event type of the contract and the model that validates it.
EVENT_MODELS: dict[str, EventModel] = {
    model.event_type(): model
    for model in (
        RequestSent,
        RequestAccepted,
        RequestDeclined,
        RequestWithdrawn,
        RequestExpired,
        PreferencesUpdated,
    )
}


def envelope(
    model: EventModel,
    *,
    event_id: str,
    source: str,
    time: str,
    data: Any,
    **attributes: Any,
) -> dict[str, Any]:
    """An event of ``model``'s type as a JSON document, unvalidated (a test or a generator may
    build a broken one on purpose): the one place an envelope is written, so the ``type``
    always comes from the model. ``attributes`` (``subject``, ``datacontenttype``, extensions)
    come before ``data``."""
    return {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source,
        "type": model.event_type(),
        "time": time,
        **attributes,
        "data": data,
    }
