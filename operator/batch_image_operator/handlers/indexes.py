"""Kopf indexes: who references which image, and each image's readiness (no list calls)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.batchpool import parse_batch_pool
from ..models.errors import SpecInvalid
from ..models.references import ImageInfo, image_info
from ..planning.limits import PoolDemand
from ..reconcilers.pools import demand

Key = tuple[str | None, str]
ALL = "*"


@dataclass(frozen=True)
class PoolEntry:
    """A BatchPool as the limit check needs it; lineage is resolved at check time."""

    namespace: str | None
    name: str
    created: str
    spec: Mapping[str, Any]


def pool_entry_of(namespace: str | None, name: str, meta: kopf.Meta,
                  spec: kopf.Spec) -> dict[str, PoolEntry]:
    return {ALL: PoolEntry(namespace, name, str(meta.get("creationTimestamp") or ""),
                           dict(spec))}


def demands(pool_entries: kopf.Index[str, PoolEntry], image_index: kopf.Index[Key, ImageInfo],
            default_subscription: str) -> list[PoolDemand]:
    result = []
    for entry in pool_entries.get(ALL, []):
        try:
            spec = parse_batch_pool(entry.name, entry.spec,
                                    default_subscription=default_subscription)
        except SpecInvalid:
            continue  # an invalid pool never reaches Azure, so it claims no nodes
        ref = spec.image.managed_image_ref
        image = lookup_image(image_index, entry.namespace, ref) if ref else None
        result.append(demand(spec, entry.namespace, entry.name, entry.created, image))
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
