"""One reconcile pass for a BatchPool: resolve the image, read Azure, write only what differs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..azure.dataplane import UNTRUSTED_ENDPOINT
from ..azure.gateway import AzureError
from ..azure.scoped import ScopedAccounts
from ..config import Settings
from ..models.batchpool import BatchPoolSpec, parse_batch_pool
from ..models.conditions import FALSE, TRUE, Condition
from ..models.ownership import Owner, owner_from_metadata
from ..models.reasons import Reason
from ..models.references import ImageInfo
from ..planning.images import DeletionAction, plan_deletion
from ..planning.limits import Admission, LimitVerdict, PoolDemand
from ..planning.nodes import summarize_node_counts, unusable_nodes
from ..planning.ownership import Claim, ClaimVerdict, judge
from ..planning.poolimage import demand, image_resource_id, mirrored_status, resolve_image
from ..planning.pools import PoolAction, PoolPlan, plan_pool, resize_errors
from ..planning.resizes import resize_again_used_up
from ..planning.scope import AzureScope, pool_scope
from .common import azure_error_outcome, invalid_outcome
from .kind import Kind
from .outcome import Event, Outcome
from .policy import Gated, left_in_azure, not_ours
from .resizes import handle_short, ready_conditions


def _no_claim(me: PoolDemand, image_ids: frozenset[str]) -> Admission:
    return Admission(LimitVerdict(True, "no limit check configured"))


@dataclass(frozen=True)
class PoolContext:
    """What the handler knows from Kubernetes (indexes, metadata), at no API cost."""

    owner: Owner
    namespace: str | None = None
    adopt: bool = False           # the adopt annotation is set
    image: ImageInfo | None = None
    had_azure_pool: bool = False  # an earlier pass saw this object's Azure pool
    # Checks the pool's node demand against its lineage and namespace and, when it is
    # admitted, reserves it at once (no other pass can slip in between).
    claim: Callable[[PoolDemand, frozenset[str]], Admission] = _no_claim
    resize_attempts: int = 0      # from status: resizes issued for the current target
    resize_wait: float = 0.0      # seconds before another resize may be issued
    generation: int = 0           # metadata.generation of the spec this pass works from
    stopped_generation: int | None = None  # status: generation a stopped resize was seen at
    # A resize-again annotation value not acted on yet (its digest), else None.
    resize_again: str | None = None


async def _node_counts(accounts: ScopedAccounts | None, spec: BatchPoolSpec,
                       observed: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Data-plane counts; a data-plane hiccup leaves them out rather than failing the pass."""
    if accounts is None or observed is None:
        return None
    try:
        return summarize_node_counts(await accounts.node_counts(spec.resource_id))
    except AzureError as exc:
        if exc.info.code == UNTRUSTED_ENDPOINT:
            raise  # the token was withheld from a foreign host: the user must see why
        return None


def _admission(spec: BatchPoolSpec, ctx: PoolContext, settings: Settings,
               resolved: Condition, image_ids: frozenset[str]) -> tuple[Outcome, bool]:
    """The node limits of the image lineage and the namespace caps, before any Azure call.
    Admitted: the conditions to carry on (and the shared-image warning), True; refused:
    the final outcome, False."""
    me = demand(spec, ctx.namespace, ctx.owner.name, ctx.owner.uid, ctx.image)
    verdict = ctx.claim(me, image_ids)
    if verdict.quota is not None:
        return Outcome(status={"poolId": spec.pool_id},
                       conditions=[resolved,
                                   Condition("WithinLimits", FALSE, Reason.QUOTA_EXCEEDED,
                                             verdict.quota),
                                   Condition("Ready", FALSE, Reason.QUOTA_EXCEEDED, verdict.quota)],
                       events=[Event("Warning", Reason.QUOTA_EXCEEDED, verdict.quota)],
                       requeue=settings.blocked_retry, message=verdict.quota), False
    limits = verdict.limits
    if not limits.within:
        return Outcome(
            status={"poolId": spec.pool_id},
            conditions=[resolved,
                        Condition("WithinLimits", FALSE, Reason.LIMIT_EXCEEDED, limits.message),
                        Condition("Ready", FALSE, Reason.LIMIT_EXCEEDED, limits.message)],
            events=[Event("Warning", Reason.LIMIT_EXCEEDED, limits.message)],
            requeue=settings.blocked_retry, message=limits.message), False
    out = Outcome(conditions=[resolved, Condition("WithinLimits", TRUE, Reason.WITHIN_LIMITS,
                                                  limits.message)],
                  status={"admittedNodes": {"dedicated": me.dedicated,
                                            "lowPriority": me.low_priority}})
    if limits.sharing:
        what = ("shares its image with" if limits.same_image else
                "boots from an image built from the same snapshots as the images of")
        out.events.append(Event("Warning", Reason.SHARED_IMAGE, (
            f"this pool {what} {limits.sharing} other pool(s): their nodes count together "
            "toward the custom-image limit; one image per pool is recommended"),
            key="SharedImage"))
    return out, True


