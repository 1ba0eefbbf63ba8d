"""DynamoDB behind the ``EventStore`` port: one conditional write per new event, no reads.

Each request is one item holding its events as attributes named by dedupe key. A conditional
``UpdateItem`` both stores and dedupes; when the condition fails, DynamoDB returns the existing
item in the same response (``ReturnValuesOnConditionCheckFailure``), which tells a duplicate
from a conflict without a read.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.adapters.dynamodb import keys, quarantine
from rapport.adapters.dynamodb.items import (
    DIGEST_DAY,
    DIGEST_ENABLED,
    DIGEST_HOUR,
    DUE_SHARD,
    EMAIL,
    EVENTS_UNTIL,
    EXPIRES_AT,
    KIND,
    MEMBER_ID,
    MEMBER_REF,
    NEXT_DUE_AT,
    PREFERENCES_ORDER,
    PREFERENCES_TIME,
    TIMEZONE,
    EventEntry,
    Item,
    ProfileItem,
    RequestItem,
    event_attribute,
    key,
    key_of,
)
from rapport.adapters.dynamodb.recent_events import RecentEvents
from rapport.adapters.dynamodb.retention import Retention
from rapport.adapters.errors import Outcome, outcome
from rapport.contract import PreferencesData, PreferencesUpdated, RequestRef, SentData
from rapport.digest.schedule import due_shard
from rapport.errors import PermanentStoreError
from rapport.history import events_until
from rapport.ingest import DEFAULT_FUTURE_TOLERANCE
from rapport.ingest.ports import QuarantineEntry, StoredEvent, WriteOutcome
from rapport.timeutil import iso_utc, sortable

#: The item's key says whose request it is: a write sets only what an event changes.
_REQUEST_EVENT_UPDATE = "SET #ev = :ev, #exp = :exp, #until = :until"
#: A sent event also names the recipient, so the requests a member received can be found.
_SENT_EVENT_UPDATE = _REQUEST_EVENT_UPDATE + ", #ref = :ref"
_REQUEST_EVENT_CONDITION = (
    "attribute_not_exists(#ev) AND (attribute_not_exists(#exp) OR #exp > :now)"
)
#: A request has one recipient: a second sent event naming another is refused, not merged.
_SENT_EVENT_CONDITION = (
    _REQUEST_EVENT_CONDITION + " AND (attribute_not_exists(#ref) OR #ref = :ref)"
)
_REQUEST_EVENT_NAMES = {"#exp": EXPIRES_AT, "#until": EVENTS_UNTIL}
_SENT_EVENT_NAMES = {**_REQUEST_EVENT_NAMES, "#ref": MEMBER_REF}
_PREFERENCES_UPDATE = (
    "SET #ev = :ev, #kind = :kind, #member = :member, #email = :email, #tz = :tz,"
    " #day = :day, #hour = :hour, #enabled = :enabled, #order = :order, #at = :at,"
    " #exp = :exp"
)
_PREFERENCES_NAMES = {
    "#kind": KIND,
    "#member": MEMBER_ID,
    "#email": EMAIL,
    "#tz": TIMEZONE,
    "#day": DIGEST_DAY,
    "#hour": DIGEST_HOUR,
    "#enabled": DIGEST_ENABLED,
    "#order": PREFERENCES_ORDER,
    "#at": PREFERENCES_TIME,
    "#exp": EXPIRES_AT,
}


#: Seeded from the operating system once per container. The tokens only need to differ from
#: one write of an event to the next, not to be secret, and ``os.urandom`` on every write is a
#: system call that hands the interpreter lock to another worker thread.
_TOKENS = random.Random()  # noqa: S311 (uniqueness, not secrecy)


def _write_token() -> str:
    """A token for one write and its SDK retries: a new one for every delivery of a message.

    A write that timed out on the client may still have been applied; the SDK's retry then fails
    its condition against the event it wrote itself. The token tells that apart from a redelivery.
    """
    return f"{_TOKENS.getrandbits(48):012x}"


def _outcome_from_existing(
    item: Item | None, attribute: str, fingerprint: str, token: str
) -> WriteOutcome | None:
    """Applied if ``item`` holds this very write, duplicate or conflict if it holds the event
    from an earlier one; None if it does not hold the event."""
    if not item or attribute not in item:
        return None
    existing = EventEntry.decode(item[attribute])
    if existing.token == token:
        return WriteOutcome.APPLIED
    same = existing.fingerprint == fingerprint
    return WriteOutcome.DUPLICATE if same else WriteOutcome.CONFLICT


class DynamoEventStore:
    def __init__(
        self,
        table_name: str,
        retention: Retention | None = None,
        recent: RecentEvents | None = None,
        future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    ) -> None:
        """``future_tolerance`` must be the one the ingest checks events against: it bounds the
        times of the events each write stores (``rapport.history``)."""
        self.table_name = table_name
        self.retention = retention or Retention()
        self.recent = recent if recent is not None else RecentEvents()
        self.future_tolerance = future_tolerance

    def _known(self, location: str, fingerprint: str) -> WriteOutcome | None:
        """What the conditional write would say, if this container has seen the event already."""
        seen = self.recent.fingerprint(location)
        if seen is None:
            return None
        return WriteOutcome.DUPLICATE if seen == fingerprint else WriteOutcome.CONFLICT

    def _update(self, **request: Any) -> dict[str, Any]:
        """An ``UpdateItem`` request on the table that returns the old item if it fails."""
        return {
            "TableName": self.table_name,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **request,
        }

    def _conditional_update(self, request: dict[str, Any]) -> Item | None:
        """Run an update; None when it applied, the existing item when its condition failed."""
        try:
            client("dynamodb").update_item(**request)
        except ClientError as error:
            failure = outcome(error)
            if failure is Outcome.CONDITION_FAILED:
                return dict(error.response.get("Item") or {})
            if failure is Outcome.TOO_LARGE:
                raise PermanentStoreError(
                    "request_too_large",
                    "The request's events together exceed what one request may hold",
                ) from error
            raise
        return None

    def apply_request_event(self, stored: StoredEvent) -> WriteOutcome:
        data = stored.event.data
        assert not isinstance(data, PreferencesData)
        attribute = event_attribute(stored.key)
        pk, sk = keys.member_pk(data.sender_id), keys.request_sk(data.request_id)
        location = f"{pk}|{sk}|{attribute}"
        if (known := self._known(location, stored.fingerprint)) is not None:
            return known
        token = _write_token()
        write = self._request_event_write(attribute, data, stored, token=token)
        existing = self._conditional_update(write)
        if existing is not None and not self.retention.live(existing):
            # The request expired but TTL has not deleted it yet: its old events must not come
            # back with this write, so the remains go first (only if still the same remains).
            self._purge_expired(pk, sk, existing)
            existing = self._conditional_update(write)  # same request: its clock is ms old
        if existing is None:
            self.recent.remember(location, stored.fingerprint)
            return WriteOutcome.APPLIED
        outcome = _outcome_from_existing(existing, attribute, stored.fingerprint, token)
        if outcome is None and isinstance(data, SentData):
            raise PermanentStoreError(
                "conflicting_recipient",
                "The request was already sent to another recipient; a request has one",
            )
        if outcome is None:  # the condition tests only this attribute and the recipient
            raise RuntimeError("conditional write failed without an existing event")
        # What DynamoDB holds:
        self.recent.remember(location, EventEntry.decode(existing[attribute]).fingerprint)
        return outcome

    def _purge_expired(self, pk: str, sk: str, expired: Item) -> None:
        try:
            client("dynamodb").delete_item(
                TableName=self.table_name,
                Key=key(pk, sk),
                ConditionExpression="#exp = :seen",
                ExpressionAttributeNames={"#exp": EXPIRES_AT},
                ExpressionAttributeValues={":seen": expired[EXPIRES_AT]},
            )
        except ClientError as error:
            if outcome(error) is not Outcome.CONDITION_FAILED:  # else someone wrote first
                raise

    def _request_event_write(
        self, attribute: str, data: RequestRef, stored: StoredEvent, *, token: str
    ) -> dict[str, Any]:
        """The one conditional write that stores a request event.

        The condition fails when the event is already there, and also when the item has expired,
        so expired remains are never silently extended. Built on every event: only its
        variable parts are made here, the rest are module constants.
        """
        now, expiry = self.retention.stamps()
        recipient = data.recipient.member_id if isinstance(data, SentData) else None
        sent = recipient is not None
        item = RequestItem(
            data.sender_id,
            data.request_id,
            {attribute: EventEntry(stored.fingerprint, token, stored.canonical)},
            member_ref=None if recipient is None else keys.member_pk(recipient),
            events_until=sortable(events_until(self.retention.clock(), self.future_tolerance)),
        ).encode()
        values: dict[str, Any] = {":ref": item[MEMBER_REF]} if sent else {}
        return {
            # What ``_update`` adds, written out: this request is built once per event.
            "TableName": self.table_name,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            "Key": key_of(item),
            "UpdateExpression": _SENT_EVENT_UPDATE if sent else _REQUEST_EVENT_UPDATE,
            "ConditionExpression": _SENT_EVENT_CONDITION if sent else _REQUEST_EVENT_CONDITION,
            "ExpressionAttributeNames": {
                "#ev": attribute,
                **(_SENT_EVENT_NAMES if sent else _REQUEST_EVENT_NAMES),
            },
            "ExpressionAttributeValues": {
                **values,
                ":ev": item[attribute],
                ":exp": expiry,
                ":now": now,
                ":until": item[EVENTS_UNTIL],
            },
        }

    def apply_preferences(
        self, stored: StoredEvent, next_digest_due: datetime | None
    ) -> WriteOutcome:
        """Latest ``time`` wins (ties broken by dedupe key), whatever the arrival order.

        The same write (re)schedules the member's digest in the sparse due index, or takes the
        member out of it when digests are off.
        """
        event = stored.event
        assert isinstance(event, PreferencesUpdated)
        attribute = event_attribute(stored.key)
        pk = keys.member_pk(event.data.member_id)
        location = f"{pk}|{keys.PROFILE_SK}|{attribute}"
        if (known := self._known(location, stored.fingerprint)) is not None:
            return known
        outcome = self._apply_preferences(stored, next_digest_due, attribute)
        if outcome is not WriteOutcome.CONFLICT:  # then the stored fingerprint is ours
            self.recent.remember(location, stored.fingerprint)
        return outcome

    def _apply_preferences(
        self, stored: StoredEvent, next_digest_due: datetime | None, attribute: str
    ) -> WriteOutcome:
        event = stored.event
        assert isinstance(event, PreferencesUpdated)
        prefs: PreferencesData = event.data
        token = _write_token()
        item = ProfileItem(
            member_id=prefs.member_id,
            email=prefs.email,
            timezone=prefs.timezone,
            digest_day=prefs.digest_day,
            digest_hour=prefs.digest_hour,
            digest_enabled=prefs.digest_enabled,
            preferences_order=f"{sortable(event.time)}#{stored.key}",
            preferences_time=iso_utc(event.time),
            next_due_at=None if next_digest_due is None else sortable(next_digest_due),
            due_shard=None if next_digest_due is None else due_shard(prefs.member_id),
            events={attribute: EventEntry(stored.fingerprint, token)},
        ).encode()
        if next_digest_due is None:
            schedule_update = f" REMOVE {NEXT_DUE_AT}, {DUE_SHARD}"
            schedule_values = {}
        else:
            schedule_update = f", {NEXT_DUE_AT} = :due, {DUE_SHARD} = :shard"
            schedule_values = {":due": item[NEXT_DUE_AT], ":shard": item[DUE_SHARD]}
        profile_key = key_of(item)
        existing = self._conditional_update(
            self._update(
                Key=profile_key,
                UpdateExpression=_PREFERENCES_UPDATE + schedule_update,
                ConditionExpression=(
                    "attribute_not_exists(#ev)"
                    " AND (attribute_not_exists(#order) OR #order < :order)"
                ),
                ExpressionAttributeNames={"#ev": attribute, **_PREFERENCES_NAMES},
                ExpressionAttributeValues={
                    ":ev": item[attribute],
                    ":kind": item[KIND],
                    ":member": item[MEMBER_ID],
                    ":email": item[EMAIL],
                    ":tz": item[TIMEZONE],
                    ":day": item[DIGEST_DAY],
                    ":hour": item[DIGEST_HOUR],
                    ":enabled": item[DIGEST_ENABLED],
                    ":order": item[PREFERENCES_ORDER],
                    ":at": item[PREFERENCES_TIME],
                    ":exp": self.retention.expiry(),
                    **schedule_values,
                },
            )
        )
        if existing is None:
            return WriteOutcome.APPLIED
        outcome = _outcome_from_existing(existing, attribute, stored.fingerprint, token)
        if outcome is not None:
            return outcome
        # Older than what is stored: remember it was seen (so a redelivery is a duplicate) only.
        existing = self._conditional_update(
            self._update(
                Key=profile_key,
                UpdateExpression="SET #ev = :ev",
                ConditionExpression="attribute_not_exists(#ev)",
                ExpressionAttributeNames={"#ev": attribute},
                ExpressionAttributeValues={":ev": item[attribute]},
            )
        )
        if existing is None:
            return WriteOutcome.APPLIED
        return (
            _outcome_from_existing(existing, attribute, stored.fingerprint, token)
            or WriteOutcome.DUPLICATE
        )

    def quarantine(self, entry: QuarantineEntry) -> None:
        quarantine.put(self.table_name, entry, self.retention)
