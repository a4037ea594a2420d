"""ManagedImage spec, parsed and validated without I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .armid import InvalidResourceId, ResourceId, is_guid, parse_resource_id, valid_resource_group
from .disks import Disks, parse_data_disks, parse_os
from .errors import FieldError, SpecInvalid
from .fields import enum_field, str_field
from .ownership import is_reserved
from .vhd import VhdSource, parse_vhd

SNAPSHOT_TYPES = ("snapshots",)
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,78}[A-Za-z0-9_])?$")
_LOCATION = re.compile(r"^[a-z0-9]{1,64}$")
_GALLERY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.]{0,78}[A-Za-z0-9])?$")
_DEFINITION = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,78}[A-Za-z0-9])?$")
_VERSION = re.compile(r"^[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}$")


class SnapshotSource(Disks[ResourceId]):
    """An image's disks from snapshots."""

    def snapshot_ids(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.sources())


@dataclass(frozen=True)
class VmSource:
    vm_id: ResourceId
    capture: str  # Snapshot | Direct


@dataclass(frozen=True)
class TargetRegion:
    """A region a gallery version is replicated to, and how many replicas it keeps."""

    name: str
    replica_count: int


@dataclass(frozen=True)
class GallerySpec:
    """spec.gallery: where the image is published (definition and version) and where to."""

    resource_group: str
    gallery_name: str
    image_definition: str
    version: str
    identifier: tuple[str, str, str] | None  # publisher, offer, sku
    target_regions: tuple[TargetRegion, ...]


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
    virtual_machine: VmSource | None = None
    vhd: VhdSource | None = None
    gallery: GallerySpec | None = None

    @property
    def image_id(self) -> ResourceId:
        return ResourceId(self.subscription_id, self.resource_group, "Microsoft.Compute",
                          (("images", self.image_name),))


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
    os_type, os_state = parse_os(os_disk, f"{path}.osDisk", errors)
    disks = parse_data_disks(
        raw.get("dataDisks"), f"{path}.dataDisks", errors,
        lambda disk, dpath: _snapshot_id(disk.get("snapshotId"), f"{dpath}.snapshotId", errors))
    if os_id is None:
        return None
    return SnapshotSource(os_id, os_type, os_state, disks)


def _parse_vm(raw: Any, errors: list[FieldError]) -> VmSource | None:
    path = "spec.source.virtualMachine"
    if not isinstance(raw, Mapping):
        errors.append(FieldError(path, "must be an object"))
        return None
    capture = str_field(raw, "capture", errors, path, default="Snapshot")
    enum_field(capture, ("Snapshot", "Direct"), f"{path}.capture", errors)
    try:
        vm_id = parse_resource_id(str(raw.get("id")), namespace="Microsoft.Compute",
                                  types=("virtualMachines",))
    except InvalidResourceId as exc:
        errors.append(FieldError(f"{path}.id", str(exc)))
        return None
    return VmSource(vm_id, capture)


def _parse_gallery(raw: Any, default_rg: str, location: str,
                   errors: list[FieldError]) -> GallerySpec | None:
    if raw is None:
        return None
    path = "spec.gallery"
    if not isinstance(raw, Mapping):
        errors.append(FieldError(path, "must be an object"))
        return None
    rg = str_field(raw, "resourceGroup", errors, path, default=default_rg)
    if rg and not valid_resource_group(rg):
        errors.append(FieldError(f"{path}.resourceGroup", "invalid resource group name"))
    checks = (("galleryName", _GALLERY), ("imageDefinition", _DEFINITION), ("version", _VERSION))
    values = {}
    for key, pattern in checks:
        values[key] = str_field(raw, key, errors, path, required=True)
        if values[key] and not pattern.match(values[key]):
            errors.append(FieldError(f"{path}.{key}", f"invalid value {values[key]!r}"))
    ident = raw.get("identifier")
    identifier = None
    if isinstance(ident, Mapping):
        parts = tuple(str(ident.get(k) or "") for k in ("publisher", "offer", "sku"))
        if not all(parts):
            errors.append(FieldError(f"{path}.identifier", "publisher, offer and sku required"))
        identifier = (parts[0], parts[1], parts[2])
    regions = []
    for i, region in enumerate(raw.get("targetRegions") or []):
        name = region.get("name") if isinstance(region, Mapping) else None
        count = region.get("replicaCount", 1) if isinstance(region, Mapping) else None
        if not isinstance(name, str) or not _LOCATION.match(name):
            errors.append(FieldError(f"{path}.targetRegions[{i}].name", "a region name"))
            continue
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
            errors.append(FieldError(f"{path}.targetRegions[{i}].replicaCount", "1 to 100"))
            continue
        regions.append(TargetRegion(name, count))
    if location and not any(r.name == location for r in regions):
        # The image's own region always holds a replica; pools there boot from it.
        regions.insert(0, TargetRegion(location, 1))
    return GallerySpec(rg, values["galleryName"], values["imageDefinition"], values["version"],
                       identifier, tuple(regions))


