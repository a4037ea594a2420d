"""ManagedImage spec, parsed and validated without I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .armid import InvalidResourceId, ResourceId, is_guid, parse_resource_id, valid_resource_group
from .errors import FieldError, SpecInvalid

SNAPSHOT_TYPES = ("snapshots",)


@dataclass(frozen=True)
class DataDisk:
    lun: int
    snapshot_id: ResourceId


@dataclass(frozen=True)
class SnapshotSource:
    os_snapshot_id: ResourceId
    os_type: str
    os_state: str
    data_disks: tuple[DataDisk, ...] = ()

    def snapshot_ids(self) -> tuple[str, ...]:
        return (str(self.os_snapshot_id), *(str(d.snapshot_id) for d in self.data_disks))


@dataclass(frozen=True)
class ManagedImageSpec:
    subscription_id: str
    resource_group: str
    location: str
    image_name: str
    hyper_v_generation: str
    source_kind: str  # Snapshots | VirtualMachine | Vhd
    snapshots: SnapshotSource | None
    deletion_policy: str
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def image_id(self) -> ResourceId:
        return ResourceId(self.subscription_id, self.resource_group, "Microsoft.Compute",
                          (("images", self.image_name),))


def _str(spec: Mapping[str, Any], key: str, errors: list[FieldError], path: str,
         *, required: bool = False, default: str | None = None) -> str:
    value = spec.get(key, default)
    if value is None:
        if required:
            errors.append(FieldError(f"{path}.{key}", "Required value"))
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(f"{path}.{key}", "must be a string"))
        return ""
    return value


def _enum(value: str, allowed: tuple[str, ...], path: str, errors: list[FieldError]) -> None:
    if value and value not in allowed:
        errors.append(FieldError(path, f"Unsupported value {value!r}: supported {list(allowed)}"))


def _snapshot_id(raw: Any, path: str, errors: list[FieldError]) -> ResourceId | None:
    try:
        return parse_resource_id(str(raw), namespace="Microsoft.Compute", types=SNAPSHOT_TYPES)
    except InvalidResourceId as exc:
        errors.append(FieldError(path, str(exc)))
        return None


def _parse_snapshots(raw: Mapping[str, Any], errors: list[FieldError]) -> SnapshotSource | None:
    path = "spec.source.snapshots"
    os_disk = raw.get("osDisk")
    if not isinstance(os_disk, Mapping):
        errors.append(FieldError(f"{path}.osDisk", "Required value"))
        return None
    os_id = _snapshot_id(os_disk.get("snapshotId"), f"{path}.osDisk.snapshotId", errors)
    os_type = _str(os_disk, "osType", errors, f"{path}.osDisk", required=True)
    _enum(os_type, ("Linux", "Windows"), f"{path}.osDisk.osType", errors)
    os_state = _str(os_disk, "osState", errors, f"{path}.osDisk", default="Generalized")
    _enum(os_state, ("Generalized", "Specialized"), f"{path}.osDisk.osState", errors)
    disks: list[DataDisk] = []
    luns: set[int] = set()
    for i, disk in enumerate(raw.get("dataDisks") or []):
        dpath = f"{path}.dataDisks[{i}]"
        lun = disk.get("lun") if isinstance(disk, Mapping) else None
        if not isinstance(lun, int) or isinstance(lun, bool) or not 0 <= lun <= 63:
            errors.append(FieldError(f"{dpath}.lun", "must be an integer between 0 and 63"))
            continue
        if lun in luns:
            errors.append(FieldError(f"{dpath}.lun", f"Duplicate value: {lun}"))
        luns.add(lun)
        sid = _snapshot_id(disk.get("snapshotId"), f"{dpath}.snapshotId", errors)
        if sid is not None:
            disks.append(DataDisk(lun, sid))
    if os_id is None:
        return None
    return SnapshotSource(os_id, os_type, os_state, tuple(disks))


def parse_managed_image(name: str, spec: Mapping[str, Any], *,
                        default_subscription: str) -> ManagedImageSpec:
    """Return the validated spec or raise SpecInvalid listing every problem."""
    errors: list[FieldError] = []
    sub = _str(spec, "subscriptionId", errors, "spec", default=default_subscription)
    if sub and not is_guid(sub):
        errors.append(FieldError("spec.subscriptionId", "must be a GUID"))
    rg = _str(spec, "resourceGroup", errors, "spec", required=True)
    if rg and not valid_resource_group(rg):
        errors.append(FieldError("spec.resourceGroup", "invalid resource group name"))
    location = _str(spec, "location", errors, "spec", required=True)
    image_name = _str(spec, "imageName", errors, "spec", default=name)
    hyperv = _str(spec, "hyperVGeneration", errors, "spec", default="V1")
    _enum(hyperv, ("V1", "V2"), "spec.hyperVGeneration", errors)
    policy = _str(spec, "deletionPolicy", errors, "spec", default="Delete")
    _enum(policy, ("Delete", "Retain"), "spec.deletionPolicy", errors)
    tags_raw = spec.get("tags") or {}
    tags = {str(k): str(v) for k, v in tags_raw.items()} if isinstance(tags_raw, Mapping) else {}

    source = spec.get("source")
    snapshots: SnapshotSource | None = None
    kind = ""
    if not isinstance(source, Mapping):
        errors.append(FieldError("spec.source", "Required value"))
    else:
        present = [k for k in ("snapshots", "virtualMachine", "vhd") if source.get(k) is not None]
        if len(present) != 1:
            errors.append(FieldError(
                "spec.source", "exactly one of snapshots, virtualMachine or vhd must be set"))
        elif present[0] == "snapshots":
            kind = "Snapshots"
            if isinstance(source["snapshots"], Mapping):
                snapshots = _parse_snapshots(source["snapshots"], errors)
        elif present[0] == "virtualMachine":
            kind = "VirtualMachine"
            errors.append(FieldError("spec.source.virtualMachine",
                                     "this operator version builds images from snapshots only"))
        else:
            kind = "Vhd"
            errors.append(FieldError("spec.source.vhd",
                                     "this operator version builds images from snapshots only"))
    if errors:
        raise SpecInvalid(errors)
    return ManagedImageSpec(
        subscription_id=sub, resource_group=rg, location=location, image_name=image_name,
        hyper_v_generation=hyperv, source_kind=kind, snapshots=snapshots,
        deletion_policy=policy, tags=tags,
    )
