"""What to do about an Azure managed image, given its spec and what Azure reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.disks import DataDisk
from ..models.managedimage import ManagedImageSpec, SnapshotSource
from .gallery import version_id
from .scope import captured_snapshot_ids
from .sources import direct_image_body, vhd_image_body


class ImageAction(Enum):
    CREATE = "create"        # PUT the image
    UPDATE = "update"        # PUT again: only mutable properties (tags) differ
    WAIT = "wait"            # an Azure operation is in progress
    READY = "ready"          # converged, nothing to write
    FAILED = "failed"        # Azure reports Failed; needs a human or a new spec
    IMMUTABLE = "immutable"  # the spec asks for a change Azure cannot make in place


@dataclass(frozen=True)
class ImagePlan:
    action: ImageAction
    body: dict[str, Any] | None = None
    message: str = ""


IN_PROGRESS = {"creating", "updating", "deleting", "accepted"}


def desired_image_body(spec: ManagedImageSpec,
                       snapshots: SnapshotSource | None = None) -> dict[str, Any]:
    """The image PUT body. ``snapshots`` overrides the spec's (a VM captured by us)."""
    src = snapshots or spec.snapshots
    if src is None:
        if spec.virtual_machine is not None:
            body = direct_image_body(spec.virtual_machine.vm_id, spec.location,
                                     spec.hyper_v_generation)
        else:
            assert spec.vhd is not None
            body = vhd_image_body(spec.vhd, spec.location, spec.hyper_v_generation)
        if spec.tags:
            body["tags"] = dict(spec.tags)
        return body
    body = {
        "location": spec.location,
        "properties": {
            "hyperVGeneration": spec.hyper_v_generation,
            "storageProfile": src.storage_profile(lambda rid: {"snapshot": {"id": str(rid)}}),
        },
    }
    if spec.tags:
        body["tags"] = dict(spec.tags)
    return body


def _disk_source(disk: Mapping[str, Any]) -> str:
    for key in ("snapshot", "managedDisk"):
        if (disk.get(key) or {}).get("id"):
            return f"{key}:{str(disk[key]['id']).lower()}"
    return f"blob:{str(disk.get('blobUri') or '').lower()}"


def _source_of(image: Mapping[str, Any]) -> tuple[Any, ...]:
    props = image.get("properties") or {}
    vm = (props.get("sourceVirtualMachine") or {}).get("id")
    if vm:
        # Azure also reports the VM's disks; the VM is what the spec names.
        return ("vm", str(vm).lower())
    profile = props.get("storageProfile") or {}
    os_disk = profile.get("osDisk") or {}
    disks = tuple(sorted((int(d.get("lun", -1)), _disk_source(d))
                         for d in profile.get("dataDisks") or []))
    return (_disk_source(os_disk), str(os_disk.get("osType", "")).lower(),
            str(os_disk.get("osState", "")).lower(), disks)


def immutable_differences(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    diffs = []
    if _source_of(desired) != _source_of(observed):
        diffs.append("source")
    if str(desired.get("location", "")).lower() != str(observed.get("location", "")).lower():
        diffs.append("location")
    want_gen = (desired.get("properties") or {}).get("hyperVGeneration")
    have_gen = (observed.get("properties") or {}).get("hyperVGeneration")
    if have_gen and want_gen and want_gen != have_gen:
        diffs.append("hyperVGeneration")
    return diffs


def plan_image(spec: ManagedImageSpec, observed: Mapping[str, Any] | None,
               desired: Mapping[str, Any] | None = None) -> ImagePlan:
    desired = dict(desired or desired_image_body(spec))
    if observed is None:
        return ImagePlan(ImageAction.CREATE, desired, "creating image")
    state = str((observed.get("properties") or {}).get("provisioningState", "")).lower()
    if state in IN_PROGRESS:
        return ImagePlan(ImageAction.WAIT, message=f"Azure provisioning state is {state}")
    if state == "failed":
        return ImagePlan(ImageAction.FAILED, message="Azure reports the image as Failed")
    diffs = immutable_differences(desired, observed)
    if diffs:
        return ImagePlan(
            ImageAction.IMMUTABLE,
            message=(f"{', '.join(diffs)} of an existing Azure image cannot change; set a new "
                     "spec.imageName to build a new image and move pools to it"),
        )
    if dict(observed.get("tags") or {}) != dict(desired.get("tags") or {}):
        return ImagePlan(ImageAction.UPDATE, desired, "updating tags")
    return ImagePlan(ImageAction.READY)


class DeletionAction(Enum):
    BLOCKED = "blocked"
    RETAIN = "retain"
    DELETE = "delete"
    WAIT = "wait"
    DONE = "done"


def plan_deletion(*, policy: str, users: Sequence[str],
                  observed: Mapping[str, Any] | None) -> DeletionAction:
    """Shared by images and pools: in-use first, then policy, then Azure's state."""
    if users:
        return DeletionAction.BLOCKED
    if policy == "Retain":
        return DeletionAction.RETAIN
    if observed is None:
        return DeletionAction.DONE
    state = str((observed.get("properties") or {}).get("provisioningState", "")).lower()
    if state == "deleting":
        return DeletionAction.WAIT
    return DeletionAction.DELETE


def captured_source(spec: ManagedImageSpec, observed: Mapping[str, Any]) -> SnapshotSource | None:
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


def recorded_snapshots(spec: ManagedImageSpec, status: Mapping[str, Any]) -> list[str]:
    """The captured snapshots status records, kept only where they are the ids this spec
    derives (status is no authority: it could name any snapshot)."""
    derived = {str(r).lower() for r in captured_snapshot_ids(spec)}
    return [str(s) for s in status.get("snapshotIds") or [] if str(s).lower() in derived]


def owned_candidates(spec: ManagedImageSpec, status: Mapping[str, Any]) -> list[ResourceId]:
    """What this object may have made, newest first: gallery version, image, captured
    snapshots (each is deleted only if it carries this object's mark)."""
    found: list[ResourceId] = []
    if spec.gallery is not None:
        found.append(version_id(spec))
    found.append(spec.image_id)
    for raw in recorded_snapshots(spec, status):
        try:
            found.append(parse_resource_id(raw, types=("snapshots",)))
        except InvalidResourceId:
            continue
    return found
