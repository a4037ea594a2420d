"""One reconcile pass for a ManagedImage: read Azure, plan, write only what differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import AzureError, ComputeGateway
from ..config import Settings
from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.conditions import FALSE, TRUE, Condition
from ..models.errors import SpecInvalid
from ..models.managedimage import (
    DataDisk,
    ManagedImageSpec,
    SnapshotSource,
    parse_managed_image,
)
from ..planning.gallery import version_id
from ..planning.images import (
    DeletionAction,
    ImageAction,
    desired_image_body,
    plan_deletion,
    plan_image,
)
from .common import azure_error_outcome, invalid_outcome, not_allowed_outcome
from .gallery import publish
from .outcome import Event, Outcome
from .sources import prepare_source


@dataclass(frozen=True)
class ImageGateways:
    compute: ComputeGateway
    batch: BatchAccountGateway | None = None


@dataclass(frozen=True)
class ImageContext:
    """What the handler knows from Kubernetes, at no API cost."""

    namespace: str | None = None
    users: Sequence[str] = ()
    # Batch accounts of the pools using this image, plus the configured ones.
    accounts: Sequence[ResourceId] = ()
    status: Mapping[str, Any] = field(default_factory=dict)


def image_scope_ids(spec: ManagedImageSpec) -> list[ResourceId]:
    ids = [spec.image_id]
    if spec.snapshots is not None:
        ids.append(spec.snapshots.os_snapshot_id)
        ids += [d.snapshot_id for d in spec.snapshots.data_disks]
    if spec.virtual_machine is not None:
        ids.append(spec.virtual_machine.vm_id)
    if spec.gallery is not None:
        ids.append(version_id(spec))
    return ids


def _status(spec: ManagedImageSpec, observed: Mapping[str, Any] | None,
            ctx: ImageContext) -> dict[str, Any]:
    status: dict[str, Any] = {"sourceKind": spec.source_kind, "usedBy": list(ctx.users)}
    if spec.snapshots is not None:
        status["snapshotIds"] = list(spec.snapshots.snapshot_ids())
    if observed is not None:
        status["imageId"] = observed.get("id") or str(spec.image_id)
        status["provisioningState"] = (observed.get("properties") or {}).get(
            "provisioningState", "")
    return status


async def reconcile_image(name: str, raw_spec: Mapping[str, Any], ctx: ImageContext, *,
                          settings: Settings, gateways: ImageGateways) -> Outcome:
    try:
        spec = parse_managed_image(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid as exc:
        return invalid_outcome(exc, "SourceValid")
    denied = settings.allowlist.denied(ctx.namespace, image_scope_ids(spec))
    if denied:
        return not_allowed_outcome(ctx.namespace, denied)
    compute = gateways.compute
    try:
        observed = await compute.get(spec.image_id)
        out = Outcome()
        out.status = _status(spec, observed, ctx)
        desired: dict[str, Any] | None = None
        if observed is None:
            # Only a (re)build reads and checks the source; a built image no longer needs it.
            prep = await prepare_source(
                spec, recorded_snapshots=list(ctx.status.get("snapshotIds") or []),
                accounts=ctx.accounts, compute=compute, batch=gateways.batch)
            out.conditions.append(prep.condition)
            out.events += prep.events
            if prep.snapshots is not None:
                out.status["snapshotIds"] = list(prep.snapshots.snapshot_ids())
            if not prep.ready:
                waiting = prep.condition.status == TRUE
                out.conditions.append(Condition("Ready", FALSE, prep.condition.reason,
                                                prep.condition.message))
                if not waiting:
                    out.events.append(Event("Warning", "SourceInvalid", prep.condition.message))
                out.requeue = max(settings.poll_interval, prep.retry_after) if waiting \
                    else settings.drift_interval
                return out
            desired = desired_image_body(spec, prep.snapshots)
        elif spec.virtual_machine is not None and spec.virtual_machine.capture == "Snapshot":
            # Built from snapshots we captured: compare against those, not the VM.
            desired = desired_image_body(spec, _captured(spec, observed))
        plan = plan_image(spec, observed, desired)
        if plan.action in (ImageAction.CREATE, ImageAction.UPDATE):
            assert plan.body is not None
            observed = await compute.begin_put(spec.image_id, plan.body)
            verb = "Creating" if plan.action is ImageAction.CREATE else "Updating"
            out.events.append(Event("Normal", verb, f"{verb} Azure image {spec.image_id}"))
            out.conditions.append(Condition("Ready", FALSE, verb, f"{verb} Azure image"))
            out.requeue = max(settings.poll_interval, compute.retry_after(spec.image_id))
        elif plan.action is ImageAction.WAIT:
            out.conditions.append(Condition("Ready", FALSE, "Provisioning", plan.message))
            out.requeue = max(settings.poll_interval, compute.retry_after(spec.image_id))
        elif plan.action is ImageAction.READY:
            assert observed is not None
            await _publish_or_ready(spec, observed, out, settings, compute)
        elif plan.action is ImageAction.FAILED:
            out.conditions.append(Condition("Ready", FALSE, "ProvisioningFailed", plan.message))
            out.events.append(Event("Warning", "ProvisioningFailed", plan.message))
        else:
            out.conditions.append(Condition("Ready", FALSE, "ImmutableFieldChanged",
                                            plan.message))
            out.events.append(Event("Warning", "ImmutableFieldChanged", plan.message))
        out.status.update({k: v for k, v in _status(spec, observed, ctx).items()
                           if k in ("imageId", "provisioningState")})
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)


def _captured(spec: ManagedImageSpec, observed: Mapping[str, Any]) -> SnapshotSource | None:
    """The SnapshotSource an existing image was built from (for the immutable check)."""
    profile = (observed.get("properties") or {}).get("storageProfile") or {}
    try:
        os_id = parse_resource_id(str((profile.get("osDisk") or {}).get("snapshot", {}).get("id")))
        disks = tuple(DataDisk(int(d["lun"]), parse_resource_id(str(d["snapshot"]["id"])))
                      for d in profile.get("dataDisks") or [])
    except (InvalidResourceId, KeyError, TypeError, ValueError):
        return None
    os_disk = profile.get("osDisk") or {}
    return SnapshotSource(os_id, str(os_disk.get("osType") or "Linux"),
                          str(os_disk.get("osState") or "Generalized"), disks)


async def _publish_or_ready(spec: ManagedImageSpec, observed: Mapping[str, Any], out: Outcome,
                            settings: Settings, compute: ComputeGateway) -> None:
    image_id = str(observed.get("id") or spec.image_id)
    if spec.gallery is None:
        out.conditions.append(Condition("Ready", TRUE, "ImageReady", f"Azure image {image_id}"))
        return
    pub = await publish(spec, observed, compute)
    out.conditions.append(pub.condition)
    out.events += pub.events
    if pub.version_id:
        out.status["galleryImageVersionId"] = pub.version_id
        out.conditions.append(Condition("Ready", TRUE, "Published",
                                        f"gallery image version {pub.version_id}"))
    else:
        out.conditions.append(Condition("Ready", FALSE, pub.condition.reason,
                                        pub.condition.message))
        out.requeue = max(settings.poll_interval, pub.retry_after) if pub.in_progress \
            else settings.drift_interval


async def unmanaged_users(spec: ManagedImageSpec, accounts: Sequence[ResourceId],
                          batch: BatchAccountGateway | None) -> list[str]:
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


async def reconcile_image_deletion(name: str, raw_spec: Mapping[str, Any], ctx: ImageContext, *,
                                   settings: Settings, gateways: ImageGateways) -> Outcome:
    try:
        spec = parse_managed_image(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid:
        # Nothing valid was ever created in Azure from an invalid spec.
        return Outcome(done=True)
    if settings.allowlist.denied(ctx.namespace, [spec.image_id]):
        # Never touched Azure for it, so there is nothing to delete either.
        return Outcome(done=True)
    try:
        users = list(ctx.users) or await unmanaged_users(spec, settings.batch_accounts,
                                                         gateways.batch)
    except AzureError as exc:
        return azure_error_outcome(exc, settings)
    if users:
        msg = f"in use by BatchPool(s): {', '.join(users)}; deletion waits until they are gone"
        return Outcome(
            status={"usedBy": list(users)},
            conditions=[Condition("DeletionBlocked", TRUE, "InUse", msg)],
            events=[Event("Warning", "DeletionBlocked", msg)],
            requeue=settings.blocked_retry, message=msg,
        )
    unblocked = Condition("DeletionBlocked", FALSE, "NotInUse", "no BatchPool uses this image")
    if spec.deletion_policy == "Retain":
        return Outcome(conditions=[unblocked], done=True,
                       events=[Event("Normal", "Retained", f"Azure image {spec.image_id} kept")])
    # Delete what the operator made, newest first: gallery version, image, captured snapshots.
    owned: list[ResourceId] = []
    if spec.gallery is not None:
        owned.append(version_id(spec))
    owned.append(spec.image_id)
    if spec.virtual_machine is not None and spec.virtual_machine.capture == "Snapshot":
        for raw in ctx.status.get("snapshotIds") or []:
            try:
                owned.append(parse_resource_id(str(raw), types=("snapshots",)))
            except InvalidResourceId:
                continue
    try:
        for rid in owned:
            observed = await gateways.compute.get(rid)
            action = plan_deletion(policy=spec.deletion_policy, users=(), observed=observed)
            if action is DeletionAction.DONE:
                continue
            out = Outcome(status={"usedBy": []}, conditions=[unblocked],
                          message=f"waiting for Azure to delete {rid.name}")
            if action is DeletionAction.DELETE:
                await gateways.compute.begin_delete(rid)
                out.events.append(Event("Normal", "Deleting", f"Deleting {rid}"))
            out.requeue = max(settings.poll_interval, gateways.compute.retry_after(rid))
            return out
        return Outcome(status={"usedBy": []}, conditions=[unblocked], done=True)
    except AzureError as exc:
        return azure_error_outcome(exc, settings)
