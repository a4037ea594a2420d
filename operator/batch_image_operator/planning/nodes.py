"""Node counts from the Batch data plane, summarised for status (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# States that mean a node will not run tasks until someone acts.
UNUSABLE = ("unusable", "startTaskFailed")


def summarize_node_counts(entry: Mapping[str, Any] | None) -> dict[str, int]:
    """Dedicated + low-priority counts per state, e.g. {"idle": 3, "unusable": 1, ...}."""
    if not entry:
        return {}
    total: dict[str, int] = {}
    for tier in ("dedicated", "lowPriority"):
        for state, count in (entry.get(tier) or {}).items():
            if isinstance(count, int) and not isinstance(count, bool):
                total[state] = total.get(state, 0) + count
    return total


def unusable_nodes(counts: Mapping[str, int]) -> int:
    return sum(counts.get(state, 0) for state in UNUSABLE)
