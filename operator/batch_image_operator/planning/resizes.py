"""Pools that end a resize short of target: try again, or explain why not (pure).

The guide: pools over ~300 custom-image nodes may need several resizes, and a resize
fails with AllocationFailed when the image the pool boots from was deleted. A resize a
person stopped (Batch reports ResizeStopped) is left alone until the spec changes, or
until the person asks again with the resize-again annotation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from .. import GROUP

ALLOCATION_FAILED = "AllocationFailed"
RESIZE_STOPPED = "ResizeStopped"
IMAGE_MISSING_HELP = (
    "the pool's last resize failed with AllocationFailed and its custom image no longer "
    "exists; Batch needs the image for the whole life of the pool to add nodes. Restore "
    "the image (a ManagedImage whose snapshots still exist is rebuilt automatically), "
    "after which the resize is retried")


# A new value (any: a timestamp, as `kubectl rollout restart` does) asks once to resize a
# pool whose resize a person stopped, without editing its spec.
RESIZE_AGAIN_ANNOTATION = f"{GROUP}/resize-again"


def resize_again_request(annotations: Mapping[str, str], seen: object) -> str | None:
    """The digest of the resize-again value if it is one not acted on yet (``seen``: the
    digest recorded in status), else None. A digest, not the value: an annotation may be
    far longer than a status field may hold."""
    value = annotations.get(RESIZE_AGAIN_ANNOTATION)
    if value is None:
        return None
    digest = hashlib.sha256(str(value).encode()).hexdigest()[:16]
    return None if digest == seen else digest


def resize_again_used_up(*, short: bool, errors: Iterable[Mapping[str, str]]) -> bool:
    """Whether a pass uses up a resize-again request: it acts on it (the pool is short
    and goes to plan_short), or finds no stopped resize to resume, since a request made
    then must not undo a stop that comes later. A pass busy with something else on a
    stopped pool (a drift fix) leaves it for the next one."""
    return short or not resize_stopped(errors)


class ShortAction(Enum):
    REISSUE = "reissue"
    WAIT = "wait"                # backing off before the next attempt
    IMAGE_MISSING = "image-missing"
    EXHAUSTED = "exhausted"
    STOPPED = "stopped"          # someone stopped the resize: leave the pool as they left it


@dataclass(frozen=True)
class ShortPlan:
    action: ShortAction
    message: str
    delay: float = 0.0


def allocation_failed(errors: Iterable[Mapping[str, str]]) -> bool:
    return any(e.get("code") == ALLOCATION_FAILED for e in errors)


def resize_stopped(errors: Iterable[Mapping[str, str]]) -> bool:
    return any(e.get("code") == RESIZE_STOPPED for e in errors)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Delay before re-issue number ``attempt`` (1 = the first retry: immediate)."""
    if attempt <= 1:
        return 0.0
    return float(min(cap, base * 2 ** (attempt - 2)))


# The wait between re-issued resizes doubles from BIO_RESIZE_BACKOFF up to this many
# times it: a long-short pool is still retried every few minutes, not every hour.
RESIZE_BACKOFF_CAP_FACTOR = 16


def resize_backoff(attempt: int, base: float) -> float:
    """Delay before re-issuing resize number ``attempt``, capped."""
    return backoff(attempt, base, base * RESIZE_BACKOFF_CAP_FACTOR)


def plan_short(*, errors: list[dict[str, str]], attempts: int, max_attempts: int,
               image_missing: bool, wait_left: float, generation: int = 0,
               stopped_generation: int | None = None, asked_again: bool = False) -> ShortPlan:
    """``stopped_generation``: the spec generation at which a stopped resize was first
    seen (None: not seen yet); a newer generation means the person changed the spec.
    ``asked_again``: a new resize-again annotation value; it also starts a new count of
    attempts, as a new target does."""
    detail = "; ".join(f"{e['code']}: {e['message']}" for e in errors) or "no error reported"
    if resize_stopped(errors) and not asked_again and (
            stopped_generation is None or stopped_generation >= generation):
        return ShortPlan(ShortAction.STOPPED, (
            f"the last resize was stopped ({detail}); the pool is left as it is until its "
            f"spec changes or the annotation {RESIZE_AGAIN_ANNOTATION} gets a new value"))
    if asked_again:
        attempts, wait_left = 1, 0.0
    if allocation_failed(errors) and image_missing:
        return ShortPlan(ShortAction.IMAGE_MISSING, f"{IMAGE_MISSING_HELP} ({detail})")
    if attempts >= max_attempts:
        return ShortPlan(ShortAction.EXHAUSTED, (
            f"pool stayed below target after {attempts} resize attempts ({detail}); "
            "change the target or resize it by hand"))
    if wait_left > 0:
        return ShortPlan(ShortAction.WAIT, f"resize attempt {attempts} ended short ({detail}); "
                                           f"retrying in {wait_left:.0f}s", wait_left)
    return ShortPlan(ShortAction.REISSUE, (
        f"resize attempt {attempts} ended short ({detail}); resizing again "
        f"(attempt {attempts + 1} of {max_attempts})"))
