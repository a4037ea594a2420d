"""Image sources other than ready-made snapshots: checks and bodies (pure).

The guide's VM preparation rules: a Batch-supported Marketplace base image, no
purchase plan, managed disks, no VM extensions, OS disk not encrypted, same region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.reasons import Reason
from ..models.vhd import VhdSource

NOT_RECOMMENDED = {
    "VirtualMachine": "building straight from a VM is allowed but not recommended: only "
                      "images from disk snapshots scale reliably (Azure Batch guide)",
    "Vhd": "building from a VHD is allowed but not recommended: only images from disk "
           "snapshots scale reliably (Azure Batch guide)",
}


@dataclass(frozen=True)
class SourceProblem:
    """Why an image cannot be built from its source yet (the SourceValid condition)."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class VmDisk:
    """A disk of the VM being captured: the id of the managed disk to snapshot."""

    lun: int | None  # None: the OS disk
    disk_id: ResourceId


def _lower(value: Any) -> str:
    return str(value or "").lower()


def check_vm(vm: Mapping[str, Any], *, location: str,
             supported: Sequence[Mapping[str, Any]] | None) -> list[SourceProblem]:
    """Every rule the VM breaks; ``supported`` None means no Batch account to ask."""
    props = vm.get("properties") or {}
    storage = props.get("storageProfile") or {}
    os_disk = storage.get("osDisk") or {}
    problems: list[SourceProblem] = []
    if vm.get("plan"):
        plan = vm["plan"]
        problems.append(SourceProblem(Reason.PURCHASE_PLAN, (
            f"the VM's image has a purchase plan ({plan.get('publisher')}/{plan.get('product')}); "
            "Batch custom images cannot come from third-party images with a plan")))
    disks = [os_disk, *(storage.get("dataDisks") or [])]
    if any(not (d.get("managedDisk") or {}).get("id") for d in disks):
        problems.append(SourceProblem(Reason.UNMANAGED_DISKS,
                                      "the VM must use managed disks (it has VHD-based disks)"))
    extensions = [r.get("name", "?") for r in vm.get("resources") or []
                  if _lower(r.get("type")).endswith("virtualmachines/extensions")]
    if extensions:
        problems.append(SourceProblem(Reason.EXTENSIONS_INSTALLED, (
            f"the VM has extensions installed ({', '.join(sorted(extensions))}); remove them "
            "before capturing: they can stop Batch nodes from starting")))
    if (os_disk.get("encryptionSettings") or {}).get("enabled"):
        problems.append(SourceProblem(Reason.OS_DISK_ENCRYPTED, "the VM's OS disk is encrypted"))
    if _lower(vm.get("location")) != _lower(location):
        problems.append(SourceProblem(Reason.REGION_MISMATCH, (
            f"the VM is in {vm.get('location')} but the image must be in {location}, the Batch "
            "account's region")))
    base = storage.get("imageReference") or {}
    if base.get("id") or not base.get("publisher"):
        problems.append(SourceProblem(Reason.BASE_IMAGE_NOT_MARKETPLACE, (
            "the VM must come from a Batch-supported Azure Marketplace image")))
    elif supported is not None and not any(
            all(_lower((s.get("imageReference") or {}).get(k)) == _lower(base.get(k))
                for k in ("publisher", "offer", "sku")) for s in supported):
        problems.append(SourceProblem(Reason.UNSUPPORTED_BASE_IMAGE, (
            f"base image {base.get('publisher')}:{base.get('offer')}:{base.get('sku')} is not "
            "in Batch's supported images (list supported images / node agent SKUs)")))
    return problems


def vm_disks(vm: Mapping[str, Any]) -> list[VmDisk]:
    storage = (vm.get("properties") or {}).get("storageProfile") or {}
    found = []
    for lun, disk in [(None, storage.get("osDisk") or {}),
                      *((d.get("lun"), d) for d in storage.get("dataDisks") or [])]:
        try:
            rid = parse_resource_id(str((disk.get("managedDisk") or {}).get("id")),
                                    namespace="Microsoft.Compute", types=("disks",))
        except InvalidResourceId:
            continue
        found.append(VmDisk(lun if isinstance(lun, int) else None, rid))
    return found


