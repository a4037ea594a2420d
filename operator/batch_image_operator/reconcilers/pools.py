"""One reconcile pass for a BatchPool: resolve the image, read Azure, write only what differs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import AzureError, ComputeGateway, PoolGateway
from ..config import Settings
from ..models.armid import parse_resource_id
from ..models.batchpool import BatchPoolSpec, parse_batch_pool
from ..models.conditions import FALSE, TRUE, Condition
from ..models.errors import SpecInvalid
from ..models.references import ImageInfo
from ..planning.images import DeletionAction, plan_deletion
from ..planning.limits import PoolDemand, check_limits, nat_port_capacity
from ..planning.nodes import summarize_node_counts, unusable_nodes
from ..planning.pools import PoolAction, PoolPlan, desired_pool_body, plan_pool, resize_errors
from ..planning.resizes import ShortAction, allocation_failed, backoff, plan_short
from .common import azure_error_outcome, invalid_outcome, not_allowed_outcome
from .outcome import Event, Outcome


@dataclass(frozen=True)
class PoolContext:
    """What the handler knows from Kubernetes (indexes, metadata), at no API cost."""

    namespace: str | None = None
    created: str = ""
    image: ImageInfo | None = None
    had_azure_pool: bool = False
    # Pools whose image lineage meets the given one (from an index; no API call).
    others: Callable[[frozenset[str]], Sequence[PoolDemand]] = lambda _lineage: ()
    resize_attempts: int = 0      # from status: resizes issued for the current target
    resize_wait: float = 0.0      # seconds before another resize may be issued
    generation: int = 0           # metadata.generation of the spec this pass works from
    stopped_generation: int | None = None  # status: generation a stopped resize was seen at


def lineage(spec: BatchPoolSpec, image: ImageInfo | None) -> frozenset[str]:
    if spec.image.managed_image_ref is not None:
        return image.lineage if image is not None else frozenset()
    if spec.image.image_id is not None:
        return frozenset({str(spec.image.image_id).lower()})
    return frozenset()  # Marketplace images carry no custom-image limit


def demand(spec: BatchPoolSpec, namespace: str | None, name: str, created: str,
           image: ImageInfo | None) -> PoolDemand:
    fixed = spec.fixed
    return PoolDemand(
        namespace=namespace or "", name=name, created=created,
        lineage=lineage(spec, image),
        dedicated=fixed.target_dedicated if fixed else 0,
        low_priority=fixed.target_low_priority if fixed else 0,
        nat_port_capacity=nat_port_capacity(spec.inbound_nat_pools),
    )


def _resolve(spec: BatchPoolSpec, image: ImageInfo | None
             ) -> tuple[dict[str, Any] | None, Condition]:
    """The imageReference to use, or why there is none yet."""
    src = spec.image
    if src.managed_image_ref is not None:
        ref = src.managed_image_ref
        if image is None:
            return None, Condition("ImageResolved", FALSE, "ImageNotFound",
                                   f"ManagedImage {ref} does not exist in this namespace")
        if image.deleting:
            return None, Condition("ImageResolved", FALSE, "ImageDeleting",
                                   f"ManagedImage {ref} is being deleted")
        if not image.ready or not image.effective_id:
            return None, Condition("ImageResolved", FALSE, "ImageNotReady",
                                   f"waiting for ManagedImage {ref} to be Ready")
        return {"id": image.effective_id}, Condition(
            "ImageResolved", TRUE, "ImageReady", image.effective_id)
    if src.image_id is not None:
        return {"id": str(src.image_id)}, Condition("ImageResolved", TRUE, "ImageId",
                                                    str(src.image_id))
    assert src.marketplace is not None
    publisher, offer, sku, version = src.marketplace
    return ({"publisher": publisher, "offer": offer, "sku": sku, "version": version},
            Condition("ImageResolved", TRUE, "Marketplace", f"{publisher}:{offer}:{sku}:{version}"))


def _status(spec: BatchPoolSpec, observed: Mapping[str, Any] | None,
            image_ref: Mapping[str, Any] | None) -> dict[str, Any]:
    status: dict[str, Any] = {"poolId": spec.pool_id}
    if image_ref is not None and image_ref.get("id"):
        status["imageId"] = image_ref["id"]
    if observed is None:
        return status
    props = observed.get("properties") or {}
    vm = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration") or {}
    if (vm.get("imageReference") or {}).get("id"):
        status["imageId"] = vm["imageReference"]["id"]
    status.update({
        "resourceId": observed.get("id") or str(spec.resource_id),
        "provisioningState": props.get("provisioningState", ""),
        "allocationState": props.get("allocationState", ""),
        "currentDedicatedNodes": int(props.get("currentDedicatedNodes") or 0),
        "currentLowPriorityNodes": int(props.get("currentLowPriorityNodes") or 0),
        "resizeErrors": resize_errors(observed),
    })
    return status


@dataclass(frozen=True)
class PoolGateways:
    pools: PoolGateway
    images: ComputeGateway | None = None
    nodes: BatchAccountGateway | None = None


async def _node_counts(gw: PoolGateways, spec: BatchPoolSpec,
                       observed: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Data-plane counts; a data-plane hiccup leaves them out rather than failing the pass."""
    if gw.nodes is None or observed is None:
        return None
    try:
        return summarize_node_counts(await gw.nodes.node_counts(spec.resource_id))
    except AzureError:
        return None