STORAGE_SUFFIX = "core.windows.net"


def parse_managed_image(name: str, spec: Mapping[str, Any], *, default_subscription: str,
                        storage_suffix: str = STORAGE_SUFFIX) -> ManagedImageSpec:
    """Return the validated spec or raise SpecInvalid listing every problem."""
    errors: list[FieldError] = []
    sub = str_field(spec, "subscriptionId", errors, "spec", default=default_subscription)
    if sub and not is_guid(sub):
        errors.append(FieldError("spec.subscriptionId", "must be a GUID"))
    rg = str_field(spec, "resourceGroup", errors, "spec", required=True)
    if rg and not valid_resource_group(rg):
        errors.append(FieldError("spec.resourceGroup", "invalid resource group name"))
    location = str_field(spec, "location", errors, "spec", required=True)
    image_name = str_field(spec, "imageName", errors, "spec", default=name)
    hyperv = str_field(spec, "hyperVGeneration", errors, "spec", default="V1")
    enum_field(hyperv, ("V1", "V2"), "spec.hyperVGeneration", errors)
    policy = str_field(spec, "deletionPolicy", errors, "spec", default="Delete")
    enum_field(policy, ("Delete", "Retain"), "spec.deletionPolicy", errors)
    tags_raw = spec.get("tags") or {}
    tags = {str(k): str(v) for k, v in tags_raw.items()} if isinstance(tags_raw, Mapping) else {}
    for key in tags:
        if is_reserved(key):
            errors.append(FieldError("spec.tags", (
                f"{key!r}: tag names starting with batchimage.dev are reserved for the "
                "operator's owner mark")))

    source = spec.get("source")
    snapshots: SnapshotSource | None = None
    vm: VmSource | None = None
    vhd: VhdSource | None = None
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
            vm = _parse_vm(source["virtualMachine"], errors)
        else:
            kind = "Vhd"
            vhd = parse_vhd(source["vhd"], errors, storage_suffix)
    gallery = _parse_gallery(spec.get("gallery"), rg, location, errors)
    sources = [("spec.source.snapshots", i) for i in snapshots.snapshot_ids()] \
        if snapshots else []
    if vm is not None:
        sources.append(("spec.source.virtualMachine.id", str(vm.vm_id)))
    if vhd is not None and vhd.storage_account_id is not None:
        sources.append(("spec.source.vhd.storageAccountId", str(vhd.storage_account_id)))
    for field_path, source_id in sources:
        if sub and source_id.split("/")[2].lower() != sub.lower():
            # The guide: image, its sources and the pools share one subscription.
            errors.append(FieldError(field_path, f"{source_id} is in another subscription "
                                     f"than the image ({sub})"))
    if image_name and not _IMAGE_NAME.match(image_name):
        errors.append(FieldError("spec.imageName", "1-80 letters, digits, '.', '-' or '_', "
                                 "starting with a letter or digit"))
    if location and not _LOCATION.match(location):
        errors.append(FieldError("spec.location", "an Azure region name such as westeurope"))
    if errors:
        raise SpecInvalid(errors)
    return ManagedImageSpec(
        subscription_id=sub, resource_group=rg, location=location, image_name=image_name,
        hyper_v_generation=hyperv, source_kind=kind, snapshots=snapshots,
        deletion_policy=policy, tags=tags, virtual_machine=vm, vhd=vhd, gallery=gallery,
    )
