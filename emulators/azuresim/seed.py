"""Seed resources from YAML at startup, through the same validation as the ARM API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import allocation
from .arm import batch, compute, gallery, vm
from .arm.common import normalize_location
from .arm.ids import ResourceId, parse, parse_id, resource_group_id
from .arm.resources import put_resource_group
from .errors import ArmError

if TYPE_CHECKING:
    from .sim import Sim
    from .store import Record


class SeedError(Exception):
    pass


def apply_file(sim: Sim, path: Path) -> int:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"{path}: expected a mapping with 'resources'")
    items = data.get("resources") or []
    if not isinstance(items, list):
        raise SeedError(f"{path}: 'resources' must be a list")
    for index, item in enumerate(items):
        try:
            apply(sim, item)
        except (ArmError, SeedError) as exc:
            raise SeedError(f"{path}: resources[{index}] ({item.get('id')}): {exc}") from exc
    return len(items)


def apply(sim: Sim, item: dict[str, Any]) -> None:
    raw_id = str(item.get("id", "")).replace("{subscriptionId}", sim.settings.subscription_id)
    body = {k: v for k, v in item.items() if k != "id"}
    route = parse(raw_id)
    if route is None or route.resource_group is None:
        raise SeedError(f"not a resource id: {raw_id!r}")
    location = normalize_location(str(body.get("location", "")))
    if route.namespace is None:
        put_resource_group(sim, route.subscription, route.resource_group, body)
        return
    # A resource implies its group (created in the resource's location).
    if sim.store.get(resource_group_id(route.subscription, route.resource_group)) is None:
        put_resource_group(sim, route.subscription, route.resource_group, {"location": location})
    rid = parse_id(raw_id)
    if rid is None:
        raise SeedError(f"unsupported resource type in {raw_id!r}")
    if rid.type == allocation.POOLS:
        account = sim.store.get(
            resource_group_id(rid.subscription, rid.resource_group)
            + f"/providers/Microsoft.Batch/batchAccounts/{rid.names[0]}"
        )
        if account is None:
            raise SeedError(f"pool {raw_id!r} needs its batch account seeded first")
        batch.create_pool(sim, account, rid, body)
        return
    putter = PUTTERS.get(rid.type)
    if putter is None:
        raise SeedError(f"seeding {rid.type} is not supported")
    record, _ = putter(sim, rid, body)
    # Seeded resources are already built: no pending LRO, replication complete.
    record["properties"]["provisioningState"] = "Succeeded"
    if "replication" in record["sys"]:
        record["sys"]["replication"]["end"] = record["sys"]["replication"]["start"]


PUTTERS: dict[str, Callable[[Sim, ResourceId, dict[str, Any]], tuple[Record, bool]]] = {
    compute.SNAPSHOTS: compute.put_snapshot,
    compute.IMAGES: compute.put_image,
    vm.DISKS: vm.put_disk,
    vm.VMS: vm.put_vm,
    vm.EXTENSIONS: vm.put_extension,
    gallery.GALLERIES: gallery.put_gallery,
    gallery.DEFINITIONS: gallery.put_definition,
    gallery.VERSIONS: gallery.put_version,
    batch.ACCOUNTS: batch.put_account,
}
