"""DynamoDB behind the digest ports: the due index, member reads, and member-week claims.

Claims live in the member's own partition (``DIGEST#<week_start>``), next to the profile and
requests they describe, so erasing a member erases their digest history too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from rapport.adapters import keys
from rapport.adapters.aws import client
from rapport.adapters.request_items import request_events
from rapport.adapters.retention import EXPIRES_AT, Retention
from rapport.contract import RequestEvent
from rapport.digest.fanout import DueMember
from rapport.digest.ports import Claim, ClaimOutcome, MemberProfile
from rapport.digest.schedule import DigestSchedule, all_due_shards
from rapport.timeutil import sortable

DUE_INDEX = "DueIndex"
DUE_PAGE_SIZE = 500


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


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
                KeyConditionExpression="due_shard = :shard AND next_due_at <= :now",
                ExpressionAttributeValues={":shard": _s(shard), ":now": _s(sortable(now))},
                PaginationConfig={"PageSize": DUE_PAGE_SIZE},
            ):
                for item in page["Items"]:
                    if self.retention.live(item):
                        yield DueMember(item["member_id"]["S"], item["timezone"]["S"])

    # --- send_digest ------------------------------------------------------------------------

    def profile(self, member_id: str) -> MemberProfile | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table_name,
                Key={"pk": _s(keys.member_pk(member_id)), "sk": _s(keys.PROFILE_SK)},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item or not self.retention.live(item):
            return None
        return MemberProfile(
            member_id=member_id,
            email=item["email"]["S"],
            schedule=DigestSchedule(
                timezone=item["timezone"]["S"],
                digest_day=item["digest_day"]["S"],
                digest_hour=int(item["digest_hour"]["N"]),
            ),
            digest_enabled=item["digest_enabled"]["BOOL"],
            digests_sent=int(item.get("digests_sent", {}).get("N", "0")),
            preferences_order=item["preferences_order"]["S"],
            last_settled_week=(
                date.fromisoformat(item["last_settled_week"]["S"])
                if "last_settled_week" in item
                else None
            ),
        )

    def member_requests(self, member_id: str) -> Sequence[Sequence[RequestEvent]]:
        """Every request of this member: one query on the member's partition, never a scan."""
        requests: list[list[RequestEvent]] = []
        for page in (
            client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": _s(keys.member_pk(member_id)),
                    ":prefix": _s(keys.REQUEST_PREFIX),
                },
                ConsistentRead=True,
            )
        ):
            requests.extend(
                request_events(item) for item in page["Items"] if self.retention.live(item)
            )
        return requests

    def _claim_key(self, member_id: str, week_start: date) -> dict[str, Any]:
        return {"pk": _s(keys.member_pk(member_id)), "sk": _s(keys.digest_sk(week_start))}

    def claim(self, member_id: str, week_start: date, now: datetime, lease: timedelta) -> Claim:
        token = uuid.uuid4().hex
        try:
            client("dynamodb").put_item(
                TableName=self.table_name,
                Item={
                    **self._claim_key(member_id, week_start),
                    "kind": _s("digest"),
                    "status": _s("claimed"),
                    "claim_token": _s(token),
                    "lease_until": _s(sortable(now + lease)),
                    EXPIRES_AT: self.retention.expiry(),
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#status = :claimed AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":claimed": _s("claimed"), ":now": _s(sortable(now))},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            existing = error.response.get("Item") or {}
            if existing.get("claim_token", {}).get("S") == token:
                # Our own claim: the SDK retried a put whose answer was lost.
                return Claim(ClaimOutcome.CLAIMED, token)
            # Settled either way: sent, or given up on as undeliverable.
            settled = existing.get("status", {}).get("S") in ("sent", "undeliverable")
            return Claim(ClaimOutcome.ALREADY_SENT if settled else ClaimOutcome.IN_PROGRESS, "")
        return Claim(ClaimOutcome.CLAIMED, token)

    def release(self, member_id: str, week_start: date, claim: Claim) -> None:
        try:
            client("dynamodb").delete_item(
                TableName=self.table_name,
                Key=self._claim_key(member_id, week_start),
                ConditionExpression="claim_token = :token AND #status = :claimed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":token": _s(claim.token), ":claimed": _s("claimed")},
            )
        except ClientError as error:
            if not _condition_failed(error):  # someone else's claim now: leave it alone
                raise

    def record_sent(
        self, member_id: str, week_start: date, claim: Claim, record: dict[str, Any]
    ) -> None:
        client("dynamodb").update_item(
            TableName=self.table_name,
            Key=self._claim_key(member_id, week_start),
            UpdateExpression=(
                "SET #status = :sent, #record = :record, expires_at = :exp REMOVE lease_until"
            ),
            ConditionExpression="claim_token = :token",
            ExpressionAttributeNames={"#status": "status", "#record": "record"},
            ExpressionAttributeValues={
                ":sent": _s("sent"),
                ":record": _s(json.dumps(record, sort_keys=True)),
                ":token": _s(claim.token),
                ":exp": self.retention.expiry(),
            },
        )

    def record_undeliverable(
        self, member_id: str, week_start: date, claim: Claim, reason: str
    ) -> None:
        """Settle the week without an email: later jobs for it stop instead of retrying."""
        client("dynamodb").update_item(
            TableName=self.table_name,
            Key=self._claim_key(member_id, week_start),
            UpdateExpression=(
                "SET #status = :undeliverable, #reason = :reason, expires_at = :exp"
                " REMOVE lease_until"
            ),
            ConditionExpression="claim_token = :token",
            ExpressionAttributeNames={"#status": "status", "#reason": "reason"},
            ExpressionAttributeValues={
                ":undeliverable": _s("undeliverable"),
                ":reason": _s(reason),
                ":token": _s(claim.token),
                ":exp": self.retention.expiry(),
            },
        )

    def _update_profile(self, member_id: str, **request: Any) -> None:
        """A conditional profile update whose failed condition means "nothing to do"."""
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key={"pk": _s(keys.member_pk(member_id)), "sk": _s(keys.PROFILE_SK)},
                **request,
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise

    def advance_schedule(
        self, profile: MemberProfile, next_due: datetime, settled_week: date, sent: bool
    ) -> None:
        """Remember the settled week (so older jobs stop), and move the next due instant on
        unless the member's preferences changed meanwhile (their write rescheduled them)."""
        self._update_profile(
            profile.member_id,
            UpdateExpression="SET last_settled_week = :week",
            ConditionExpression=(
                "attribute_exists(pk) AND "
                "(attribute_not_exists(last_settled_week) OR last_settled_week < :week)"
            ),
            ExpressionAttributeValues={":week": _s(settled_week.isoformat())},
        )
        count = " ADD digests_sent :one" if sent else ""
        self._update_profile(
            profile.member_id,
            UpdateExpression="SET next_due_at = :next, expires_at = :exp" + count,
            ConditionExpression=(
                "preferences_order = :order AND digest_enabled = :on "
                "AND (attribute_not_exists(next_due_at) OR next_due_at < :next)"
            ),
            ExpressionAttributeValues={
                ":next": _s(sortable(next_due)),
                ":order": _s(profile.preferences_order),
                ":on": {"BOOL": True},
                ":exp": self.retention.expiry(),
                **({":one": {"N": "1"}} if sent else {}),
            },
        )

    # --- unsubscribe ------------------------------------------------------------------------

    def disable_digests(self, member_id: str, at: datetime) -> None:
        """Turn digests off; older preference events can no longer turn them back on."""
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key={"pk": _s(keys.member_pk(member_id)), "sk": _s(keys.PROFILE_SK)},
                UpdateExpression=(
                    "SET digest_enabled = :off, preferences_order = :order,"
                    " unsubscribed_at = :at, expires_at = :exp REMOVE next_due_at, due_shard"
                ),
                # Unconditional but for the profile existing: even preferences dated in the future
                # must not keep an unsubscribed member subscribed.
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":off": {"BOOL": False},
                    ":order": _s(f"{sortable(at)}#unsubscribe"),
                    ":at": _s(sortable(at)),
                    ":exp": self.retention.expiry(),
                },
            )
        except ClientError as error:
            if not _condition_failed(error):  # no such member: nothing to turn off
                raise
