"""Events this container has already written or seen, so a redelivery to the same container
costs no DynamoDB request.

Only an optimisation: the conditional write stays the source of truth. A redelivery that lands
on another container still costs one (failed) conditional write and is recognised the same way.
Keys name the item and the event attribute, exactly what the conditional write tests, so the
answer never differs from the one DynamoDB would give.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAPACITY = 10_000  # about 1 MB of keys and fingerprints


class RecentEvents:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._fingerprints: OrderedDict[str, str] = OrderedDict()

    def fingerprint(self, location: str) -> str | None:
        fingerprint = self._fingerprints.get(location)
        if fingerprint is not None:
            self._fingerprints.move_to_end(location)
        return fingerprint

    def remember(self, location: str, fingerprint: str) -> None:
        fingerprints = self._fingerprints
        if location in fingerprints:
            fingerprints.move_to_end(location)
        fingerprints[location] = fingerprint
        if len(fingerprints) > self._capacity:
            fingerprints.popitem(last=False)
