"""The local DynamoDB applies each conditional write atomically, as DynamoDB does.

moto alone checks a condition and writes with no lock, so two threads racing on one item can
both succeed: in CI two workers once both claimed a member-week and two digests went out. The
local server serialises DynamoDB requests; here many workers race for the same digest claim,
round after round, and exactly one wins each time.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from rapport.adapters.aws import reset_clients
from rapport.adapters.dynamodb.digest_store import DynamoDigestStore
from rapport.digest.delivery import CLAIM_LEASE
from rapport.digest.ports import ClaimOutcome
from rapport_cli.local.stack import LocalStack

pytestmark = pytest.mark.integration

RACERS = 8
ROUNDS = 40
NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _race(store: DynamoDigestStore, week: date) -> list[ClaimOutcome]:
    """Every racer claims the same member-week at once; what each was told."""
    start = threading.Barrier(RACERS)
    outcomes: list[ClaimOutcome] = []

    def claim() -> None:
        start.wait()
        outcomes.append(store.claim("m-race", week, NOW, CLAIM_LEASE).outcome)

    threads = [threading.Thread(target=claim) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """The server runs in this process: switching threads every microsecond instead of every
    5 ms makes an unlocked check-then-write in it lose a race within a few rounds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_of_racing_claims_for_one_member_week_exactly_one_wins(stack: LocalStack) -> None:
    reset_clients()
    store = DynamoDigestStore(stack.table)
    for round_number in range(ROUNDS):
        outcomes = _race(store, date(2026, 1, 5) + timedelta(weeks=round_number))
        assert sorted(outcomes) == sorted(
            [ClaimOutcome.CLAIMED] + [ClaimOutcome.IN_PROGRESS] * (RACERS - 1)
        ), f"round {round_number}"
