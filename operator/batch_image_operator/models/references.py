"""What a BatchPool needs to know about the ManagedImage it names (from a Kopf index)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


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
