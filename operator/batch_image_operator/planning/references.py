"""What a BatchPool may take from the ManagedImage it names (pure).

The image's Azure ids are derived from its spec, never read from its status: status is
only trusted to say whether the image is Ready, and a recorded id that differs from the
derived one is ignored. So no object can point a pool (or a deletion) at an id its own
spec and the allow-list never admitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models.conditions import is_true
from ..models.errors import SpecInvalid
from ..models.managedimage import parse_managed_image
from ..models.references import ImageInfo
from .gallery import version_id
from .scope import captured_snapshot_ids


def image_info(name: str, meta: Mapping[str, Any], spec: Mapping[str, Any],
               status: Mapping[str, Any], *, default_subscription: str) -> ImageInfo:
    uid = str(meta.get("uid") or "")
    deleting = bool(meta.get("deletionTimestamp"))
    try:
        parsed = parse_managed_image(name, spec, default_subscription=default_subscription)
    except SpecInvalid:
        return ImageInfo(name, uid, False, deleting, None, None)
    image_id = str(parsed.image_id)
    recorded = str(status.get("imageId") or "")
    ready = is_true(status.get("conditions"), "Ready") and recorded.lower() == image_id.lower()
    version = None
    if parsed.gallery is not None:
        derived = str(version_id(parsed))
        if str(status.get("galleryImageVersionId") or "").lower() == derived.lower():
            version = derived
    snapshots = list(parsed.snapshots.snapshot_ids()) if parsed.snapshots else []
    captured = {str(r).lower(): str(r) for r in captured_snapshot_ids(parsed)}
    snapshots += [captured[str(s).lower()] for s in status.get("snapshotIds") or ()
                  if str(s).lower() in captured]
    return ImageInfo(name=name, uid=uid, ready=ready, deleting=deleting, image_id=image_id,
                     gallery_image_version_id=version, snapshot_ids=tuple(snapshots))
