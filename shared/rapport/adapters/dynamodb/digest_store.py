"""DynamoDB behind the digest ports: the due index, member reads, and member-week claims.

Claims live in the member's own partition (``DIGEST#<week_start>``), next to the profile and
requests they describe, so erasing a member erases their digest history too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import (
    CLAIM_TOKEN,
    DIGEST_ENABLED,
    DIGESTS_SENT,
    DUE_SHARD,
    EVENTS_UNTIL,
    EXPIRES_AT,
    LAST_SETTLED_WEEK,
    LEASE_UNTIL,
    NEXT_DUE_AT,
    PREFERENCES_ORDER,
    REASON,
    RECORD,
    STATUS,
    UNSUBSCRIBED_AT,
    ClaimStatus,
    DigestItem,
    ProfileItem,
    digest_key,
    flag,
    number,
    profile_key,
    string,
)
from rapport.adapters.dynamodb.request_history import request_events
from rapport.adapters.dynamodb.retention import Retention
from rapport.adapters.errors import Outcome, outcome, transient_as_domain
from rapport.contract import RequestEvent
from rapport.digest.ports import Claim, ClaimOutcome, DueMember, MemberProfile
from rapport.digest.schedule import DigestSchedule, all_due_shards
from rapport.history import needed
from rapport.state import RequestHistory
from rapport.timeutil import sortable

DUE_INDEX = "DueIndex"
DUE_PAGE_SIZE = 500
_CLAIMED = string(ClaimStatus.CLAIMED)
#: ``status`` is a reserved word in expressions.
_STATUS_NAME = {"#status": STATUS}


class DynamoDigestStore:
    def __init__(self, table_name: str, retention: Retention | None = None) -> None:
        self.table_name = table_name
        self.retention = retention or Retention()

    # --- schedule_digests -------------------------------------------------------------------

    def due_at(self, now: datetime) -> Iterator[DueMember]:
        """Members whose next digest is due by ``now``: a query per shard of the due index."""
        paginator = client("dynamodb").get_paginator("query")
        for shard in all_due_shards():
            for page in paginator.paginate(
                TableName=self.table_name,
                IndexName=DUE_INDEX,
                KeyConditionExpression=f"{DUE_SHARD} = :shard AND {NEXT_DUE_AT} <= :now",
                ExpressionAttributeValues={":shard": string(shard), ":now": string(sortable(now))},
                PaginationConfig={"PageSize": DUE_PAGE_SIZE},
            ):
                for item in page["Items"]:
                    if self.retention.live(item):
                        yield DueMember(*ProfileItem.due_projection(item))

    # --- send_digest ------------------------------------------------------------------------

    def profile(self, member_id: str) -> MemberProfile | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table_name, Key=profile_key(member_id), ConsistentRead=True)
            .get("Item")
        )
        if not item or not self.retention.live(item):
            return None
        profile = ProfileItem.decode(item)
        return MemberProfile(
            member_id=member_id,
            email=profile.email,
            schedule=DigestSchedule(
                timezone=profile.timezone,
                digest_day=profile.digest_day,
                digest_hour=profile.digest_hour,
            ),
            digest_enabled=profile.digest_enabled,
            digests_sent=profile.digests_sent,
            preferences_order=profile.preferences_order,
            last_settled_week=profile.last_settled_week,
        )

    def member_requests(
        self, member_id: str, since: datetime | None = None
    ) -> Sequence[Sequence[RequestEvent]]:
        """The member's requests with an event at or after ``since`` (every one without it).

        With ``since``, one query of the member's part of the history index from ``since`` on
        (a superset: ``rapport.history``), trimmed to exactly the requests needed; without it,
        one query of the member's partition. Never a scan, never another member's items.
        """
        if since is None:
            query: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {
                    ":pk": string(keys.member_pk(member_id)),
                    ":prefix": string(keys.REQUEST_PREFIX),
                },
                "ConsistentRead": True,
            }
        else:
            # A global index reads eventually consistently: a digest is built hours after the
            # week it shows ends, long after the index caught up with its events.
            query = {
                "IndexName": keys.HISTORY_INDEX,
                "KeyConditionExpression": f"pk = :pk AND {EVENTS_UNTIL} >= :since",
                "ExpressionAttributeValues": {
                    ":pk": string(keys.member_pk(member_id)),
                    ":since": string(sortable(since)),
                },
            }
        requests: list[RequestHistory] = []
        for page in (
            client("dynamodb").get_paginator("query").paginate(TableName=self.table_name, **query)
        ):
            requests.extend(
                request_events(item) for item in page["Items"] if self.retention.live(item)
            )
        return requests if since is None else needed(requests, since)

    def claim(self, member_id: str, week_start: date, now: datetime, lease: timedelta) -> Claim:
        token = uuid.uuid4().hex
        claimed = DigestItem(
            member_id, week_start, ClaimStatus.CLAIMED, token, lease_until=sortable(now + lease)
        )
        try:
            client("dynamodb").put_item(
                TableName=self.table_name,
                Item=claimed.encode() | {EXPIRES_AT: self.retention.expiry()},
                ConditionExpression=(
                    f"attribute_not_exists(pk) OR (#status = :claimed AND {LEASE_UNTIL} < :now)"
                ),
                ExpressionAttributeNames=_STATUS_NAME,
                ExpressionAttributeValues={":claimed": _CLAIMED, ":now": string(sortable(now))},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if outcome(error) is not Outcome.CONDITION_FAILED:
                raise
            item = error.response.get("Item")
            existing = DigestItem.decode(item) if item else None
            if existing is not None and existing.claim_token == token:
                # Our own claim: the SDK retried a put whose answer was lost.
                return Claim(ClaimOutcome.CLAIMED, token)
            # Settled either way: sent, or given up on as undeliverable.
            settled = existing is not None and existing.settled
            return Claim(ClaimOutcome.ALREADY_SENT if settled else ClaimOutcome.IN_PROGRESS, "")
        return Claim(ClaimOutcome.CLAIMED, token)

    def release(self, member_id: str, week_start: date, claim: Claim) -> None:
        try:
            client("dynamodb").delete_item(
                TableName=self.table_name,
                Key=digest_key(member_id, week_start),
                ConditionExpression=f"{CLAIM_TOKEN} = :token AND #status = :claimed",
                ExpressionAttributeNames=_STATUS_NAME,
                ExpressionAttributeValues={":token": string(claim.token), ":claimed": _CLAIMED},
            )
        except ClientError as error:
            if outcome(error) is not Outcome.CONDITION_FAILED:  # else someone else's claim now
                raise

    def _settle(self, settled: DigestItem, claim: Claim, detail: str) -> None:
        """Mark the claimed week sent or undeliverable, with ``detail`` (its record or reason)."""
        item = settled.encode()
        with transient_as_domain():  # the core retries a record it could not write
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=digest_key(settled.member_id, settled.week_start),
                UpdateExpression=(
                    f"SET #status = :status, #detail = :detail, {EXPIRES_AT} = :exp"
                    f" REMOVE {LEASE_UNTIL}"
                ),
                ConditionExpression=f"{CLAIM_TOKEN} = :token",
                ExpressionAttributeNames={**_STATUS_NAME, "#detail": detail},
                ExpressionAttributeValues={
                    ":status": item[STATUS],
                    ":detail": item[detail],
                    ":token": string(claim.token),
                    ":exp": self.retention.expiry(),
                },
            )

    def record_sent(
        self, member_id: str, week_start: date, claim: Claim, record: dict[str, Any]
    ) -> None:
        self._settle(
            DigestItem(member_id, week_start, ClaimStatus.SENT, record=record), claim, RECORD
        )

    def record_undeliverable(
        self, member_id: str, week_start: date, claim: Claim, reason: str
    ) -> None:
        """Settle the week without an email: later jobs for it stop instead of retrying."""
        self._settle(
            DigestItem(member_id, week_start, ClaimStatus.UNDELIVERABLE, reason=reason),
            claim,
            REASON,
        )

    def _update_profile(self, member_id: str, **request: Any) -> None:
        """A conditional profile update whose failed condition means "nothing to do"."""
        try:
            with transient_as_domain():
                client("dynamodb").update_item(
                    TableName=self.table_name, Key=profile_key(member_id), **request
                )
        except ClientError as error:
            if outcome(error) is not Outcome.CONDITION_FAILED:
                raise

    def advance_schedule(
        self, profile: MemberProfile, next_due: datetime, settled_week: date, sent: bool
    ) -> None:
        """Remember the settled week (so older jobs stop), and move the next due instant on
        unless the member's preferences changed meanwhile (their write rescheduled them)."""
        self._update_profile(
            profile.member_id,
            UpdateExpression=f"SET {LAST_SETTLED_WEEK} = :week",
            ConditionExpression=(
                "attribute_exists(pk) AND "
                f"(attribute_not_exists({LAST_SETTLED_WEEK}) OR {LAST_SETTLED_WEEK} < :week)"
            ),
            ExpressionAttributeValues={":week": string(settled_week.isoformat())},
        )
        count = f" ADD {DIGESTS_SENT} :one" if sent else ""
        self._update_profile(
            profile.member_id,
            UpdateExpression=f"SET {NEXT_DUE_AT} = :next, {EXPIRES_AT} = :exp" + count,
            ConditionExpression=(
                f"{PREFERENCES_ORDER} = :order AND {DIGEST_ENABLED} = :on "
                f"AND (attribute_not_exists({NEXT_DUE_AT}) OR {NEXT_DUE_AT} < :next)"
            ),
            ExpressionAttributeValues={
                ":next": string(sortable(next_due)),
                ":order": string(profile.preferences_order),
                ":on": flag(True),
                ":exp": self.retention.expiry(),
                **({":one": number(1)} if sent else {}),
            },
        )

    # --- unsubscribe ------------------------------------------------------------------------

    def disable_digests(self, member_id: str, at: datetime) -> None:
        """Turn digests off; older preference events can no longer turn them back on."""
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=profile_key(member_id),
                UpdateExpression=(
                    f"SET {DIGEST_ENABLED} = :off, {PREFERENCES_ORDER} = :order,"
                    f" {UNSUBSCRIBED_AT} = :at, {EXPIRES_AT} = :exp"
                    f" REMOVE {NEXT_DUE_AT}, {DUE_SHARD}"
                ),
                # Unconditional but for the profile existing: even preferences dated in the future
                # must not keep an unsubscribed member subscribed.
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":off": flag(False),
                    ":order": string(f"{sortable(at)}#unsubscribe"),
                    ":at": string(sortable(at)),
                    ":exp": self.retention.expiry(),
                },
            )
        except ClientError as error:
            if outcome(error) is not Outcome.CONDITION_FAILED:  # else no such member
                raise
