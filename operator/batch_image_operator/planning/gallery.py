"""Publishing a managed image to an Azure Compute Gallery (pure).

The guide prefers gallery images: pools reach steady state faster and newer Batch API
versions accept only gallery images for managed custom images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..models.armid import ResourceId
from ..models.managedimage import GallerySpec, ManagedImageSpec


class GalleryAction(Enum):
    CREATE_GALLERY = "create-gallery"
    CREATE_DEFINITION = "create-definition"
    CREATE_VERSION = "create-version"      # also: target regions changed (they may)
    WAIT = "wait"
    PUBLISHED = "published"
    BLOCKED = "blocked"                   # needs the user: no identifier, immutable change


@dataclass(frozen=True)
class GalleryPlan:
    action: GalleryAction
    body: dict[str, Any] | None = None
    message: str = ""


def gallery_id(spec: ManagedImageSpec) -> ResourceId:
    g = _g(spec)
    return ResourceId(spec.subscription_id, g.resource_group, "Microsoft.Compute",
                      (("galleries", g.gallery_name),))


def definition_id(spec: ManagedImageSpec) -> ResourceId:
    g = _g(spec)
    return ResourceId(spec.subscription_id, g.resource_group, "Microsoft.Compute",
                      (("galleries", g.gallery_name), ("images", g.image_definition)))


def version_id(spec: ManagedImageSpec) -> ResourceId:
    g = _g(spec)
    return ResourceId(spec.subscription_id, g.resource_group, "Microsoft.Compute",
                      (("galleries", g.gallery_name), ("images", g.image_definition),
                       ("versions", g.version)))


def _g(spec: ManagedImageSpec) -> GallerySpec:
    assert spec.gallery is not None
    return spec.gallery


def definition_body(spec: ManagedImageSpec, os_type: str) -> dict[str, Any] | None:
    g = _g(spec)
    if g.identifier is None:
        return None
    publisher, offer, sku = g.identifier
    return {"location": spec.location, "properties": {
        "osType": os_type, "osState": "Generalized",
        "hyperVGeneration": spec.hyper_v_generation,
        "identifier": {"publisher": publisher, "offer": offer, "sku": sku}}}


def version_body(spec: ManagedImageSpec, image_id: str) -> dict[str, Any]:
    g = _g(spec)
    return {"location": spec.location, "properties": {
        "storageProfile": {"source": {"id": image_id}},
        "publishingProfile": {"targetRegions": [
            {"name": r.name, "regionalReplicaCount": r.replica_count} for r in g.target_regions]},
    }}


def _regions(version: Mapping[str, Any]) -> dict[str, int]:
    profile = (version.get("properties") or {}).get("publishingProfile") or {}
    return {str(r.get("name", "")).lower().replace(" ", ""): int(r.get("regionalReplicaCount") or 1)
            for r in profile.get("targetRegions") or []}


def replication_summary(version: Mapping[str, Any]) -> str:
    status = (version.get("properties") or {}).get("replicationStatus") or {}
    parts = [f"{s.get('region')} {s.get('state')} {s.get('progress', 0)}%"
             for s in status.get("summary") or []]
    return ", ".join(parts)


def plan_gallery(spec: ManagedImageSpec, *, gallery: Mapping[str, Any] | None,
                 definition: Mapping[str, Any] | None, version: Mapping[str, Any] | None,
                 image_id: str, os_type: str) -> GalleryPlan:
    if gallery is None:
        return GalleryPlan(GalleryAction.CREATE_GALLERY, {"location": spec.location,
                                                          "properties": {}}, "creating gallery")
    if definition is None:
        body = definition_body(spec, os_type)
        if body is None:
            return GalleryPlan(GalleryAction.BLOCKED, message=(
                f"image definition {_g(spec).image_definition} does not exist; set "
                "spec.gallery.identifier so the operator can create it"))
        return GalleryPlan(GalleryAction.CREATE_DEFINITION, body, "creating image definition")
    desired = version_body(spec, image_id)
    if version is None:
        return GalleryPlan(GalleryAction.CREATE_VERSION, desired, "publishing version")
    source = str((((version.get("properties") or {}).get("storageProfile") or {}).get(
        "source") or {}).get("id", ""))
    if source.lower() != image_id.lower():
        return GalleryPlan(GalleryAction.BLOCKED, message=(
            f"gallery version {_g(spec).version} was published from another image; a version "
            "cannot change its source: set a new spec.gallery.version"))
    state = str((version.get("properties") or {}).get("provisioningState", "")).lower()
    if state in {"creating", "updating"}:
        summary = replication_summary(version)
        return GalleryPlan(GalleryAction.WAIT, message="replicating" + (
            f": {summary}" if summary else ""))
    if state == "failed":
        return GalleryPlan(GalleryAction.BLOCKED, message="Azure reports the version as Failed")
    if _regions(version) != _regions(desired):
        return GalleryPlan(GalleryAction.CREATE_VERSION, desired, "updating target regions")
    summary = replication_summary(version)
    return GalleryPlan(GalleryAction.PUBLISHED, message="published" + (
        f": {summary}" if summary else ""))
