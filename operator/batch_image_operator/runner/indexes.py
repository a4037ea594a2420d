"""Kopf indexes: who uses which image, each image's readiness, each namespace's pools.

A pool is indexed under every image it may boot from: the ManagedImage its spec names,
the image id its spec names, and the image its Azure pool was last seen booting from
(which differs from the spec after a refused image change). So an image's deletion is
blocked by what Azure uses, not only by what specs say, and no list call is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import kopf

from ..models.armid import InvalidResourceId, ResourceId, parse_resource_id
from ..models.batchpool import parse_batch_pool
from ..models.errors import SpecInvalid
from ..models.references import ImageInfo
from ..planning.limits import PoolDemand, nat_port_capacity
from ..planning.references import image_info

Key = tuple[str | None, str]
# ("ref", namespace, ManagedImage name), ("id", lower-cased ARM id) or ("ns", namespace).
ImageKey = tuple[str | None, ...]


@dataclass(frozen=True)
class PoolEntry:
    """A BatchPool as images and limits see it, parsed once per generation."""

    namespace: str | None
    name: str
    uid: str
    account: ResourceId | None
    created: str
    # The nodes its spec asks for; None for a spec that does not parse.
    dedicated: int | None = None
    low_priority: int = 0
    nat_port_capacity: int | None = None
    # The nodes last admitted for it (what Azure was asked for), from the operator's
    # own status record; None: never admitted.
    admitted: tuple[int, int] | None = None


def pool_entry_of(namespace: str | None, name: str, uid: str, meta: Mapping[str, object],
                  spec: Mapping[str, object], status: Mapping[str, object],
                  default_subscription: str) -> dict[ImageKey, PoolEntry]:
    created = str(meta.get("creationTimestamp") or "")
    image = spec.get("image")
    ref = ((image.get("managedImageRef") or {}) if isinstance(image, Mapping) else {})
    ref_name = ref.get("name") if isinstance(ref, Mapping) else None
    entry = PoolEntry(namespace, name, uid, _account_of(spec, default_subscription), created,
                      admitted=admitted_of(status))
    keys: list[ImageKey] = [("ns", namespace)]
    try:
        parsed = parse_batch_pool(name, spec, default_subscription=default_subscription)
    except SpecInvalid:
        # An invalid spec may still have an Azure pool booting from its image.
        if isinstance(ref_name, str) and ref_name:
            keys.append(("ref", namespace, ref_name))
    else:
        dedicated, low = parsed.node_demand
        entry = PoolEntry(namespace, name, uid, entry.account, created, dedicated, low,
                          nat_port_capacity(parsed.inbound_nat_pools), entry.admitted)
        if parsed.image.managed_image_ref is not None:
            keys.append(("ref", namespace, parsed.image.managed_image_ref))
        elif parsed.image.image_id is not None:
            keys.append(("id", str(parsed.image.image_id).lower()))
    observed = str(status.get("imageId") or "")
    if observed:
        keys.append(("id", observed.lower()))
    return dict.fromkeys(keys, entry)


def admitted_of(status: Mapping[str, object]) -> tuple[int, int] | None:
    """The nodes the operator recorded as admitted for a pool (its own status write)."""
    raw = status.get("admittedNodes")
    if not isinstance(raw, Mapping):
        return None
    try:
        return int(raw.get("dedicated") or 0), int(raw.get("lowPriority") or 0)
    except (TypeError, ValueError):
        return None


def _account_of(spec: Mapping[str, object], default_subscription: str) -> ResourceId | None:
    account = spec.get("account")
    if not isinstance(account, Mapping):
        return None
    return _account_id(f"/subscriptions/{account.get('subscriptionId') or default_subscription}"
                       f"/resourceGroups/{account.get('resourceGroup')}/providers/Microsoft.Batch"
                       f"/batchAccounts/{account.get('name')}")


@functools.lru_cache(maxsize=4096)
def _account_id(text: str) -> ResourceId | None:
    """Parsed once per account: thousands of pools share a few accounts, and each parse
    is a kilobyte of strings that every pool's index entry would otherwise keep."""
    try:
        return parse_resource_id(text)
    except InvalidResourceId:
        return None


def _lineage_of(key: ImageKey, image_index: kopf.Index[Key, ImageInfo]) -> frozenset[str]:
    if key[0] == "ref":
        image = lookup_image(image_index, key[1], str(key[2]))
        return image.lineage if image is not None else frozenset()
    if key[0] == "id":
        return frozenset({str(key[1])})
    return frozenset()


