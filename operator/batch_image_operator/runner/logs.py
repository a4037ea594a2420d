"""What a reconcile pass writes to the operator's log: one line per event posted, each
naming the object, the reason and (for Azure errors, in the message) the Azure operation.

Pure: the handlers emit the lines. What is posted as a Warning event is logged at
WARNING, Normal events at INFO; a pass that posted nothing logs its Ready condition at
INFO when it changed and at DEBUG when it did not (a converged pass is not news).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..reconcilers.outcome import Event, Outcome

LOGGER = "batch_image_operator"


@dataclass(frozen=True)
class LogLine:
    level: int
    message: str


def _line(kind: str, namespace: str | None, name: str, reason: str, message: str) -> str:
    where = f"{namespace}/{name}" if namespace else name
    return f"{kind} {where}: {reason}: {message}" if message else f"{kind} {where}: {reason}"


def pass_log(kind: str, namespace: str | None, name: str, outcome: Outcome,
             posted: Sequence[Event], conditions_changed: bool) -> list[LogLine]:
    lines = [LogLine(logging.WARNING if e.type == "Warning" else logging.INFO,
                     _line(kind, namespace, name, e.reason, e.message)) for e in posted]
    if lines:
        return lines
    ready = next((c for c in outcome.conditions if c.type == "Ready"), None)
    if ready is None:
        return []
    level = logging.INFO if conditions_changed else logging.DEBUG
    return [LogLine(level, _line(kind, namespace, name, f"Ready={ready.status} {ready.reason}",
                                 ready.message))]


def emit(lines: Sequence[LogLine]) -> None:
    logger = logging.getLogger(LOGGER)
    for line in lines:
        logger.log(line.level, "%s", line.message)
