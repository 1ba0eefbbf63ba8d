"""How many examples a property test runs.

`make test` runs every property test with its own example count; `make test-unit` sets
``RAPPORT_QUICK_TESTS=1`` and runs at most QUICK_EXAMPLES each, for a fast inner loop (the same
tests, fewer generated inputs; nothing is skipped).
"""

from __future__ import annotations

import os

from hypothesis import settings

QUICK = os.environ.get("RAPPORT_QUICK_TESTS") == "1"
QUICK_EXAMPLES = 10

settings.register_profile("quick", max_examples=QUICK_EXAMPLES)
if QUICK:
    settings.load_profile("quick")


def examples(full: int) -> int:
    """A property test's example count: ``full``, or at most QUICK_EXAMPLES in a quick run."""
    return min(full, QUICK_EXAMPLES) if QUICK else full
