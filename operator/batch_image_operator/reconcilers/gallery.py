"""Publishing a Ready managed image as a gallery image version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..azure.gateway import ComputeGateway
from ..models.conditions import FALSE, TRUE, Condition
from ..models.managedimage import ManagedImageSpec
from ..planning.gallery import (
    GalleryAction,
    definition_id,
    gallery_id,
    plan_gallery,
    version_id,
)
from .outcome import Event


@dataclass
class Publication:
    condition: Condition
    version_id: str | None = None  # set once the version is usable by pools
    events: tuple[Event, ...] = ()
    in_progress: bool = False
    # The Retry-After of the LRO in progress (a gallery version asks for 60 s): the next
    # look comes no sooner.
    retry_after: float = 0.0


async def publish(spec: ManagedImageSpec, image: Mapping[str, Any],
                  compute: ComputeGateway) -> Publication:
    """One step per pass: gallery, definition, version, then wait for replication."""
    os_type = str(((image.get("properties") or {}).get("storageProfile") or {}).get(
        "osDisk", {}).get("osType") or "Linux")
    image_id = str(image.get("id") or spec.image_id)
    gallery = await compute.get(gallery_id(spec))
    definition = await compute.get(definition_id(spec)) if gallery else None
    version = await compute.get(version_id(spec)) if definition else None
    plan = plan_gallery(spec, gallery=gallery, definition=definition, version=version,
                        image_id=image_id, os_type=os_type)
    target = {GalleryAction.CREATE_GALLERY: gallery_id(spec),
              GalleryAction.CREATE_DEFINITION: definition_id(spec),
              GalleryAction.CREATE_VERSION: version_id(spec)}.get(plan.action)
    if target is not None:
        assert plan.body is not None
        await compute.begin_put(target, plan.body)
        return Publication(Condition("Published", FALSE, "Publishing", plan.message),
                           events=(Event("Normal", "Publishing", f"{plan.message}: {target}"),),
                           in_progress=True, retry_after=compute.retry_after(target))
    if plan.action is GalleryAction.WAIT:
        return Publication(Condition("Published", FALSE, "Replicating", plan.message),
                           in_progress=True, retry_after=compute.retry_after(version_id(spec)))
    if plan.action is GalleryAction.BLOCKED:
        return Publication(Condition("Published", FALSE, "PublishBlocked", plan.message),
                           events=(Event("Warning", "PublishBlocked", plan.message),))
    assert version is not None
    return Publication(Condition("Published", TRUE, "Published", plan.message),
                       version_id=str(version.get("id") or version_id(spec)))