def _parse(name: str, raw_spec: Mapping[str, Any], settings: Settings) -> BatchPoolSpec:
    return parse_batch_pool(name, raw_spec, default_subscription=settings.subscription_id)


def _scope(spec: BatchPoolSpec, ctx: PoolContext, settings: Settings,
           deleting: bool) -> AzureScope:
    """A deletion touches the pool alone; a pass may also read the image it boots from."""
    if deleting:
        return pool_scope(spec, None)
    return pool_scope(spec, image_resource_id(resolve_image(spec, ctx.image)[0]))


async def reconcile_pool(spec: BatchPoolSpec, ctx: PoolContext, gw: Gated,
                         settings: Settings) -> Outcome:
    """The reconcile step (kind.py has parsed the spec and gated its scope)."""
    image_ref, resolved = resolve_image(spec, ctx.image)
    assert gw.pools is not None
    try:
        if image_ref is None:
            # Mirror an existing pool of ours, but never create one without an image.
            mirrored = await gw.pools.get(spec.resource_id) if ctx.had_azure_pool else None
            if mirrored is not None and not _claim(spec, mirrored, ctx).may_write:
                mirrored = None
            # No polling for the image: the operator wakes this pool when it changes.
            return Outcome(status=mirrored_status(spec, mirrored, None),
                           conditions=[resolved, Condition("Ready", FALSE, resolved.reason,
                                                           resolved.message)],
                           requeue=settings.drift_interval)
        image_ids = frozenset({str(image_ref["id"]).lower()}) if image_ref.get("id") \
            else frozenset()
        out, admitted = _admission(spec, ctx, settings, resolved, image_ids)
        if not admitted:
            return out  # refused before any Azure call
        observed: Mapping[str, Any] | None = await gw.pools.get(spec.resource_id)
        if observed is not None:
            verdict = _claim(spec, observed, ctx)
            if not verdict.may_write:
                refused = not_ours(verdict, "Scaled")
                refused.conditions.insert(0, resolved)
                # Not ours: it claims no nodes here, and nothing of it is mirrored.
                refused.status = {"poolId": spec.pool_id, "admittedNodes": None}
                refused.requeue = settings.blocked_retry
                return refused
            if verdict.claim is Claim.ADOPT:
                out.events.append(Event("Normal", Reason.ADOPTING, verdict.message))
        plan = plan_pool(spec, image_ref, observed, ctx.owner)
        if ctx.resize_again is not None and resize_again_used_up(
                short=plan.action is PoolAction.SHORT,
                errors=resize_errors(observed) if observed is not None else []):
            out.status["resizeAgainSeen"] = ctx.resize_again
        if plan.action is PoolAction.CREATE:
            assert plan.body is not None
            if ctx.had_azure_pool:
                out.events.append(Event("Warning", Reason.AZURE_POOL_DISAPPEARED, DISAPPEARED))
            observed = await gw.pools.create(spec.resource_id, plan.body)
            out.status["resizeAttempts"] = 1
            out.events.append(Event("Normal", Reason.CREATING,
                                    f"Creating Batch pool {spec.pool_id} in {spec.account_name}"))
        elif plan.action is PoolAction.PATCH:
            assert plan.body is not None and observed is not None
            observed = await gw.pools.update(spec.resource_id, plan.body,
                                             etag=observed.get("etag"))
            if "scaleSettings" in plan.body["properties"]:
                out.status["resizeAttempts"] = 1  # a new target starts a new count
            changed = ", ".join(sorted(plan.body["properties"]))
            out.events.append(Event("Normal", Reason.UPDATING, f"Updating pool: {changed}"))
        elif plan.action is PoolAction.SHORT:
            assert observed is not None
            observed = await handle_short(spec, observed, image_ref, ctx, out, settings,
                                           gw.pools, gw.compute)
        elif ctx.stopped_generation is not None:
            out.status["resizeStoppedGeneration"] = None  # no stopped resize any more
        out.status = {**mirrored_status(spec, observed, image_ref), **out.status}
        # A pool created in this pass has no nodes yet: no data-plane read for it.
        counts = None if plan.action is PoolAction.CREATE else \
            await _node_counts(gw.accounts, spec, observed)
        if counts is not None:
            out.status["nodeCounts"] = counts
        _conclude(plan, out, unusable_nodes(counts or {}), settings,
                  recreated=ctx.had_azure_pool and plan.action is PoolAction.CREATE)
        return out
    except AzureError as exc:
        err = azure_error_outcome(exc, settings)
        err.conditions = [resolved, *err.conditions]
        return err


