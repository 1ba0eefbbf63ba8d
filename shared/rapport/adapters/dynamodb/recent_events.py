"""Events this container has already written or seen, so a redelivery to the same container
costs no DynamoDB request.

Only an optimisation: the conditional write stays the source of truth. A redelivery that lands
on another container still costs one (failed) conditional write and is recognised the same way.
Keys name the item and the event attribute, exactly what the conditional write tests, so the
answer never differs from the one DynamoDB would give. A batch's workers share one cache (each
on its own items), so every access holds a lock: the LRU moves and evictions touch shared order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_CAPACITY = 10_000  # about 1 MB of keys and fingerprints


class RecentEvents:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._fingerprints: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def fingerprint(self, location: str) -> str | None:
        with self._lock:
            fingerprint = self._fingerprints.get(location)
            if fingerprint is not None:
                self._fingerprints.move_to_end(location)
            return fingerprint

    def remember(self, location: str, fingerprint: str) -> None:
        fingerprints = self._fingerprints
        with self._lock:
            if location in fingerprints:
                fingerprints.move_to_end(location)
            fingerprints[location] = fingerprint
            if len(fingerprints) > self._capacity:
                fingerprints.popitem(last=False)
