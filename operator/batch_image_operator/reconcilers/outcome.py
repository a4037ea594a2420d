"""What one reconcile pass decided: status to write, events to post, when to look again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models.conditions import Condition
from ..models.reasons import Reason
from ..planning.errors import AUTH_REASON, REJECTED_REASON, TRANSIENT_REASON

HUMAN_ACTION_REASONS = (AUTH_REASON, REJECTED_REASON)


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: Reason
    message: str
    # Warnings with the same key are one warning while it lasts, whatever the message
    # says (a count that moves); None: the message is the key.
    key: str | None = None


@dataclass
class Outcome:
    status: dict[str, Any] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    # Seconds until the next pass; None means converged (the drift check comes next).
    requeue: float | None = None
    # For deletions: True once the finalizer may go.
    done: bool = False
    message: str = ""
    # Set when this pass issued a resize: when the next one may be issued.
    next_resize_in: float | None = None
    # Azure said Retry-After: no pass (not even one an edit triggers) before this.
    hold_off: float | None = None
    # Objects (by uid) that should be looked at on their next timer tick.
    nudge: list[str] = field(default_factory=list)


def result_of(outcome: Outcome) -> str:
    """A small label set for metrics: ready, progressing, blocked, invalid, rejected, error,
    deleted."""
    if outcome.done:
        return "deleted"
    by_type = {c.type: c for c in outcome.conditions}
    if "DeletionBlocked" in by_type and by_type["DeletionBlocked"].status == "True":
        return "blocked"
    ready = by_type.get("Ready")
    if ready is None:
        return "progressing"
    if ready.status == "True":
        return "ready"
    if ready.reason == "InvalidSpec":
        return "invalid"
    if ready.reason in HUMAN_ACTION_REASONS:
        return "rejected"  # Azure refused; a human must act
    if ready.reason == TRANSIENT_REASON:
        return "error"
    return "progressing"