DISAPPEARED = ("the Azure pool was deleted outside the operator; it is being re-created "
               "from the spec, and its nodes are allocated again from zero")


def _claim(spec: BatchPoolSpec, observed: Mapping[str, Any], ctx: PoolContext) -> ClaimVerdict:
    found = owner_from_metadata((observed.get("properties") or {}).get("metadata"))
    return judge(ctx.owner, found, what=f"Azure pool {spec.pool_id}", adopt=ctx.adopt)


def _conclude(plan: PoolPlan, out: Outcome, unusable: int, settings: Settings, *,
              recreated: bool = False) -> None:
    """Ready/Scaled from the plan, unless the SHORT handling already decided them."""
    at_target = (TRUE, Reason.AT_TARGET, "pool is steady at target")
    if plan.action is PoolAction.SHORT:
        return
    if recreated:
        out.conditions += ready_conditions(False, Reason.RECREATING, DISAPPEARED,
                                            (FALSE, Reason.RECREATING, DISAPPEARED))
        out.requeue = settings.poll_interval
        return
    if plan.action is PoolAction.READY and unusable:
        msg = f"{unusable} node(s) unusable or failed their start task"
        out.conditions += ready_conditions(False, Reason.UNUSABLE_NODES, msg, at_target)
        out.events.append(Event("Warning", Reason.UNUSABLE_NODES, msg))
        out.requeue = settings.poll_interval
    elif plan.action is PoolAction.READY:
        out.conditions += ready_conditions(True, Reason.STEADY, "pool is steady at target",
                                            at_target)
    elif plan.action is PoolAction.IMMUTABLE:
        out.conditions.append(Condition("Ready", FALSE, Reason.IMMUTABLE_FIELD_CHANGED,
                                        plan.message))
        out.events.append(Event("Warning", Reason.IMMUTABLE_FIELD_CHANGED, plan.message))
    else:
        msg = plan.message or "pool is being created"
        out.conditions += ready_conditions(False, Reason.RESIZING, msg,
                                            (FALSE, Reason.RESIZING, msg))
        out.requeue = settings.poll_interval


async def delete_pool(spec: BatchPoolSpec, ctx: PoolContext, gw: Gated,
                      settings: Settings) -> Outcome:
    """The delete step: delete the Azure pool if it is ours, unless it is retained."""
    if spec.deletion_policy == "Retain":
        return Outcome(done=True, events=[Event("Normal", Reason.RETAINED,
                                                f"Batch pool {spec.pool_id} kept in Azure")])
    assert gw.pools is not None
    try:
        observed = await gw.pools.get(spec.resource_id)
        if observed is not None:
            verdict = _claim(spec, observed, ctx)
            if not verdict.may_write:
                return Outcome(done=True, events=[
                    left_in_azure(verdict, f"Azure pool {spec.pool_id}")])
        action = plan_deletion(policy=spec.deletion_policy, users=(), observed=observed)
        if action is DeletionAction.DONE:
            return Outcome(done=True)
        out = Outcome(status=mirrored_status(spec, observed, None),
                      message="waiting for Azure to delete the pool")
        if action is DeletionAction.DELETE:
            await gw.pools.begin_delete(spec.resource_id)
            out.events.append(Event("Normal", Reason.DELETING,
                                    f"Deleting Batch pool {spec.pool_id}"))
        # Batch asks (Retry-After: 15) how often a deletion is worth looking at.
        out.requeue = max(settings.poll_interval, gw.pools.retry_after(spec.resource_id))
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)


BATCH_POOL: Kind[BatchPoolSpec, PoolContext] = Kind(
    "BatchPool", _parse, invalid_outcome, _scope, reconcile_pool, delete_pool)
