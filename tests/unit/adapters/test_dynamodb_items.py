"""The item codecs: what one writes, the other reads back unchanged."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from rapport.adapters.dynamodb import keys
from rapport.adapters.dynamodb.items import (
    PLAIN_PAYLOAD_BYTES,
    ClaimStatus,
    DigestItem,
    EventEntry,
    Kind,
    NamedLink,
    ProfileItem,
    QuarantineItem,
    RequestItem,
    count_events,
    event_attribute,
    item_size,
    kind_of,
)

ids = st.text(min_size=1, max_size=20)
entries = st.builds(EventEntry, ids, st.none() | ids, st.none() | st.text(max_size=40))
events = st.dictionaries(ids.map(event_attribute), entries, max_size=3)


@given(st.builds(RequestItem, ids, ids, events, st.none() | ids, st.none() | st.text()))
def test_a_request_item_round_trips(request: RequestItem) -> None:
    item = request.encode()
    assert RequestItem.decode(item) == request
    assert kind_of(item) is Kind.REQUEST
    assert count_events(item) == len(request.events)


@given(
    st.builds(
        ProfileItem,
        member_id=ids,
        email=ids,
        timezone=ids,
        digest_day=ids,
        digest_hour=st.integers(0, 23),
        digest_enabled=st.booleans(),
        preferences_order=ids,
        preferences_time=ids,
        digests_sent=st.integers(0, 500),
        last_settled_week=st.none() | st.dates(),
        next_due_at=ids,
        due_shard=ids,
        events=events,
    )
)
def test_a_profile_item_round_trips(profile: ProfileItem) -> None:
    item = profile.encode()
    assert ProfileItem.decode(item) == profile
    assert ProfileItem.due_projection(item) == (profile.member_id, profile.timezone)


def test_a_profile_off_the_due_index_has_no_due_attributes() -> None:
    profile = ProfileItem("m-1", "a@example.com", "UTC", "monday", 8, False, "o", "t")
    assert "next_due_at" not in profile.encode()
    assert ProfileItem.decode(profile.encode()) == profile


@given(
    st.builds(
        DigestItem,
        member_id=ids,
        week_start=st.dates(),
        status=st.sampled_from(ClaimStatus),
        claim_token=st.none() | ids,
        lease_until=st.none() | ids,
        record=st.none() | st.dictionaries(ids, st.integers() | st.text()),
        reason=st.none() | ids,
    )
)
def test_a_digest_item_round_trips(digest: DigestItem) -> None:
    assert DigestItem.decode(digest.encode()) == digest
    assert digest.settled is (digest.status is not ClaimStatus.CLAIMED)


@given(ids, ids)
def test_a_named_link_round_trips(member_id: str, quarantine_id: str) -> None:
    link = NamedLink(member_id, quarantine_id)
    assert NamedLink.decode(link.encode()) == link
    assert kind_of(link.encode()) is Kind.NAMED_IN


def _quarantined(payload: str) -> QuarantineItem:
    return QuarantineItem(
        quarantine_id="2026-11-02T10:00:00.000000Z#msg-1",
        enqueued_at="2026-11-02T10:00:00Z",
        error_code="invalid_json",
        message="The message body is not valid JSON",
        event_id=None,
        message_id="msg-1",
        payload=payload,
    )


@given(st.text())
def test_a_quarantined_payload_round_trips(payload: str) -> None:
    item = _quarantined(payload).encode()
    read = QuarantineItem.decode(item)
    assert read.payload == payload
    assert read.payload_bytes == len(payload.encode())
    assert not read.payload_truncated
    assert item["pk"] == {"S": keys.quarantine_pk_for_day(date(2026, 11, 2))}


def test_a_large_payload_is_compressed_and_an_incompressible_one_truncated_and_flagged() -> None:
    large = "x" * (PLAIN_PAYLOAD_BYTES + 1)
    compressed = _quarantined(large).encode()
    assert "payload_zlib" in compressed
    assert QuarantineItem.decode(compressed).payload == large
    noise = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(PLAIN_PAYLOAD_BYTES))
    truncated = QuarantineItem.decode(_quarantined(noise).encode())
    assert truncated.payload_truncated
    assert truncated.payload_bytes == len(noise.encode())
    assert noise.startswith(truncated.payload)


@given(st.builds(RequestItem, ids, ids, events, st.none() | ids, st.none() | st.text()))
def test_a_request_item_written_with_its_identity_attributes_reads_the_same(
    request: RequestItem,
) -> None:
    """Items written before the key alone said whose request it is also hold ``kind``,
    ``sender_id`` and ``request_id``; they read as the same request."""
    item = request.encode()
    assert not {"kind", "sender_id", "request_id"} & item.keys()
    older = item | {
        "kind": {"S": "request"},
        "sender_id": {"S": request.sender_id},
        "request_id": {"S": request.request_id},
    }
    assert RequestItem.decode(older) == request
    assert kind_of(older) is Kind.REQUEST


def test_an_item_without_a_kind_has_none() -> None:
    assert kind_of({"pk": {"S": "MEMBER#m"}, "sk": {"S": "PROFILE"}}) is None


def test_item_size_counts_names_and_values_as_dynamodb_documents() -> None:
    item = {"a": {"S": "xyz"}, "n": {"N": "-12.50"}, "m": {"M": {"b": {"BOOL": True}}}}
    assert item_size(item) == (1 + 3) + (1 + 3) + (1 + 3 + 1 + 1 + 1)
