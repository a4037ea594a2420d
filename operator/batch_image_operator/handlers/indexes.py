"""Kopf indexes: who references which image, and each image's readiness (no list calls)."""

from __future__ import annotations

import kopf

from ..models.references import ImageInfo, image_info

Key = tuple[str | None, str]


def pool_refs_of(namespace: str | None, name: str, spec: kopf.Spec) -> dict[Key, str]:
    ref = (spec.get("image") or {}).get("managedImageRef") or {}
    image = ref.get("name")
    return {(namespace, image): name} if isinstance(image, str) and image else {}


def image_info_of(namespace: str | None, name: str, meta: kopf.Meta,
                  status: kopf.Status) -> dict[Key, ImageInfo]:
    return {(namespace, name): image_info(name, meta, status)}


def users_of(pool_refs: kopf.Index[Key, str], namespace: str | None, name: str) -> list[str]:
    return sorted(set(pool_refs.get((namespace, name), [])))


def lookup_image(image_index: kopf.Index[Key, ImageInfo], namespace: str | None,
                 name: str) -> ImageInfo | None:
    for info in image_index.get((namespace, name), []):
        return info
    return None
