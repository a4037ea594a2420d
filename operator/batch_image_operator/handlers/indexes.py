"""Kopf indexes: who references which image, and each image's readiness (no list calls)."""

from __future__ import annotations

from dataclasses import dataclass

import kopf

from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.batchpool import parse_batch_pool
from ..models.errors import SpecInvalid
from ..models.references import ImageInfo, image_info
from ..planning.limits import PoolDemand
from ..reconcilers.pools import demand

Key = tuple[str | None, str]
ALL = "*"


# Which image a pool boots from: ("ref", namespace, ManagedImage name) or ("id", ARM id).
ImageKey = tuple[str | None, ...]


@dataclass(frozen=True)
class PoolEntry:
    """A BatchPool's node demand, parsed once per change (not once per pass)."""

    namespace: str | None
    name: str
    created: str
    dedicated: int
    low_priority: int
    nat_port_capacity: int | None


def pool_entry_of(namespace: str | None, name: str, meta: kopf.Meta, spec: kopf.Spec,
                  default_subscription: str) -> dict[ImageKey, PoolEntry]:
    """Indexed by image, so the limit check visits only the images, not every pool."""
    try:
        parsed = parse_batch_pool(name, spec, default_subscription=default_subscription)
    except SpecInvalid:
        return {}  # an invalid pool never reaches Azure, so it claims no nodes
    if parsed.image.managed_image_ref is not None:
        key: ImageKey = ("ref", namespace, parsed.image.managed_image_ref)
    elif parsed.image.image_id is not None:
        key = ("id", str(parsed.image.image_id).lower())
    else:
        return {}  # Marketplace images carry no custom-image limit
    me = demand(parsed, namespace, name, str(meta.get("creationTimestamp") or ""), None)
    return {key: PoolEntry(namespace, name, me.created, me.dedicated, me.low_priority,
                           me.nat_port_capacity)}


def demands_sharing(lineage: frozenset[str], pool_entries: kopf.Index[ImageKey, PoolEntry],
                    image_index: kopf.Index[Key, ImageInfo]) -> list[PoolDemand]:
    """Pools whose image lineage meets ``lineage``: O(images) + O(pools that share)."""
    result = []
    for key in pool_entries:
        if key[0] == "ref":
            image = lookup_image(image_index, key[1], str(key[2]))
            theirs = image.lineage if image is not None else frozenset()
        else:
            theirs = frozenset({str(key[1])})
        if theirs & lineage:
            result += [PoolDemand(e.namespace or "", e.name, e.created, theirs, e.dedicated,
                                  e.low_priority, e.nat_port_capacity)
                       for e in pool_entries[key]]
    return result


@dataclass(frozen=True)
class PoolRef:
    """A BatchPool naming a ManagedImage, and the Batch account it lives in."""

    name: str
    account: ResourceId | None


def pool_refs_of(namespace: str | None, name: str, spec: kopf.Spec,
                 default_subscription: str) -> dict[Key, PoolRef]:
    ref = (spec.get("image") or {}).get("managedImageRef") or {}
    image = ref.get("name")
    if not isinstance(image, str) or not image:
        return {}
    account = spec.get("account") or {}
    try:
        account_id: ResourceId | None = parse_resource_id(
            f"/subscriptions/{account.get('subscriptionId') or default_subscription}"
            f"/resourceGroups/{account.get('resourceGroup')}/providers/Microsoft.Batch"
            f"/batchAccounts/{account.get('name')}")
    except InvalidResourceId:
        account_id = None
    return {(namespace, image): PoolRef(name, account_id)}


def image_info_of(namespace: str | None, name: str, meta: kopf.Meta,
                  status: kopf.Status) -> dict[Key, ImageInfo]:
    return {(namespace, name): image_info(name, meta, status)}


def users_of(pool_refs: kopf.Index[Key, PoolRef], namespace: str | None,
             name: str) -> list[str]:
    return sorted({ref.name for ref in pool_refs.get((namespace, name), [])})


def accounts_of(pool_refs: kopf.Index[Key, PoolRef], namespace: str | None, name: str,
                configured: tuple[ResourceId, ...]) -> list[ResourceId]:
    found = {str(a).lower(): a for a in configured}
    for ref in pool_refs.get((namespace, name), []):
        if ref.account is not None:
            found.setdefault(str(ref.account).lower(), ref.account)
    return list(found.values())


def lookup_image(image_index: kopf.Index[Key, ImageInfo], namespace: str | None,
                 name: str) -> ImageInfo | None:
    for info in image_index.get((namespace, name), []):
        return info
    return None
