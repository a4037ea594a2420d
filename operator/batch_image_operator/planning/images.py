"""What to do about an Azure managed image, given its spec and what Azure reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..models.managedimage import ManagedImageSpec


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


def desired_image_body(spec: ManagedImageSpec) -> dict[str, Any]:
    assert spec.snapshots is not None
    src = spec.snapshots
    body: dict[str, Any] = {
        "location": spec.location,
        "properties": {
            "hyperVGeneration": spec.hyper_v_generation,
            "storageProfile": {
                "osDisk": {
                    "osType": src.os_type,
                    "osState": src.os_state,
                    "snapshot": {"id": str(src.os_snapshot_id)},
                },
                "dataDisks": [
                    {"lun": d.lun, "snapshot": {"id": str(d.snapshot_id)}}
                    for d in src.data_disks
                ],
            },
        },
    }
    if spec.tags:
        body["tags"] = dict(spec.tags)
    return body


def _source_of(image: Mapping[str, Any]) -> tuple[str, str, str, tuple[tuple[int, str], ...]]:
    profile = (image.get("properties") or {}).get("storageProfile") or {}
    os_disk = profile.get("osDisk") or {}
    disks = tuple(sorted(
        (int(d.get("lun", -1)), str((d.get("snapshot") or {}).get("id", "")).lower())
        for d in profile.get("dataDisks") or []
    ))
    return (
        str((os_disk.get("snapshot") or {}).get("id", "")).lower(),
        str(os_disk.get("osType", "")).lower(),
        str(os_disk.get("osState", "")).lower(),
        disks,
    )


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


def plan_image(spec: ManagedImageSpec, observed: Mapping[str, Any] | None) -> ImagePlan:
    desired = desired_image_body(spec)
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
