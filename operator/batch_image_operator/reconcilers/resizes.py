"""A BatchPool steady below its target: re-issue the resize (with backoff), diagnose a
deleted image behind AllocationFailed, leave a stopped resize alone, or give up.

The decisions are planning/resizes.py's (``plan_short``, ``resize_backoff``); this
module carries them out and says so in the conditions and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..azure.scoped import ScopedCompute, ScopedPools
from ..config import Settings
from ..models.armid import parse_resource_id
from ..models.batchpool import BatchPoolSpec
from ..models.conditions import FALSE, TRUE, Condition
from ..models.reasons import Reason
from ..planning.pools import desired_pool_body, resize_errors
from ..planning.resizes import ShortAction, allocation_failed, plan_short, resize_backoff
from .outcome import Event, Outcome

if TYPE_CHECKING:
    from .pools import PoolContext


def ready_conditions(ready: bool, reason: Reason, message: str,
                      scaled: tuple[str, Reason, str]) -> list[Condition]:
    return [Condition("Scaled", *scaled),
            Condition("Ready", TRUE if ready else FALSE, reason, message)]


async def handle_short(spec: BatchPoolSpec, observed: Mapping[str, Any],
                        image_ref: Mapping[str, Any], ctx: PoolContext, out: Outcome,
                        settings: Settings, pools: ScopedPools,
                        images: ScopedCompute | None) -> Mapping[str, Any]:
    """Steady below target: re-issue the resize, diagnose a missing image, or give up."""
    errors = resize_errors(observed)
    missing = False
    if allocation_failed(errors) and image_ref.get("id") and images is not None:
        missing = not await images.exists(parse_resource_id(str(image_ref["id"])))
    # Asked to resize again: a new count of attempts, as for a new target.
    so_far = 1 if ctx.resize_again is not None else max(ctx.resize_attempts, 1)
    plan = plan_short(errors=errors, attempts=so_far,
                      max_attempts=settings.max_resize_attempts, image_missing=missing,
                      wait_left=ctx.resize_wait, generation=ctx.generation,
                      stopped_generation=ctx.stopped_generation,
                      asked_again=ctx.resize_again is not None)
    scaled_short = (FALSE, Reason.BELOW_TARGET, plan.message)
    if plan.action is ShortAction.STOPPED:
        out.status["resizeStoppedGeneration"] = ctx.stopped_generation or ctx.generation
        out.conditions += ready_conditions(False, Reason.RESIZE_STOPPED, plan.message,
                                            (FALSE, Reason.RESIZE_STOPPED, plan.message))
        out.requeue = settings.drift_interval
        return observed
    if ctx.stopped_generation is not None:
        out.status["resizeStoppedGeneration"] = None  # the spec changed since: resize again
    if plan.action is ShortAction.IMAGE_MISSING:
        out.conditions += ready_conditions(False, Reason.IMAGE_MISSING, plan.message, scaled_short)
        out.events.append(Event("Warning", Reason.IMAGE_MISSING, plan.message))
        if ctx.image is not None and ctx.image.uid:
            out.nudge.append(ctx.image.uid)  # let the ManagedImage notice and rebuild now
        out.requeue = settings.poll_interval
    elif plan.action is ShortAction.EXHAUSTED:
        out.conditions += ready_conditions(False, Reason.RESIZE_ATTEMPTS_EXHAUSTED, plan.message,
                                            scaled_short)
        out.events.append(Event("Warning", Reason.RESIZE_ATTEMPTS_EXHAUSTED, plan.message))
        out.requeue = settings.drift_interval
    elif plan.action is ShortAction.WAIT:
        out.conditions += ready_conditions(False, Reason.BELOW_TARGET, plan.message, scaled_short)
        out.requeue = plan.delay
    else:
        body = {"properties": {"scaleSettings": desired_pool_body(spec, image_ref)[
            "properties"]["scaleSettings"]}}
        observed = await pools.update(spec.resource_id, body, etag=observed.get("etag"))
        attempts = so_far + 1
        out.status["resizeAttempts"] = attempts
        out.events.append(Event("Normal", Reason.RESIZING, plan.message))
        out.conditions += ready_conditions(False, Reason.RESIZING, plan.message, scaled_short)
        out.next_resize_in = resize_backoff(attempts, settings.resize_backoff)
        out.requeue = settings.poll_interval
    return observed
