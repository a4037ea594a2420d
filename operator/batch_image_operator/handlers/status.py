"""Turn a reconcile Outcome into a minimal status patch and Kubernetes events."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import kopf

from .. import GROUP
from ..models.conditions import FALSE, TRUE, Condition, find, merge_conditions
from ..reconcilers.outcome import Event, Outcome


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _comparable(conditions: Any) -> list[tuple[Any, ...]]:
    return sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message"),
                   c.get("observedGeneration")) for c in conditions or [])


def status_changes(outcome: Outcome, *, generation: int | None,
                   status: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The status fields that differ from ``status``, and whether conditions changed.

    ``status`` is the newest status known (the body of a timer tick can predate the
    write of the pass before it).
    """
    changes: dict[str, Any] = {}
    old_conditions = status.get("conditions") or []
    new_conditions = merge_conditions(old_conditions, outcome.conditions,
                                      generation=generation, now=now())
    conditions_changed = _comparable(old_conditions) != _comparable(new_conditions)
    if conditions_changed:
        changes["conditions"] = new_conditions
    for key, value in outcome.status.items():
        if status.get(key) != value:
            changes[key] = value
    if generation is not None and status.get("observedGeneration") != generation:
        changes["observedGeneration"] = generation
    return changes, conditions_changed


def post_events(outcome: Outcome, body: kopf.Body, *, conditions_changed: bool) -> None:
    for event in outcome.events:
        # Warnings repeat a condition; post them once per change, not once per pass.
        if event.type == "Warning" and not conditions_changed:
            continue
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


PAUSED = f"{GROUP}/paused"


def is_paused(body: kopf.Body) -> bool:
    return str(body.get("metadata", {}).get("annotations", {}).get(PAUSED, "")).lower() == "true"


def pause_outcome(body: kopf.Body, status: Mapping[str, Any]) -> Outcome | None:
    """The Paused condition to record: set while paused, cleared once, else nothing."""
    was = find(status.get("conditions"), "Paused")
    if is_paused(body):
        return Outcome(conditions=[Condition("Paused", TRUE, "Annotation",
                                             f"{PAUSED}=true: no Azure calls until removed")],
                       events=[Event("Normal", "Paused", "reconciliation paused")]
                       if was is None or was.get("status") != TRUE else [])
    if was is not None and was.get("status") == TRUE:
        return Outcome(conditions=[Condition("Paused", FALSE, "Resumed", "annotation removed")],
                       requeue=0.0)
    return None