def vm_os_type(vm: Mapping[str, Any]) -> str:
    os_type = ((vm.get("properties") or {}).get("storageProfile") or {}).get("osDisk", {}).get(
        "osType") or "Linux"
    return "Windows" if _lower(os_type) == "windows" else "Linux"


def snapshot_name(image_name: str, lun: int | None) -> str:
    """Deterministic, so a restart finds what it made instead of making it twice."""
    suffix = "-os" if lun is None else f"-lun{lun}"
    return f"{image_name[:80 - len(suffix)]}{suffix}"


def snapshot_lun(name: str) -> int | None:
    """The LUN encoded by snapshot_name, or None for the OS disk's snapshot."""
    match = re.search(r"-lun([0-9]{1,2})$", name)
    return int(match.group(1)) if match else None


# A snapshot PUT is a long-running operation that can end Failed; the attempt number
# rides on the snapshot itself, so the bound survives a restart with no status of ours.
# ARM tag names may not contain "/".
SNAPSHOT_ATTEMPT_TAG = "batchimage.dev-snapshot-attempt"
MAX_SNAPSHOT_ATTEMPTS = 3


class SnapshotStep(Enum):
    TAKE = "take"        # absent (never taken, or gone), or Failed with attempts left
    WAIT = "wait"        # the snapshot's LRO is still running
    READY = "ready"
    FAILED = "failed"    # Failed on every attempt: needs a person


@dataclass(frozen=True)
class SnapshotPlan:
    step: SnapshotStep
    attempt: int = 1
    message: str = ""


def _attempt(snapshot: Mapping[str, Any]) -> int:
    raw = str((snapshot.get("tags") or {}).get(SNAPSHOT_ATTEMPT_TAG) or "1")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def snapshot_state(snapshot: Mapping[str, Any]) -> str:
    return str((snapshot.get("properties") or {}).get("provisioningState") or "").lower()


def plan_snapshot(name: str, observed: Mapping[str, Any] | None, *, taken_before: bool,
                  max_attempts: int = MAX_SNAPSHOT_ATTEMPTS) -> SnapshotPlan:
    """What to do about one capture snapshot, from what Azure reports of it."""
    if observed is None:
        return SnapshotPlan(SnapshotStep.TAKE, 1, (
            f"snapshot {name} disappeared; taking it again" if taken_before
            else f"taking snapshot {name}"))
    state = snapshot_state(observed)
    if state == "succeeded":
        return SnapshotPlan(SnapshotStep.READY, _attempt(observed))
    if state != "failed":
        return SnapshotPlan(SnapshotStep.WAIT, _attempt(observed))
    attempt = _attempt(observed)
    if attempt >= max_attempts:
        return SnapshotPlan(SnapshotStep.FAILED, attempt, (
            f"snapshot {name} ended Failed on each of {attempt} attempts; delete it (or fix "
            "the source disk) and the operator takes it again"))
    return SnapshotPlan(SnapshotStep.TAKE, attempt + 1, (
        f"snapshot {name} ended Failed; taking it again (attempt {attempt + 1} of "
        f"{max_attempts})"))


def snapshot_body(disk_id: ResourceId, location: str, tags: Mapping[str, str],
                  attempt: int = 1) -> dict[str, Any]:
    return {"location": location,
            "tags": {**tags, "batchimage.dev-source-disk": disk_id.name,
                     **({SNAPSHOT_ATTEMPT_TAG: str(attempt)} if attempt > 1 else {})},
            "properties": {"creationData": {"createOption": "Copy",
                                            "sourceResourceId": str(disk_id)}}}


def direct_image_body(vm_id: ResourceId, location: str, hyperv: str) -> dict[str, Any]:
    return {"location": location,
            "properties": {"hyperVGeneration": hyperv,
                           "sourceVirtualMachine": {"id": str(vm_id)}}}


def vhd_image_body(vhd: VhdSource, location: str, hyperv: str) -> dict[str, Any]:
    return {"location": location, "properties": {
        "hyperVGeneration": hyperv,
        "storageProfile": vhd.storage_profile(lambda uri: {"blobUri": uri})}}