def _guard(spec: BatchPoolSpec, name: str, ctx: PoolContext, settings: Settings,
           resolved: Condition) -> tuple[Outcome, bool]:
    """Checks that refuse before any Azure call: the node limits of the image lineage."""
    me = demand(spec, ctx.namespace, name, ctx.created, ctx.image)
    verdict = check_limits(me, ctx.others(me.lineage) if me.lineage else (), settings.limits)
    if not verdict.within:
        return Outcome(
            status={"poolId": spec.pool_id},
            conditions=[resolved,
                        Condition("WithinLimits", FALSE, "LimitExceeded", verdict.message),
                        Condition("Ready", FALSE, "LimitExceeded", verdict.message)],
            events=[Event("Warning", "LimitExceeded", verdict.message)],
            requeue=settings.blocked_retry), False
    out = Outcome(conditions=[resolved, Condition("WithinLimits", TRUE, "WithinLimits",
                                                  verdict.message)])
    if verdict.shared_with:
        out.events.append(Event("Warning", "SharedImage", (
            "one image per pool is recommended; this image lineage is also used by "
            + ", ".join(verdict.shared_with))))
    return out, True


def _ready_conditions(ready: bool, reason: str, message: str,
                      scaled: tuple[str, str, str]) -> list[Condition]:
    return [Condition("Scaled", *scaled),
            Condition("Ready", TRUE if ready else FALSE, reason, message)]


async def _handle_short(spec: BatchPoolSpec, observed: Mapping[str, Any],
                        image_ref: Mapping[str, Any], ctx: PoolContext, out: Outcome,
                        settings: Settings, gw: PoolGateways) -> Mapping[str, Any]:
    """Steady below target: re-issue the resize, diagnose a missing image, or give up."""
    errors = resize_errors(observed)
    missing = False
    if allocation_failed(errors) and image_ref.get("id") and gw.images is not None:
        missing = not await gw.images.exists(parse_resource_id(str(image_ref["id"])))
    plan = plan_short(errors=errors, attempts=max(ctx.resize_attempts, 1),
                      max_attempts=settings.max_resize_attempts, image_missing=missing,
                      wait_left=ctx.resize_wait, generation=ctx.generation,
                      stopped_generation=ctx.stopped_generation)
    scaled_short = (FALSE, "BelowTarget", plan.message)
    if plan.action is ShortAction.STOPPED:
        out.status["resizeStoppedGeneration"] = ctx.stopped_generation or ctx.generation
        out.conditions += _ready_conditions(False, "ResizeStopped", plan.message,
                                            (FALSE, "ResizeStopped", plan.message))
        out.requeue = settings.drift_interval
        return observed
    if ctx.stopped_generation is not None:
        out.status["resizeStoppedGeneration"] = None  # the spec changed since: resize again
    if plan.action is ShortAction.IMAGE_MISSING:
        out.conditions += _ready_conditions(False, "ImageMissing", plan.message, scaled_short)
        out.events.append(Event("Warning", "ImageMissing", plan.message))
        if ctx.image is not None and ctx.image.uid:
            out.nudge.append(ctx.image.uid)  # let the ManagedImage notice and rebuild now
        out.requeue = settings.poll_interval
    elif plan.action is ShortAction.EXHAUSTED:
        out.conditions += _ready_conditions(False, "ResizeAttemptsExhausted", plan.message,
                                            scaled_short)
        out.events.append(Event("Warning", "ResizeAttemptsExhausted", plan.message))
        out.requeue = settings.drift_interval
    elif plan.action is ShortAction.WAIT:
        out.conditions += _ready_conditions(False, "BelowTarget", plan.message, scaled_short)
        out.requeue = plan.delay
    else:
        body = {"properties": {"scaleSettings": desired_pool_body(spec, image_ref)[
            "properties"]["scaleSettings"]}}
        observed = await gw.pools.update(spec.resource_id, body)
        attempts = max(ctx.resize_attempts, 1) + 1
        out.status["resizeAttempts"] = attempts
        out.events.append(Event("Normal", "Resizing", plan.message))
        out.conditions += _ready_conditions(False, "Resizing", plan.message, scaled_short)
        out.next_resize_in = backoff(attempts, settings.resize_backoff,
                                     settings.resize_backoff * 16)
        out.requeue = settings.poll_interval
    return observed