def admitted_demands(lineage: frozenset[str], pools: kopf.Index[ImageKey, PoolEntry],
                     image_index: kopf.Index[Key, ImageInfo],
                     lineage_index: kopf.Index[str, Key],
                     admitted: Mapping[str, tuple[int, int]]) -> list[PoolDemand]:
    """Pools whose image lineage meets ``lineage``, at the nodes admitted for them.

    ``admitted`` (uid -> nodes) is this process's newer record; pools never admitted
    (refused, waiting, invalid) claim nothing. Only the pool index's keys that can meet
    the lineage are read: its ids, and the ManagedImages ``lineage_index`` files under
    them (a walk over every image key was O(images) per pass).
    """
    keys: set[ImageKey] = set()
    for element in lineage:
        keys.add(("id", element))
        keys.update(("ref", namespace, name) for namespace, name in
                    lineage_index.get(element, ()))
    found: dict[str, tuple[PoolEntry, frozenset[str]]] = {}
    for key in keys:
        if key not in pools:
            continue
        theirs = _lineage_of(key, image_index)
        if not theirs & lineage:
            continue
        for entry in pools[key]:
            before = found.get(entry.uid)
            found[entry.uid] = (entry, theirs | (before[1] if before else frozenset()))
    result = []
    for uid, (entry, theirs) in found.items():
        nodes = admitted.get(uid, entry.admitted)
        if nodes is not None:
            result.append(PoolDemand(entry.namespace or "", entry.name, uid, theirs, *nodes,
                                     nat_port_capacity=entry.nat_port_capacity))
    return result


def namespace_pools(pools: kopf.Index[ImageKey, PoolEntry], namespace: str | None,
                    admitted: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """uid -> admitted nodes of every admitted BatchPool in the namespace."""
    result = {}
    for entry in pools.get(("ns", namespace), []):
        nodes = admitted.get(entry.uid, entry.admitted)
        if nodes is not None:
            result[entry.uid] = nodes
    return result


def images_by_lineage(namespace: str | None, name: str, meta: kopf.Meta, spec: kopf.Spec,
                      status: kopf.Status, default_subscription: str) -> dict[str, Key]:
    """The lineage index: each lower-cased image and snapshot id -> the ManagedImages
    whose lineage holds it (so a pool's siblings are found without a walk)."""
    info = image_info(name, meta, spec, status, default_subscription=default_subscription)
    return dict.fromkeys(info.lineage, (namespace, name))


def image_info_of(namespace: str | None, name: str, meta: kopf.Meta, spec: kopf.Spec,
                  status: kopf.Status, default_subscription: str) -> dict[Key, ImageInfo]:
    return {(namespace, name): image_info(name, meta, spec, status,
                                          default_subscription=default_subscription)}


def pools_naming(pools: kopf.Index[ImageKey, PoolEntry], namespace: str | None,
                 name: str) -> list[PoolEntry]:
    """The BatchPools whose managedImageRef names this ManagedImage."""
    return list(pools.get(("ref", namespace, name), []))


@dataclass(frozen=True)
class Users:
    """The BatchPools that keep an image alive: named in its namespace, counted in others
    (never named: another tenant's object names are not ours to show)."""

    names: tuple[str, ...] = ()
    elsewhere: int = 0
    entries: tuple[PoolEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.elsewhere)

    def describe(self) -> list[str]:
        more = [f"{self.elsewhere} BatchPool(s) in other namespaces"] if self.elsewhere else []
        return [*self.names, *more]


def users_of(pools: kopf.Index[ImageKey, PoolEntry], namespace: str | None, name: str,
             image: ImageInfo | None) -> Users:
    """Pools naming the image, naming its Azure ids, or last seen booting from them."""
    keys: list[ImageKey] = [("ref", namespace, name)]
    if image is not None:
        keys += [("id", i.lower()) for i in (image.image_id, image.gallery_image_version_id)
                 if i]
    entries = {e.uid: e for key in keys for e in pools.get(key, [])}
    mine = sorted({e.name for e in entries.values() if e.namespace == namespace})
    elsewhere = sum(1 for e in entries.values() if e.namespace != namespace)
    return Users(tuple(mine), elsewhere, tuple(entries.values()))


def accounts_of(users: Users, namespace: str | None,
                configured: Iterable[ResourceId]) -> list[ResourceId]:
    """The configured accounts, then those of the namespace's own pools using the image."""
    found = {str(a).lower(): a for a in configured}
    for entry in users.entries:
        if entry.account is not None and entry.namespace == namespace:
            found.setdefault(str(entry.account).lower(), entry.account)
    return list(found.values())


def lookup_image(image_index: kopf.Index[Key, ImageInfo], namespace: str | None,
                 name: str) -> ImageInfo | None:
    for info in image_index.get((namespace, name), []):
        return info
    return None
