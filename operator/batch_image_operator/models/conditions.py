"""Standard Kubernetes status conditions, computed purely."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .reasons import Reason

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class Condition:
    type: str  # a ConditionType
    status: str
    reason: Reason
    message: str = ""


def merge_conditions(
    existing: Iterable[Mapping[str, Any]] | None,
    updates: Iterable[Condition],
    *,
    generation: int | None,
    now: str,
) -> list[dict[str, Any]]:
    """Apply ``updates`` to ``existing``; lastTransitionTime moves only when status does."""
    result: dict[str, dict[str, Any]] = {}
    for cond in existing or ():
        if isinstance(cond, Mapping) and isinstance(cond.get("type"), str):
            result[cond["type"]] = dict(cond)
    for upd in updates:
        old = result.get(upd.type)
        changed = old is None or old.get("status") != upd.status
        entry: dict[str, Any] = {
            "type": upd.type,
            "status": upd.status,
            "reason": upd.reason,
            "message": upd.message,
            "lastTransitionTime": now if changed or old is None
            else old.get("lastTransitionTime", now),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        result[upd.type] = entry
    return list(result.values())


def find(conditions: Iterable[Mapping[str, Any]] | None, ctype: str) -> Mapping[str, Any] | None:
    for cond in conditions or ():
        if isinstance(cond, Mapping) and cond.get("type") == ctype:
            return cond
    return None


def is_true(conditions: Iterable[Mapping[str, Any]] | None, ctype: str) -> bool:
    cond = find(conditions, ctype)
    return cond is not None and cond.get("status") == TRUE
