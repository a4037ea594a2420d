"""The policy gate: every Azure id a pass may read, write or delete, checked at once (pure).

Both kinds, and create, update, drift and delete alike, compute their scope here from
the parsed spec (never from status) and pass it through ``gate`` before the first Azure
call. The gateways a pass gets are then bound to that scope (azure/scoped.py), so a
call outside it fails instead of reaching Azure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..models.allowlist import AllowList
from ..models.armid import ResourceId
from ..models.batchpool import BatchPoolSpec
from ..models.disks import MAX_LUN
from ..models.managedimage import ManagedImageSpec
from .gallery import definition_id, gallery_id, version_id
from .sources import snapshot_name


def _key(rid: ResourceId) -> str:
    return str(rid).lower()


@dataclass(frozen=True)
class AzureScope:
    """What one pass may do. ``named`` holds every id the spec names, including ids only
    placed in request bodies (a subnet, a storage account): all go through the gate."""

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    named: tuple[ResourceId, ...] = ()
    # Batch accounts the pass may read (account GET, its pools, its data plane).
    accounts: tuple[ResourceId, ...] = field(default=())

    def may(self, op: str, rid: ResourceId) -> bool:
        allowed = {"read": self.reads, "write": self.writes, "delete": self.deletes}[op]
        return _key(rid) in allowed


def _scope(reads: Iterable[ResourceId], writes: Iterable[ResourceId],
           deletes: Iterable[ResourceId], named: Iterable[ResourceId],
           accounts: Sequence[ResourceId] = ()) -> AzureScope:
    reads, writes, deletes = list(reads), list(writes), list(deletes)
    every = {_key(r): r for r in [*named, *reads, *writes, *deletes, *accounts]}
    return AzureScope(
        reads=frozenset(_key(r) for r in [*reads, *writes, *deletes, *accounts]),
        writes=frozenset(_key(r) for r in writes),
        deletes=frozenset(_key(r) for r in deletes),
        named=tuple(every.values()), accounts=tuple(accounts))


def captured_snapshot_ids(spec: ManagedImageSpec) -> list[ResourceId]:
    """Every snapshot a VM capture may make for this image (OS disk and LUNs 0-63): their
    names are derived from the image's, in the image's resource group."""
    if spec.virtual_machine is None or spec.virtual_machine.capture != "Snapshot":
        return []
    return [ResourceId(spec.subscription_id, spec.resource_group, "Microsoft.Compute",
                       (("snapshots", snapshot_name(spec.image_name, lun)),))
            for lun in [None, *range(MAX_LUN + 1)]]


def image_scope(spec: ManagedImageSpec, accounts: Sequence[ResourceId]) -> AzureScope:
    """A ManagedImage: its image, sources, gallery entries, captured snapshots, and the
    Batch accounts read for the in-use check and the supported-image list."""
    reads: list[ResourceId] = []
    named: list[ResourceId] = []
    if spec.snapshots is not None:
        reads += spec.snapshots.sources()
    if spec.virtual_machine is not None:
        reads.append(spec.virtual_machine.vm_id)
    if spec.vhd is not None and spec.vhd.storage_account_id is not None:
        named.append(spec.vhd.storage_account_id)  # Azure reads the blobs, not us
    writes = [spec.image_id, *captured_snapshot_ids(spec)]
    deletes = list(writes)
    if spec.gallery is not None:
        reads += [gallery_id(spec), definition_id(spec)]
        writes += [gallery_id(spec), definition_id(spec), version_id(spec)]
        deletes.append(version_id(spec))
    return _scope(reads, writes, deletes, named, accounts)


def pool_scope(spec: BatchPoolSpec, image_id: ResourceId | None) -> AzureScope:
    """A BatchPool: its pool and account, the image it boots from (read when a resize
    fails; for a ManagedImage, derived from that object's spec), the subnet it joins."""
    reads = [image_id] if image_id is not None else []
    named = [spec.subnet_id] if spec.subnet_id is not None else []
    return _scope(reads, [spec.resource_id], [spec.resource_id], named, [spec.account_id])


def allowed_accounts(namespace: str | None, accounts: Sequence[ResourceId],
                     allowlist: AllowList) -> list[ResourceId]:
    """The Batch accounts an image's in-use check may read for this namespace: accounts
    named by its pools (or configured) outside the allow-list are never read."""
    return [a for a in accounts if not allowlist.denied(namespace, [a])]


def gate(namespace: str | None, scope: AzureScope, allowlist: AllowList) -> list[ResourceId]:
    """The ids of ``scope`` that the namespace may not touch: empty means go ahead."""
    return allowlist.denied(namespace, scope.named)
