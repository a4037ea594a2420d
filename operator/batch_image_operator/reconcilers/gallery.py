"""Publishing a Ready managed image as a gallery image version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..azure.scoped import ScopedCompute
from ..models.conditions import FALSE, TRUE, Condition
from ..models.managedimage import ManagedImageSpec
from ..models.ownership import Owner, owner_from_tags
from ..models.reasons import Reason
from ..planning.gallery import (
    GalleryAction,
    definition_id,
    gallery_id,
    plan_gallery,
    version_body,
    version_id,
)
from ..planning.ownership import Claim, judge
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


async def publish(spec: ManagedImageSpec, image: Mapping[str, Any], compute: ScopedCompute,
                  owner: Owner, adopt: bool = False) -> Publication:
    """One step per pass: gallery, definition, version, then wait for replication.

    Gallery and definition are created when missing (marked with who made them) and
    never written again; the version is written only while it carries our mark."""
    os_type = str(((image.get("properties") or {}).get("storageProfile") or {}).get(
        "osDisk", {}).get("osType") or "Linux")
    image_id = str(image.get("id") or spec.image_id)
    gallery = await compute.get(gallery_id(spec))
    definition = await compute.get(definition_id(spec)) if gallery else None
    version = await compute.get(version_id(spec)) if definition else None
    if version is not None:
        verdict = judge(owner, owner_from_tags(version.get("tags")),
                        what=f"gallery image version {version_id(spec)}", adopt=adopt)
        if not verdict.may_write:
            return Publication(Condition("Published", FALSE, verdict.why, verdict.message),
                               events=(Event("Warning", verdict.why, verdict.message),))
        if verdict.claim is Claim.ADOPT:
            await compute.begin_put(version_id(spec), {**version_body(spec, image_id),
                                                       "tags": owner.tags()})
            return Publication(Condition("Published", FALSE, Reason.ADOPTING, verdict.message),
                               events=(Event("Normal", Reason.ADOPTING, verdict.message),),
                               in_progress=True)
    plan = plan_gallery(spec, gallery=gallery, definition=definition, version=version,
                        image_id=image_id, os_type=os_type)
    target = {GalleryAction.CREATE_GALLERY: gallery_id(spec),
              GalleryAction.CREATE_DEFINITION: definition_id(spec),
              GalleryAction.CREATE_VERSION: version_id(spec)}.get(plan.action)
    if target is not None:
        assert plan.body is not None
        await compute.begin_put(target, {**plan.body, "tags": owner.tags()})
        return Publication(Condition("Published", FALSE, Reason.PUBLISHING, plan.message),
                           events=(Event("Normal", Reason.PUBLISHING,
                                         f"{plan.message}: {target}"),),
                           in_progress=True, retry_after=compute.retry_after(target))
    if plan.action is GalleryAction.WAIT:
        return Publication(Condition("Published", FALSE, Reason.REPLICATING, plan.message),
                           in_progress=True, retry_after=compute.retry_after(version_id(spec)))
    if plan.action is GalleryAction.BLOCKED:
        return Publication(Condition("Published", FALSE, Reason.PUBLISH_BLOCKED, plan.message),
                           events=(Event("Warning", Reason.PUBLISH_BLOCKED, plan.message),))
    assert version is not None
    return Publication(Condition("Published", TRUE, Reason.PUBLISHED, plan.message),
                       version_id=str(version.get("id") or version_id(spec)))
