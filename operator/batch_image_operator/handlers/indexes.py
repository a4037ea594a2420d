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
    """A BatchPool as the images see it, parsed once per generation (not once per event)."""

    namespace: str | None
    name: str
    uid: str
    account: ResourceId | None
    created: str
    # The nodes it claims; None for a spec that does not parse (it never reaches Azure).
    dedicated: int | None = None
    low_priority: int = 0
    nat_port_capacity: int | None = None


def pool_entry_of(namespace: str | None, name: str, uid: str, meta: kopf.Meta,
                  spec: kopf.Spec, default_subscription: str) -> dict[ImageKey, PoolEntry]:
    """Indexed by image, so the limit check visits only the images, not every pool.

    A pool naming a ManagedImage is indexed under it even when the rest of its spec is
    invalid: it may still have an Azure pool booting from that image.
    """
    created = str(meta.get("creationTimestamp") or "")
    ref = ((spec.get("image") or {}).get("managedImageRef") or {}).get("name")
    try:
        parsed = parse_batch_pool(name, spec, default_subscription=default_subscription)
    except SpecInvalid:
        if not isinstance(ref, str) or not ref:
            return {}
        return {("ref", namespace, ref): PoolEntry(namespace, name, uid,
                                                   _account_of(spec, default_subscription),
                                                   created)}
    if parsed.image.managed_image_ref is not None:
        key: ImageKey = ("ref", namespace, parsed.image.managed_image_ref)
    elif parsed.image.image_id is not None:
        key = ("id", str(parsed.image.image_id).lower())
    else:
        return {}  # Marketplace images carry no custom-image limit
    me = demand(parsed, namespace, name, created, None)
    return {key: PoolEntry(namespace, name, uid, _account_of(spec, default_subscription),
                           created, me.dedicated,
                           me.low_priority, me.nat_port_capacity)}


def _account_of(spec: kopf.Spec, default_subscription: str) -> ResourceId | None:
    account = spec.get("account") or {}
    try:
        return parse_resource_id(
            f"/subscriptions/{account.get('subscriptionId') or default_subscription}"
            f"/resourceGroups/{account.get('resourceGroup')}/providers/Microsoft.Batch"
            f"/batchAccounts/{account.get('name')}")
    except InvalidResourceId:
        return None


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
                       for e in pool_entries[key] if e.dedicated is not None]
    return result


def image_info_of(namespace: str | None, name: str, meta: kopf.Meta,
                  status: kopf.Status) -> dict[Key, ImageInfo]:
    return {(namespace, name): image_info(name, meta, status)}


def pools_naming(pools: kopf.Index[ImageKey, PoolEntry], namespace: str | None,
                 name: str) -> list[PoolEntry]:
    """The BatchPools whose managedImageRef names this ManagedImage."""
    return list(pools.get(("ref", namespace, name), []))


def users_of(pools: kopf.Index[ImageKey, PoolEntry], namespace: str | None,
             name: str) -> list[str]:
    return sorted({entry.name for entry in pools_naming(pools, namespace, name)})


def accounts_of(pools: kopf.Index[ImageKey, PoolEntry], namespace: str | None, name: str,
                configured: tuple[ResourceId, ...]) -> list[ResourceId]:
    found = {str(a).lower(): a for a in configured}
    for entry in pools_naming(pools, namespace, name):
        if entry.account is not None:
            found.setdefault(str(entry.account).lower(), entry.account)
    return list(found.values())


def lookup_image(image_index: kopf.Index[Key, ImageInfo], namespace: str | None,
                 name: str) -> ImageInfo | None:
    for info in image_index.get((namespace, name), []):
        return info
    return None
