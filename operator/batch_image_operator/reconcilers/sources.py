"""Getting an image's source ready: snapshots as given, or captured from a VM, or a VHD.

Reads happen only while the image must be (re)built; an existing image is not
re-checked against a builder VM that may long be gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..azure.scoped import ScopedAccounts, ScopedCompute
from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.conditions import FALSE, TRUE, Condition
from ..models.disks import DataDisk
from ..models.managedimage import ManagedImageSpec, SnapshotSource
from ..models.ownership import Owner, owner_from_tags
from ..models.reasons import Reason
from ..planning.ownership import Claim, judge
from ..planning.sources import (
    NOT_RECOMMENDED,
    SnapshotStep,
    check_vm,
    plan_snapshot,
    snapshot_body,
    snapshot_lun,
    snapshot_name,
    snapshot_state,
    vm_disks,
    vm_os_type,
)
from .outcome import Event


@dataclass
class Prepared:
    """What the source step decided: a source to build from, or why not yet."""

    snapshots: SnapshotSource | None = None  # None with ready=True: Direct or VHD
    ready: bool = False
    condition: Condition = field(
        default_factory=lambda: Condition("SourceValid", TRUE, Reason.SOURCE_CHECKED, ""))
    events: list[Event] = field(default_factory=list)
    writes: int = 0
    retry_after: float = 0.0  # the longest Retry-After of the snapshots still being taken


def _snapshot_ids(ids: Sequence[str]) -> list[ResourceId] | None:
    try:
        return [parse_resource_id(i, namespace="Microsoft.Compute", types=("snapshots",))
                for i in ids]
    except InvalidResourceId:
        return None


async def _all_ready(compute: ScopedCompute, ids: Sequence[ResourceId],
                     owner: Owner) -> list[str]:
    """Names of the snapshots that are missing, not yet Succeeded, or not ours."""
    pending = []
    for rid in ids:
        snap = await compute.get(rid)
        state = str(((snap or {}).get("properties") or {}).get("provisioningState", ""))
        if snap is None or state.lower() != "succeeded" or \
                owner_from_tags(snap.get("tags")) != owner:
            pending.append(rid.name)
    return pending


async def _check_given_snapshots(spec: ManagedImageSpec, compute: ScopedCompute) -> Prepared:
    assert spec.snapshots is not None
    ids = list(spec.snapshots.sources())
    pending = []
    for rid in ids:
        snap = await compute.get(rid)
        if snap is None:
            return Prepared(condition=Condition("SourceValid", FALSE, Reason.SNAPSHOT_NOT_FOUND,
                                                f"snapshot {rid} does not exist"))
        if str(snap.get("location", "")).lower() != spec.location.lower():
            return Prepared(condition=Condition("SourceValid", FALSE, Reason.REGION_MISMATCH, (
                f"snapshot {rid.name} is in {snap.get('location')}; the image and its "
                f"snapshots must be in {spec.location}")))
        state = snapshot_state(snap)
        if state == "failed":
            return Prepared(condition=Condition("SourceValid", FALSE, Reason.SNAPSHOT_FAILED, (
                f"snapshot {rid.name} is in provisioning state Failed; take it again")))
        if state not in ("", "succeeded"):
            pending.append(rid.name)
    if pending:
        # Someone's snapshot is still being taken (a snapshot PUT is an LRO): wait for it.
        return Prepared(condition=Condition("SourceValid", TRUE, Reason.WAITING_FOR_SNAPSHOTS,
                                            f"waiting for snapshots {', '.join(pending)}"))
    return Prepared(spec.snapshots, True, Condition("SourceValid", TRUE, Reason.SNAPSHOTS_FOUND,
                                                    f"{len(ids)} snapshot(s) found"))


async def _supported(accounts: Sequence[ResourceId],
                     batch: ScopedAccounts | None) -> list[dict[str, Any]] | None:
    for account in accounts:
        if batch is not None:
            return await batch.supported_images(account)
    return None


async def prepare_source(spec: ManagedImageSpec, *, recorded_snapshots: Sequence[str],
                         accounts: Sequence[ResourceId], compute: ScopedCompute,
                         batch: ScopedAccounts | None, owner: Owner,
                         adopt: bool = False) -> Prepared:
    """Called only when the image has to be built. Writes at most the capture snapshots."""
    if spec.snapshots is not None:
        return await _check_given_snapshots(spec, compute)
    if spec.vhd is not None:
        return Prepared(None, True, Condition("SourceValid", TRUE, Reason.NOT_RECOMMENDED,
                                              NOT_RECOMMENDED["Vhd"]),
                        [Event("Warning", Reason.NOT_RECOMMENDED, NOT_RECOMMENDED["Vhd"])])
    vm_src = spec.virtual_machine
    assert vm_src is not None
    # A rebuild after the image was lost: the snapshots we captured are enough.
    recorded = _snapshot_ids(recorded_snapshots) if recorded_snapshots else None
    if vm_src.capture == "Snapshot" and recorded and \
            not await _all_ready(compute, recorded, owner):
        disks = tuple(DataDisk(lun, rid) for rid in recorded[1:]
                      if (lun := snapshot_lun(rid.name)) is not None)
        vm_like = await compute.get(vm_src.vm_id)
        os_type = vm_os_type(vm_like) if vm_like else "Linux"
        return Prepared(SnapshotSource(recorded[0], os_type, "Generalized", disks), True,
                        Condition("SourceValid", TRUE, Reason.SNAPSHOTS_FOUND,
                                  "rebuilding from the snapshots captured earlier"))
    vm = await compute.get(vm_src.vm_id)
    if vm is None:
        return Prepared(condition=Condition("SourceValid", FALSE, Reason.SOURCE_NOT_FOUND,
                                            f"virtual machine {vm_src.vm_id} does not exist"))
    problems = check_vm(vm, location=spec.location, supported=await _supported(accounts, batch))
    if problems:
        return Prepared(condition=Condition(
            "SourceValid", FALSE, problems[0].reason, "; ".join(p.message for p in problems)))
    if vm_src.capture == "Direct":
        return Prepared(None, True, Condition("SourceValid", TRUE, Reason.NOT_RECOMMENDED,
                                              NOT_RECOMMENDED["VirtualMachine"]),
                        [Event("Warning", Reason.NOT_RECOMMENDED,
                               NOT_RECOMMENDED["VirtualMachine"])])
    return await _capture(spec, vm, compute, owner, adopt, recorded_snapshots)


async def _capture(spec: ManagedImageSpec, vm: Mapping[str, Any], compute: ScopedCompute,
                   owner: Owner, adopt: bool, recorded: Sequence[str] = ()) -> Prepared:
    """Snapshot each of the VM's disks (deterministic names: a restart reuses them).

    Each snapshot is a long-running operation: waited for, re-taken (a bounded number of
    times) when it ends Failed, and taken again when it disappears. An existing snapshot
    is used or re-taken only while it carries this object's mark.
    """
    out = Prepared()
    ids: list[tuple[int | None, ResourceId]] = []
    pending: list[str] = []
    failed: list[str] = []
    known = {r.lower() for r in recorded}
    for disk in vm_disks(vm):
        rid = ResourceId(spec.subscription_id, spec.resource_group, "Microsoft.Compute",
                         (("snapshots", snapshot_name(spec.image_name, disk.lun)),))
        ids.append((disk.lun, rid))
        found = await compute.get(rid)
        verdict = judge(owner, owner_from_tags((found or {}).get("tags")),
                        what=f"snapshot {rid.name}", adopt=adopt)
        if found is not None and not verdict.may_write:
            return Prepared(condition=Condition("SourceValid", FALSE, verdict.why,
                                                verdict.message))
        # Adopting: taken again, so that it carries the mark.
        plan = plan_snapshot(rid.name, None if verdict.claim is Claim.ADOPT else found,
                             taken_before=str(rid).lower() in known)
        if plan.step is SnapshotStep.FAILED:
            failed.append(plan.message)
        elif plan.step is not SnapshotStep.READY:
            pending.append(rid.name)
        if plan.step is not SnapshotStep.TAKE:
            out.retry_after = max(out.retry_after, compute.retry_after(rid)
                                  if plan.step is SnapshotStep.WAIT else 0.0)
            continue
        await compute.begin_put(rid, snapshot_body(disk.disk_id, spec.location,
                                                   {**spec.tags, **owner.tags()}, plan.attempt))
        out.retry_after = max(out.retry_after, compute.retry_after(rid))
        out.writes += 1
        if plan.attempt > 1 or str(rid).lower() in known:
            out.events.append(Event("Warning", Reason.SNAPSHOT_RETAKEN, plan.message))
        else:
            out.events.append(Event("Normal", Reason.SNAPSHOTTING,
                                    f"Snapshotting disk {disk.disk_id.name} as {rid.name}"))
    checks = "VM passed the guide's preparation checks"
    if failed:
        out.condition = Condition("SourceValid", FALSE, Reason.SNAPSHOT_FAILED, "; ".join(failed))
        return out
    if pending:
        out.condition = Condition("SourceValid", TRUE, Reason.CAPTURING,
                                  f"{checks}; waiting for snapshots {', '.join(pending)}")
        return out
    os_id = next(rid for lun, rid in ids if lun is None)
    disks = tuple(DataDisk(lun, rid) for lun, rid in ids if lun is not None)
    out.snapshots = SnapshotSource(os_id, vm_os_type(vm), "Generalized", disks)
    out.ready = True
    out.condition = Condition("SourceValid", TRUE, Reason.SNAPSHOTS_CAPTURED,
                              f"{checks}; built from {len(ids)} snapshot(s)")
    return out

