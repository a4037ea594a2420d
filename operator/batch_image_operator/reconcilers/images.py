"""One reconcile pass for a ManagedImage: read Azure, plan, write only what differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..azure.gateway import AzureError
from ..azure.scoped import ScopedAccounts, ScopedCompute
from ..config import Settings
from ..models.armid import ResourceId
from ..models.conditions import FALSE, TRUE, Condition
from ..models.managedimage import (
    ManagedImageSpec,
    parse_managed_image,
)
from ..models.ownership import Owner, owner_from_tags
from ..models.reasons import Reason
from ..planning.gallery import version_id
from ..planning.images import (
    DeletionAction,
    ImageAction,
    captured_source,
    desired_image_body,
    owned_candidates,
    plan_deletion,
    plan_image,
    recorded_snapshots,
)
from ..planning.ownership import Claim, ClaimVerdict, judge
from ..planning.scope import AzureScope, allowed_accounts, image_scope
from .common import azure_error_outcome, invalid_outcome
from .gallery import publish
from .kind import Kind
from .outcome import Event, Outcome
from .policy import Gated, left_in_azure, not_ours
from .sources import prepare_source


@dataclass(frozen=True)
class ImageContext:
    """What the handler knows from Kubernetes, at no API cost."""

    owner: Owner
    namespace: str | None = None
    adopt: bool = False
    # The BatchPools keeping the image alive, as shown (names in this namespace, a count
    # for other namespaces): what the deletion guard goes by.
    users: Sequence[str] = ()
    # What `status.usedBy` shows now: ``users``, or while their changes are coalesced
    # (planning/usedby.py) the list written last. None: ``users``.
    used_by: Sequence[str] | None = None
    # Batch accounts of the pools using this image, plus the configured ones.
    accounts: Sequence[ResourceId] = ()
    status: Mapping[str, Any] = field(default_factory=dict)


def _parse(name: str, raw_spec: Mapping[str, Any], settings: Settings) -> ManagedImageSpec:
    return parse_managed_image(name, raw_spec, default_subscription=settings.subscription_id,
                               storage_suffix=settings.storage_suffix)


def _scope(spec: ManagedImageSpec, ctx: ImageContext, settings: Settings,
           deleting: bool) -> AzureScope:
    """The same both ways: the image, its sources and gallery entries, and the Batch
    accounts of its users that the namespace may read."""
    return image_scope(spec, allowed_accounts(ctx.namespace, ctx.accounts, settings.allowlist))


def _judge(ctx: ImageContext, observed: Mapping[str, Any], what: str) -> ClaimVerdict:
    return judge(ctx.owner, owner_from_tags(observed.get("tags")), what=what, adopt=ctx.adopt)


def _status(spec: ManagedImageSpec, observed: Mapping[str, Any] | None,
            ctx: ImageContext) -> dict[str, Any]:
    shown = ctx.users if ctx.used_by is None else ctx.used_by
    status: dict[str, Any] = {"sourceKind": spec.source_kind, "usedBy": list(shown)}
    if spec.snapshots is not None:
        status["snapshotIds"] = list(spec.snapshots.snapshot_ids())
    if observed is not None:
        status["imageId"] = observed.get("id") or str(spec.image_id)
        status["provisioningState"] = (observed.get("properties") or {}).get(
            "provisioningState", "")
    return status


DISAPPEARED = ("the Azure image was deleted outside the operator; it is being rebuilt "
               "from its source")


async def reconcile_image(spec: ManagedImageSpec, ctx: ImageContext, gw: Gated,
                          settings: Settings) -> Outcome:
    """The reconcile step (kind.py has parsed the spec and gated its scope)."""
    assert gw.compute is not None
    compute, batch = gw.compute, gw.accounts
    try:
        observed = await compute.get(spec.image_id)
        out = Outcome()
        if observed is not None:
            verdict = _judge(ctx, observed, f"Azure image {spec.image_id.name}")
            if not verdict.may_write:
                refused = not_ours(verdict)
                refused.requeue = settings.blocked_retry
                return refused
            if verdict.claim is Claim.ADOPT:
                out.events.append(Event("Normal", Reason.ADOPTING, verdict.message))
        out.status = _status(spec, observed, ctx)
        desired: dict[str, Any] | None = None
        if observed is None:
            if ctx.status.get("imageId"):
                out.events.append(Event("Warning", Reason.AZURE_IMAGE_DISAPPEARED, DISAPPEARED))
            # Only a (re)build reads and checks the source; a built image no longer needs it.
            prep = await prepare_source(
                spec, recorded_snapshots=recorded_snapshots(spec, ctx.status),
                accounts=batch_accounts(batch, ctx, settings), compute=compute, batch=batch,
                owner=ctx.owner, adopt=ctx.adopt)
            out.conditions.append(prep.condition)
            out.events += prep.events
            if prep.snapshots is not None:
                out.status["snapshotIds"] = list(prep.snapshots.snapshot_ids())
            if not prep.ready:
                waiting = prep.condition.status == TRUE
                out.conditions.append(Condition("Ready", FALSE, prep.condition.reason,
                                                prep.condition.message))
                if not waiting:
                    out.events.append(Event("Warning", Reason.SOURCE_INVALID,
                                            prep.condition.message))
                out.requeue = max(settings.poll_interval, prep.retry_after) if waiting \
                    else settings.drift_interval
                return out
            desired = desired_image_body(spec, prep.snapshots)
        elif spec.virtual_machine is not None and spec.virtual_machine.capture == "Snapshot":
            # Built from snapshots we captured: compare against those, not the VM.
            desired = desired_image_body(spec, captured_source(spec, observed))
        desired = desired or desired_image_body(spec)
        desired["tags"] = {**desired.get("tags", {}), **ctx.owner.tags()}
        plan = plan_image(spec, observed, desired)
        if plan.action in (ImageAction.CREATE, ImageAction.UPDATE):
            assert plan.body is not None
            observed = await compute.begin_put(spec.image_id, plan.body)
            verb = Reason.CREATING if plan.action is ImageAction.CREATE else Reason.UPDATING
            out.events.append(Event("Normal", verb, f"{verb} Azure image {spec.image_id}"))
            out.conditions.append(Condition("Ready", FALSE, verb, f"{verb} Azure image"))
            out.requeue = max(settings.poll_interval, compute.retry_after(spec.image_id))
        elif plan.action is ImageAction.WAIT:
            out.conditions.append(Condition("Ready", FALSE, Reason.PROVISIONING, plan.message))
            out.requeue = max(settings.poll_interval, compute.retry_after(spec.image_id))
        elif plan.action is ImageAction.READY:
            assert observed is not None
            await _publish_or_ready(spec, observed, out, settings, compute, ctx)
        elif plan.action is ImageAction.FAILED:
            out.conditions.append(Condition("Ready", FALSE, Reason.PROVISIONING_FAILED,
                                            plan.message))
            out.events.append(Event("Warning", Reason.PROVISIONING_FAILED, plan.message))
        else:
            out.conditions.append(Condition("Ready", FALSE, Reason.IMMUTABLE_FIELD_CHANGED,
                                            plan.message))
            out.events.append(Event("Warning", Reason.IMMUTABLE_FIELD_CHANGED, plan.message))
        out.status.update({k: v for k, v in _status(spec, observed, ctx).items()
                           if k in ("imageId", "provisioningState")})
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)


def batch_accounts(batch: ScopedAccounts | None, ctx: ImageContext,
                   settings: Settings) -> list[ResourceId]:
    """The accounts this pass may read (the gate already dropped the others)."""
    return allowed_accounts(ctx.namespace, ctx.accounts, settings.allowlist) if batch else []


async def _publish_or_ready(spec: ManagedImageSpec, observed: Mapping[str, Any], out: Outcome,
                            settings: Settings, compute: ScopedCompute,
                            ctx: ImageContext) -> None:
    image_id = str(observed.get("id") or spec.image_id)
    if spec.gallery is None:
        out.conditions.append(Condition("Ready", TRUE, Reason.IMAGE_READY,
                                        f"Azure image {image_id}"))
        return
    pub = await publish(spec, observed, compute, ctx.owner, ctx.adopt)
    out.conditions.append(pub.condition)
    out.events += pub.events
    if pub.version_id:
        out.status["galleryImageVersionId"] = pub.version_id
        out.conditions.append(Condition("Ready", TRUE, Reason.PUBLISHED,
                                        f"gallery image version {pub.version_id}"))
    else:
        out.conditions.append(Condition("Ready", FALSE, pub.condition.reason,
                                        pub.condition.message))
        out.requeue = max(settings.poll_interval, pub.retry_after) if pub.in_progress \
            else settings.drift_interval


async def unmanaged_users(spec: ManagedImageSpec, accounts: Sequence[ResourceId],
                          batch: ScopedAccounts | None) -> list[str]:
    """Pools in Azure (not BatchPools here) that boot from this image or its gallery version."""
    if batch is None:
        return []
    ids = {str(spec.image_id).lower()}
    if spec.gallery is not None:
        ids.add(str(version_id(spec)).lower())
    users = []
    for account in accounts:
        for pool in await batch.list_pools(account):
            vm = ((pool.get("properties") or {}).get("deploymentConfiguration") or {}).get(
                "virtualMachineConfiguration") or {}
            if str((vm.get("imageReference") or {}).get("id", "")).lower() in ids:
                users.append(f"{account.name}/{pool.get('name')} (Azure pool)")
    return users


async def delete_image(spec: ManagedImageSpec, ctx: ImageContext, gw: Gated,
                       settings: Settings) -> Outcome:
    """The delete step: wait for the image's users, then delete what is ours."""
    assert gw.compute is not None
    compute, batch = gw.compute, gw.accounts
    try:
        users = list(ctx.users) or await unmanaged_users(
            spec, batch_accounts(batch, ctx, settings), batch)
    except AzureError as exc:
        return azure_error_outcome(exc, settings)
    if users:
        msg = f"in use by BatchPool(s): {', '.join(users)}; deletion waits until they are gone"
        return Outcome(
            status={"usedBy": list(users)},
            conditions=[Condition("DeletionBlocked", TRUE, Reason.IN_USE, msg)],
            events=[Event("Warning", Reason.DELETION_BLOCKED, msg)],
            requeue=settings.blocked_retry, message=msg,
        )
    unblocked = Condition("DeletionBlocked", FALSE, Reason.NOT_IN_USE,
                          "no BatchPool uses this image")
    if spec.deletion_policy == "Retain":
        return Outcome(conditions=[unblocked], done=True,
                       events=[Event("Normal", Reason.RETAINED,
                                     f"Azure image {spec.image_id} kept")])
    left: list[Event] = []
    try:
        for rid in owned_candidates(spec, ctx.status):
            observed = await compute.get(rid)
            if observed is not None:
                verdict = _judge(ctx, observed, str(rid))
                if not verdict.may_write:
                    left.append(left_in_azure(verdict, str(rid)))
                    continue
            action = plan_deletion(policy=spec.deletion_policy, users=(), observed=observed)
            if action is DeletionAction.DONE:
                continue
            out = Outcome(status={"usedBy": []}, conditions=[unblocked], events=left,
                          requeue=settings.poll_interval,
                          message=f"waiting for Azure to delete {rid.name}")
            if action is DeletionAction.DELETE:
                await compute.begin_delete(rid)
                out.events.append(Event("Normal", Reason.DELETING, f"Deleting {rid}"))
            out.requeue = max(settings.poll_interval, compute.retry_after(rid))
            return out
        return Outcome(status={"usedBy": []}, conditions=[unblocked], done=True, events=left)
    except AzureError as exc:
        return azure_error_outcome(exc, settings)


MANAGED_IMAGE: Kind[ManagedImageSpec, ImageContext] = Kind(
    "ManagedImage", _parse, lambda exc: invalid_outcome(exc, "SourceValid"), _scope,
    reconcile_image, delete_image)
