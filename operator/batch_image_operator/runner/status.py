"""Turn a reconcile Outcome into a minimal status patch and Kubernetes events."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import kopf

from .. import GROUP
from ..models.conditions import FALSE, TRUE, Condition, find, merge_conditions
from ..models.reasons import Reason
from ..reconcilers.outcome import Event, Outcome


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _comparable(conditions: Any) -> list[tuple[Any, ...]]:
    return sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message"),
                   c.get("observedGeneration")) for c in conditions or [])


def status_changes(outcome: Outcome, *, generation: int | None,
                   status: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The status fields that differ from ``status``, and whether conditions changed.

    ``status`` is the newest status known (the body a pass was given can predate the
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


Warned = frozenset[tuple[str, str]]


def events_to_post(outcome: Outcome, warned: Warned) -> tuple[list[Event], Warned]:
    """The events to post, and the warnings the object now stands warned of.

    Normal events report an action, so each is posted. A warning describes a state that
    passes keep finding (a limit, a shared image): it is posted when it first appears or
    its message changes, not once per pass; gone and back, it is posted again.
    """
    def key(e: Event) -> tuple[str, str]:
        return e.reason, e.key if e.key is not None else e.message

    now = frozenset(key(e) for e in outcome.events if e.type == "Warning")
    return [e for e in outcome.events if e.type != "Warning" or key(e) not in warned], now


def post_events(events: list[Event], body: kopf.Body) -> None:
    for event in events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


PAUSED = f"{GROUP}/paused"


def is_paused(body: kopf.Body) -> bool:
    return str(body.get("metadata", {}).get("annotations", {}).get(PAUSED, "")).lower() == "true"


def pause_outcome(body: kopf.Body, status: Mapping[str, Any]) -> Outcome | None:
    """The Paused condition to record: set while paused, cleared once, else nothing."""
    was = find(status.get("conditions"), "Paused")
    if is_paused(body):
        return Outcome(conditions=[Condition("Paused", TRUE, Reason.ANNOTATION,
                                             f"{PAUSED}=true: no Azure calls until removed")],
                       events=[Event("Normal", Reason.PAUSED, "reconciliation paused")]
                       if was is None or was.get("status") != TRUE else [])
    if was is not None and was.get("status") == TRUE:
        return Outcome(conditions=[Condition("Paused", FALSE, Reason.RESUMED,
                                             "annotation removed")],
                       requeue=0.0)
    return None