async def reconcile_pool(name: str, raw_spec: Mapping[str, Any], ctx: PoolContext, *,
                         settings: Settings, gateways: PoolGateways) -> Outcome:
    try:
        spec = parse_batch_pool(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid as exc:
        return invalid_outcome(exc)
    scope = [spec.resource_id] + ([spec.image.image_id] if spec.image.image_id else [])
    denied = settings.allowlist.denied(ctx.namespace, scope)
    if denied:
        return not_allowed_outcome(ctx.namespace, denied)
    image_ref, resolved = _resolve(spec, ctx.image)
    gw = gateways
    try:
        if image_ref is None:
            # Mirror an existing pool, but never create one without an image.
            mirrored = await gw.pools.get(spec.resource_id) if ctx.had_azure_pool else None
            # No polling for the image: the operator wakes this pool when it changes.
            return Outcome(status=_status(spec, mirrored, None),
                           conditions=[resolved, Condition("Ready", FALSE, resolved.reason,
                                                           resolved.message)],
                           requeue=settings.drift_interval)
        out, allowed = _guard(spec, name, ctx, settings, resolved)
        if not allowed:
            return out
        observed: Mapping[str, Any] | None = await gw.pools.get(spec.resource_id)
        plan = plan_pool(spec, image_ref, observed)
        if plan.action is PoolAction.CREATE:
            assert plan.body is not None
            observed = await gw.pools.create(spec.resource_id, plan.body)
            out.status["resizeAttempts"] = 1
            out.events.append(Event("Normal", "Creating",
                                    f"Creating Batch pool {spec.pool_id} in {spec.account_name}"))
        elif plan.action is PoolAction.PATCH:
            assert plan.body is not None
            observed = await gw.pools.update(spec.resource_id, plan.body)
            if "scaleSettings" in plan.body["properties"]:
                out.status["resizeAttempts"] = 1  # a new target starts a new count
            changed = ", ".join(sorted(plan.body["properties"]))
            out.events.append(Event("Normal", "Updating", f"Updating pool: {changed}"))
        elif plan.action is PoolAction.SHORT:
            assert observed is not None
            observed = await _handle_short(spec, observed, image_ref, ctx, out, settings, gw)
        elif ctx.stopped_generation is not None:
            out.status["resizeStoppedGeneration"] = None  # no stopped resize any more
        out.status = {**_status(spec, observed, image_ref), **out.status}
        # A pool created in this pass has no nodes yet: no data-plane read for it.
        counts = None if plan.action is PoolAction.CREATE else \
            await _node_counts(gw, spec, observed)
        if counts is not None:
            out.status["nodeCounts"] = counts
        _conclude(plan, out, unusable_nodes(counts or {}), settings)
        return out
    except AzureError as exc:
        err = azure_error_outcome(exc, settings)
        err.conditions = [resolved, *err.conditions]
        return err


def _conclude(plan: PoolPlan, out: Outcome, unusable: int, settings: Settings) -> None:
    """Ready/Scaled from the plan, unless the SHORT handling already decided them."""
    at_target = (TRUE, "AtTarget", "pool is steady at target")
    if plan.action is PoolAction.SHORT:
        return
    if plan.action is PoolAction.READY and unusable:
        msg = f"{unusable} node(s) unusable or failed their start task"
        out.conditions += _ready_conditions(False, "UnusableNodes", msg, at_target)
        out.events.append(Event("Warning", "UnusableNodes", msg))
        out.requeue = settings.poll_interval
    elif plan.action is PoolAction.READY:
        out.conditions += _ready_conditions(True, "Steady", "pool is steady at target",
                                            at_target)
    elif plan.action is PoolAction.IMMUTABLE:
        out.conditions.append(Condition("Ready", FALSE, "ImmutableFieldChanged", plan.message))
        out.events.append(Event("Warning", "ImmutableFieldChanged", plan.message))
    else:
        msg = plan.message or "pool is being created"
        out.conditions += _ready_conditions(False, "Resizing", msg, (FALSE, "Resizing", msg))
        out.requeue = settings.poll_interval


async def reconcile_pool_deletion(name: str, raw_spec: Mapping[str, Any], *,
                                  settings: Settings, pools: PoolGateway) -> Outcome:
    try:
        spec = parse_batch_pool(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid:
        return Outcome(done=True)
    if spec.deletion_policy == "Retain":
        return Outcome(done=True, events=[Event("Normal", "Retained",
                                                f"Batch pool {spec.pool_id} kept in Azure")])
    try:
        observed = await pools.get(spec.resource_id)
        action = plan_deletion(policy=spec.deletion_policy, users=(), observed=observed)
        if action is DeletionAction.DONE:
            return Outcome(done=True)
        out = Outcome(status=_status(spec, observed, None),
                      message="waiting for Azure to delete the pool")
        if action is DeletionAction.DELETE:
            await pools.begin_delete(spec.resource_id)
            out.events.append(Event("Normal", "Deleting", f"Deleting Batch pool {spec.pool_id}"))
        # Batch asks (Retry-After: 15) how often a deletion is worth looking at.
        out.requeue = max(settings.poll_interval, pools.retry_after(spec.resource_id))
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)
