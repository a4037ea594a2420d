"""What one reconcile pass decided: status to write, events to post, when to look again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models.conditions import Condition


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


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
