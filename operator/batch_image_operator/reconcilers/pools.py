"""One reconcile pass for a BatchPool: resolve the image, read Azure, write only what differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..azure.dataplane import NodeCountGateway
from ..azure.gateway import AzureError, PoolGateway
from ..config import Settings
from ..models.batchpool import BatchPoolSpec, parse_batch_pool
from ..models.conditions import FALSE, TRUE, Condition
from ..models.errors import SpecInvalid
from ..models.references import ImageInfo
from ..planning.images import DeletionAction, plan_deletion
from ..planning.limits import PoolDemand, check_limits, nat_port_capacity
from ..planning.nodes import summarize_node_counts, unusable_nodes
from ..planning.pools import PoolAction, plan_pool, resize_errors
from .images import azure_error_outcome, not_allowed_outcome
from .outcome import Event, Outcome


@dataclass(frozen=True)
class PoolContext:
    """What the handler knows from Kubernetes (indexes, metadata), at no API cost."""

    namespace: str | None = None
    created: str = ""
    image: ImageInfo | None = None
    had_azure_pool: bool = False
    others: Sequence[PoolDemand] = field(default_factory=tuple)


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


def invalid_outcome(exc: SpecInvalid) -> Outcome:
    msg = str(exc)
    return Outcome(conditions=[Condition("Ready", FALSE, "InvalidSpec", msg)],
                   events=[Event("Warning", "InvalidSpec", msg)], message=msg)


async def _node_counts(nodes: NodeCountGateway | None, spec: BatchPoolSpec,
                       observed: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Data-plane counts; a data-plane hiccup leaves them out rather than failing the pass."""
    if nodes is None or observed is None:
        return None
    try:
        return summarize_node_counts(await nodes.node_counts(spec.resource_id))
    except AzureError:
        return None


async def reconcile_pool(name: str, raw_spec: Mapping[str, Any], ctx: PoolContext, *,
                         settings: Settings, pools: PoolGateway,
                         nodes: NodeCountGateway | None = None) -> Outcome:
    try:
        spec = parse_batch_pool(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid as exc:
        return invalid_outcome(exc)
    scope = [spec.resource_id] + ([spec.image.image_id] if spec.image.image_id else [])
    denied = settings.allowlist.denied(ctx.namespace, scope)
    if denied:
        return not_allowed_outcome(ctx.namespace, denied)
    image_ref, resolved = _resolve(spec, ctx.image)
    out = Outcome(conditions=[resolved])
    if image_ref is not None:
        me = demand(spec, ctx.namespace, name, ctx.created, ctx.image)
        verdict = check_limits(me, ctx.others, settings.limits)
        if not verdict.within:
            # Refused before any Azure call: Batch would fail the allocation anyway.
            out.conditions += [Condition("WithinLimits", FALSE, "LimitExceeded", verdict.message),
                               Condition("Ready", FALSE, "LimitExceeded", verdict.message)]
            out.events.append(Event("Warning", "LimitExceeded", verdict.message))
            out.status = {"poolId": spec.pool_id}
            out.requeue = settings.blocked_retry
            return out
        out.conditions.append(Condition("WithinLimits", TRUE, "WithinLimits", verdict.message))
        if verdict.shared_with:
            out.events.append(Event("Warning", "SharedImage", (
                "one image per pool is recommended; this image lineage is also used by "
                + ", ".join(verdict.shared_with))))
    try:
        if image_ref is None:
            # Mirror an existing pool, but never create one without an image.
            observed = await pools.get(spec.resource_id) if ctx.had_azure_pool else None
            out.status = _status(spec, observed, None)
            out.conditions.append(Condition("Ready", FALSE, resolved.reason, resolved.message))
            out.requeue = settings.poll_interval
            return out
        observed = await pools.get(spec.resource_id)
        plan = plan_pool(spec, image_ref, observed)
        if plan.action is PoolAction.CREATE:
            assert plan.body is not None
            observed = await pools.create(spec.resource_id, plan.body)
            out.events.append(Event("Normal", "Creating",
                                    f"Creating Batch pool {spec.pool_id} in {spec.account_name}"))
        elif plan.action is PoolAction.PATCH:
            assert plan.body is not None
            observed = await pools.update(spec.resource_id, plan.body)
            changed = ", ".join(sorted(plan.body["properties"]))
            out.events.append(Event("Normal", "Updating", f"Updating pool: {changed}"))
        out.status = _status(spec, observed, image_ref)
        counts = await _node_counts(nodes, spec, observed)
        if counts is not None:
            out.status["nodeCounts"] = counts
        unusable = unusable_nodes(counts or {})
        if plan.action is PoolAction.READY and unusable:
            msg = f"{unusable} node(s) unusable or failed their start task"
            out.conditions += [Condition("Scaled", TRUE, "AtTarget", "pool is steady at target"),
                               Condition("Ready", FALSE, "UnusableNodes", msg)]
            out.events.append(Event("Warning", "UnusableNodes", msg))
            out.requeue = settings.poll_interval
        elif plan.action is PoolAction.IMMUTABLE:
            out.conditions.append(Condition("Ready", FALSE, "ImmutableFieldChanged",
                                            plan.message))
            out.events.append(Event("Warning", "ImmutableFieldChanged", plan.message))
            out.requeue = None
        elif plan.action is PoolAction.READY:
            out.conditions += [Condition("Scaled", TRUE, "AtTarget", "pool is steady at target"),
                               Condition("Ready", TRUE, "Steady", "pool is steady at target")]
        elif plan.action is PoolAction.SHORT:
            errors = out.status.get("resizeErrors") or []
            detail = "; ".join(f"{e['code']}: {e['message']}" for e in errors) or plan.message
            out.conditions += [Condition("Scaled", FALSE, "BelowTarget", detail),
                               Condition("Ready", FALSE, "BelowTarget", detail)]
            out.requeue = settings.drift_interval
        else:
            msg = plan.message or "pool is being created"
            out.conditions += [Condition("Scaled", FALSE, "Resizing", msg),
                               Condition("Ready", FALSE, "Resizing", msg)]
            out.requeue = settings.poll_interval
        return out
    except AzureError as exc:
        err = azure_error_outcome(exc, settings)
        err.conditions = [resolved, *err.conditions]
        return err


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
        out = Outcome(status=_status(spec, observed, None), requeue=settings.poll_interval,
                      message="waiting for Azure to delete the pool")
        if action is DeletionAction.DELETE:
            await pools.begin_delete(spec.resource_id)
            out.events.append(Event("Normal", "Deleting", f"Deleting Batch pool {spec.pool_id}"))
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)
