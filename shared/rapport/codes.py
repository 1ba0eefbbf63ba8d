"""Outcome and reason codes of the DESIGN §3 contract, and the defaults and limits every layer
shares (here, not in ``rapport.settings``, so that reading them needs no pydantic)."""

from enum import StrEnum

#: Days an unanswered request stays pending before it becomes ``no_response`` (DESIGN §3: 80% of
#: eventual acceptances arrive within about 15 days); a deployment may set its own.
DEFAULT_RESPONSE_WINDOW_DAYS = 21
#: Days a member's data lives after its last write (DynamoDB TTL); a deployment may set its own.
DEFAULT_RETENTION_DAYS = 400
#: The most ingest workers a deployment may ask for; DynamoDB clients keep this many connections
#: (``rapport.adapters.aws``), so no worker ever waits for one.
MAX_INGEST_WORKERS = 32
#: Set only by the local runtime (``rapport.settings.SdkSettings``): when it is absent a client is
#: made without parsing any settings, so a cold start does not import pydantic for it.
SDK_READ_TIMEOUT_VARIABLE = "SDK_READ_TIMEOUT_SECONDS"


class Outcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    NO_RESPONSE = "no_response"


class ReasonCode(StrEnum):
    MET_ONLY = "met_only"
    DOESNT_RECOGNIZE = "doesnt_recognize"
    NO_NOTE = "no_note"
    GENERIC_NOTE = "generic_note"
    SALES_PITCH = "sales_pitch"
    RECRUITER = "recruiter"
    OFF_FIELD = "off_field"
    WEAK_PROFILE = "weak_profile"
    NO_COMMON_GROUND = "no_common_ground"
    COLLECTOR = "collector"
    REPUTATION_RISK = "reputation_risk"
    NO_DECISION = "no_decision"
    UNKNOWN = "unknown"


#: Outcomes that carry reasons; the others (accepted, pending, withdrawn) never do.
OUTCOMES_WITH_REASONS = frozenset({Outcome.DECLINED, Outcome.NO_RESPONSE})
