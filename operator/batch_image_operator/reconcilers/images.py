"""One reconcile pass for a ManagedImage: read Azure, plan, write only what differs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..azure.gateway import AzureError, ImageGateway
from ..config import Settings
from ..models.armid import ResourceId
from ..models.conditions import FALSE, TRUE, Condition
from ..models.errors import SpecInvalid
from ..models.managedimage import ManagedImageSpec, parse_managed_image
from ..planning.images import DeletionAction, ImageAction, plan_deletion, plan_image
from .outcome import Event, Outcome


def invalid_outcome(exc: SpecInvalid) -> Outcome:
    msg = str(exc)
    return Outcome(
        conditions=[Condition("SourceValid", FALSE, "InvalidSpec", msg),
                    Condition("Ready", FALSE, "InvalidSpec", msg)],
        events=[Event("Warning", "InvalidSpec", msg)],
        message=msg,
    )


def azure_error_outcome(exc: AzureError, settings: Settings) -> Outcome:
    retry = exc.info.retry_after or settings.poll_interval
    return Outcome(
        conditions=[Condition("Ready", FALSE, "AzureError", str(exc))],
        requeue=retry if exc.info.retryable else settings.drift_interval,
        message=str(exc),
    )


def _status(spec: ManagedImageSpec, observed: Mapping[str, Any] | None,
            users: Sequence[str]) -> dict[str, Any]:
    status: dict[str, Any] = {
        "sourceKind": spec.source_kind,
        "snapshotIds": list(spec.snapshots.snapshot_ids()) if spec.snapshots else [],
        "usedBy": list(users),
    }
    if observed is not None:
        status["imageId"] = observed.get("id") or str(spec.image_id)
        status["provisioningState"] = (observed.get("properties") or {}).get(
            "provisioningState", "")
    return status


def not_allowed_outcome(namespace: str | None, denied: Sequence[ResourceId]) -> Outcome:
    msg = (f"namespace {namespace} may not use {', '.join(str(d) for d in denied)} "
           "(operator allow-list)")
    return Outcome(conditions=[Condition("Ready", FALSE, "NotAllowed", msg)],
                   events=[Event("Warning", "NotAllowed", msg)], message=msg)


def image_scope_ids(spec: ManagedImageSpec) -> list[ResourceId]:
    ids = [spec.image_id]
    if spec.snapshots is not None:
        ids.append(spec.snapshots.os_snapshot_id)
        ids += [d.snapshot_id for d in spec.snapshots.data_disks]
    return ids


async def reconcile_image(name: str, namespace: str | None, raw_spec: Mapping[str, Any], *,
                          users: Sequence[str], settings: Settings,
                          images: ImageGateway) -> Outcome:
    try:
        spec = parse_managed_image(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid as exc:
        return invalid_outcome(exc)
    denied = settings.allowlist.denied(namespace, image_scope_ids(spec))
    if denied:
        return not_allowed_outcome(namespace, denied)
    rid = spec.image_id
    try:
        observed = await images.get(rid)
        plan = plan_image(spec, observed)
        out = Outcome(conditions=[Condition("SourceValid", TRUE, "SourceChecked",
                                            f"{spec.source_kind} source is well-formed")])
        if plan.action in (ImageAction.CREATE, ImageAction.UPDATE):
            assert plan.body is not None
            observed = await images.begin_create(rid, plan.body)
            verb = "Creating" if plan.action is ImageAction.CREATE else "Updating"
            out.events.append(Event("Normal", verb, f"{verb} Azure image {rid}"))
            out.conditions.append(Condition("Ready", FALSE, verb, f"{verb} Azure image"))
            out.requeue = settings.poll_interval
        elif plan.action is ImageAction.WAIT:
            out.conditions.append(Condition("Ready", FALSE, "Provisioning", plan.message))
            out.requeue = settings.poll_interval
        elif plan.action is ImageAction.READY:
            out.conditions.append(Condition("Ready", TRUE, "ImageReady", f"Azure image {rid}"))
        elif plan.action is ImageAction.FAILED:
            out.conditions.append(Condition("Ready", FALSE, "ProvisioningFailed", plan.message))
        else:
            out.conditions.append(Condition("Ready", FALSE, "ImmutableFieldChanged",
                                            plan.message))
        out.status = _status(spec, observed, users)
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)


async def reconcile_image_deletion(name: str, namespace: str | None,
                                   raw_spec: Mapping[str, Any], *, users: Sequence[str],
                                   settings: Settings, images: ImageGateway) -> Outcome:
    try:
        spec = parse_managed_image(name, raw_spec, default_subscription=settings.subscription_id)
    except SpecInvalid:
        # Nothing valid was ever created in Azure from an invalid spec.
        return Outcome(done=True)
    if settings.allowlist.denied(namespace, [spec.image_id]):
        # Never touched Azure for it, so there is nothing to delete either.
        return Outcome(done=True)
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
    try:
        observed = await images.get(spec.image_id)
        action = plan_deletion(policy=spec.deletion_policy, users=users, observed=observed)
        if action is DeletionAction.DONE:
            return Outcome(status={"usedBy": []}, conditions=[unblocked], done=True)
        out = Outcome(status={"usedBy": []}, conditions=[unblocked],
                      requeue=settings.poll_interval, message="waiting for Azure to delete")
        if action is DeletionAction.DELETE:
            await images.begin_delete(spec.image_id)
            out.events.append(Event("Normal", "Deleting", f"Deleting Azure image {spec.image_id}"))
        return out
    except AzureError as exc:
        return azure_error_outcome(exc, settings)
