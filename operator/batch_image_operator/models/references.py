"""What a BatchPool needs to know about the ManagedImage it names (from a Kopf index)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .conditions import is_true


@dataclass(frozen=True)
class ImageInfo:
    name: str
    uid: str
    ready: bool
    deleting: bool
    image_id: str | None
    gallery_image_version_id: str | None
    snapshot_ids: tuple[str, ...] = ()

    @property
    def effective_id(self) -> str | None:
        """Pools use the gallery version when the image is published (the guide prefers it)."""
        return self.gallery_image_version_id or self.image_id

    @cached_property
    def lineage(self) -> frozenset[str]:
        """Everything that makes two pools count against the same custom-image limit.

        Cached: every pool's limit check asks each image in the index for it."""
        ids = (self.image_id, self.gallery_image_version_id, *self.snapshot_ids)
        return frozenset(i.lower() for i in ids if i)


def image_info(name: str, meta: Mapping[str, Any], status: Mapping[str, Any]) -> ImageInfo:
    return ImageInfo(
        name=name,
        uid=str(meta.get("uid") or ""),
        ready=is_true(status.get("conditions"), "Ready") and bool(status.get("imageId")),
        deleting=bool(meta.get("deletionTimestamp")),
        image_id=status.get("imageId") or None,
        gallery_image_version_id=status.get("galleryImageVersionId") or None,
        snapshot_ids=tuple(str(i) for i in status.get("snapshotIds") or ()),
    )
