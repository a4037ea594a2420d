"""Microsoft.Compute: snapshots and managed images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import lro
from ..errors import ArmError, bad_request
from .common import (
    api_version,
    get_record,
    handles,
    json_response,
    list_records,
    lro_put_response,
    missing_parameter,
    new_record,
    public,
    read_json,
    require_location,
    require_resource_group,
    route_id,
    start_lro,
)
from .ids import ResourceId, Route, parse_id

if TYPE_CHECKING:
    from ..sim import Sim
    from ..store import Record

NS = "Microsoft.Compute"
SNAPSHOTS = "Microsoft.Compute/snapshots"
IMAGES = "Microsoft.Compute/images"
OS_TYPES = {"windows": "Windows", "linux": "Linux"}
OS_STATES = {"generalized": "Generalized", "specialized": "Specialized"}


# Snapshots ---------------------------------------------------------------------------------
def put_snapshot(
    sim: Sim, rid: ResourceId, body: dict[str, Any], state: str = "Succeeded"
) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    props = dict(body.get("properties") or {})
    creation = props.get("creationData")
    if not isinstance(creation, dict) or not creation.get("createOption"):
        raise missing_parameter("creationData.createOption")
    option = str(creation["createOption"])
    if option.lower() == "copy":
        if not creation.get("sourceResourceId"):
            raise missing_parameter("creationData.sourceResourceId")
        source = parse_id(str(creation["sourceResourceId"]))
        if source is None or sim.store.get(str(source)) is None:
            name = source.name if source else creation["sourceResourceId"]
            raise ArmError(404, "NotFound", f"Resource {name} is not found.")
    if option.lower() == "import" and not creation.get("sourceUri"):
        raise missing_parameter("creationData.sourceUri")
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, SNAPSHOTS, body)
    record["location"] = location
    record["tags"] = dict(body.get("tags") or {})
    record["sku"] = body.get("sku") or {"name": "Standard_LRS", "tier": "Standard"}
    props.setdefault("diskSizeGB", 30)
    props.setdefault("incremental", False)
    props.setdefault("hyperVGeneration", "V1")
    props["timeCreated"] = (existing or {}).get("properties", {}).get(
        "timeCreated"
    ) or sim.clock.iso()
    props["uniqueId"] = record["sys"]["uniqueId"]
    props["diskState"] = "Unattached"
    props["diskSizeBytes"] = int(props["diskSizeGB"]) * 1024**3
    props["provisioningState"] = state
    record["properties"] = props
    sim.store.put(record)
    return record, existing is None


@handles("PUT", "microsoft.compute/snapshots", "item", "snapshots.create")
async def snapshot_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    rid = route_id(sim, route, SNAPSHOTS)
    record, _created = put_snapshot(sim, rid, await read_json(request), "Updating")
    # What Compute answers: 202 with the snapshot Updating, finished by an LRO (about
    # 20 s in Azure; the profile decides), which may end Failed.
    op = start_lro(sim, "create", record, NS, "snapshot")
    return json_response(public(record), status=202, headers=lro.headers(sim, op, version))


@handles("GET", "microsoft.compute/snapshots", "item", "snapshots.get")
async def snapshot_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(public(get_record(sim, route, SNAPSHOTS)))


@handles("DELETE", "microsoft.compute/snapshots", "item", "snapshots.delete")
async def snapshot_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    rid = route_id(sim, route, SNAPSHOTS)
    if sim.store.get(str(rid)) is None:
        return web.Response(status=204)
    sim.store.delete(str(rid))
    return web.Response(status=200)


@handles("GET", "microsoft.compute/snapshots", "collection", "snapshots.list")
async def snapshot_list(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return list_records(sim, route, SNAPSHOTS)


# Images ------------------------------------------------------------------------------------
def _source(sim: Sim, disk: dict[str, Any], where: str) -> None:
    """Check a disk's source: a snapshot or managed disk that exists, or a blob URI."""
    for key in ("snapshot", "managedDisk"):
        ref = disk.get(key)
        if ref is None:
            continue
        ref_id = ref.get("id") if isinstance(ref, dict) else None
        if not ref_id:
            raise missing_parameter(f"{where}.{key}.id")
        parsed = parse_id(str(ref_id))
        if parsed is None:
            raise ArmError(
                400,
                "InvalidParameter",
                f"The value '{ref_id}' of parameter '{where}.{key}.id' is not a valid resource id.",
                target=f"{where}.{key}.id",
            )
        if sim.store.get(str(parsed)) is None:
            # What Compute answers for a missing source disk or snapshot.
            raise ArmError(404, "NotFound", f"Resource {parsed.name} is not found.")
        return
    if not disk.get("blobUri"):
        raise ArmError(
            400,
            "InvalidParameter",
            f"One of '{where}.snapshot', '{where}.managedDisk' or '{where}.blobUri' is required.",
            target=where,
        )


def put_image(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    props = dict(body.get("properties") or {})
    profile = props.get("storageProfile")
    source_vm = props.get("sourceVirtualMachine")
    if not isinstance(profile, dict) and not source_vm:
        raise missing_parameter("storageProfile")
    if isinstance(profile, dict):
        os_disk = profile.get("osDisk")
        if not isinstance(os_disk, dict):
            raise missing_parameter("storageProfile.osDisk")
        if not os_disk.get("osType"):
            raise missing_parameter("osDisk.osType")
        if str(os_disk["osType"]).lower() not in OS_TYPES:
            raise bad_request(
                "InvalidParameter",
                f"The value '{os_disk['osType']}' of parameter 'osDisk.osType' is not allowed.",
                target="osDisk.osType",
            )
        if not os_disk.get("osState"):
            raise missing_parameter("osDisk.osState")
        if str(os_disk["osState"]).lower() not in OS_STATES:
            raise bad_request(
                "InvalidParameter",
                f"The value '{os_disk['osState']}' of parameter 'osDisk.osState' is not allowed.",
                target="osDisk.osState",
            )
        os_disk["osType"] = OS_TYPES[str(os_disk["osType"]).lower()]
        os_disk["osState"] = OS_STATES[str(os_disk["osState"]).lower()]
        os_disk.setdefault("caching", "ReadWrite")
        os_disk.setdefault("storageAccountType", "Standard_LRS")
        _source(sim, os_disk, "osDisk")
        luns: set[int] = set()
        for disk in profile.get("dataDisks") or []:
            if not isinstance(disk, dict) or disk.get("lun") is None:
                raise missing_parameter("dataDisks.lun")
            if disk["lun"] in luns:
                raise bad_request(
                    "InvalidParameter",
                    f"Data disk LUN {disk['lun']} is used more than once.",
                    target="dataDisks.lun",
                )
            luns.add(disk["lun"])
            disk.setdefault("caching", "None")
            disk.setdefault("storageAccountType", "Standard_LRS")
            _source(sim, disk, "dataDisks")
        profile.setdefault("dataDisks", [])
        profile.setdefault("zoneResilient", False)
    else:
        vm_id = source_vm.get("id") if isinstance(source_vm, dict) else None
        props["storageProfile"] = _profile_from_vm(sim, str(vm_id or ""))
    props.setdefault("hyperVGeneration", "V1")
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, IMAGES, body)
    record["location"] = location
    record["tags"] = dict(body.get("tags") or {})
    props["provisioningState"] = "Updating" if existing else "Creating"
    record["properties"] = props
    sim.store.put(record)
    return record, existing is None


def _profile_from_vm(sim: Sim, vm_id: str) -> dict[str, Any]:
    """An image captured directly from a VM takes the VM's managed disks."""
    parsed = parse_id(vm_id)
    vm = sim.store.get(str(parsed)) if parsed else None
    if vm is None:
        raise ArmError(
            404, "NotFound", f"Resource {parsed.name if parsed else vm_id} is not found."
        )
    storage = vm["properties"].get("storageProfile", {})
    os_disk = storage.get("osDisk", {})
    return {
        "osDisk": {
            "osType": os_disk.get("osType", "Linux"),
            "osState": "Generalized",
            "managedDisk": {"id": os_disk.get("managedDisk", {}).get("id")},
            "caching": "ReadWrite",
            "storageAccountType": "Standard_LRS",
        },
        "dataDisks": [
            {"lun": d["lun"], "managedDisk": {"id": d.get("managedDisk", {}).get("id")}}
            for d in storage.get("dataDisks") or []
        ],
        "zoneResilient": False,
    }


def image_snapshots(record: Record) -> set[str]:
    """Lower-cased ids of the snapshots an image was built from (its lineage)."""
    profile = record.get("properties", {}).get("storageProfile") or {}
    disks = [profile.get("osDisk") or {}, *(profile.get("dataDisks") or [])]
    return {
        str(d["snapshot"]["id"]).lower()
        for d in disks
        if isinstance(d.get("snapshot"), dict) and d["snapshot"].get("id")
    }


@handles("PUT", "microsoft.compute/images", "item", "images.create")
async def image_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    record, created = put_image(sim, route_id(sim, route, IMAGES), await read_json(request))
    return lro_put_response(sim, record, created, version, NS, "image")


@handles("PATCH", "microsoft.compute/images", "item", "images.update")
async def image_patch(sim: Sim, request: web.Request, route: Route) -> web.Response:
    """Tags (and hyperVGeneration) can change in place; the source cannot."""
    version = api_version(request)
    record = get_record(sim, route, IMAGES)
    body = await read_json(request)
    if "tags" in body:
        record["tags"] = dict(body["tags"] or {})
    props = body.get("properties") or {}
    if "storageProfile" in props and props["storageProfile"] != record["properties"].get(
        "storageProfile"
    ):
        raise bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'storageProfile' is not allowed.",
            target="storageProfile",
        )
    if "hyperVGeneration" in props:
        record["properties"]["hyperVGeneration"] = props["hyperVGeneration"]
    record["properties"]["provisioningState"] = "Updating"
    sim.store.touch()
    return lro_put_response(sim, record, False, version, NS, "image")


@handles("GET", "microsoft.compute/images", "item", "images.get")
async def image_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(public(get_record(sim, route, IMAGES)))


@handles("DELETE", "microsoft.compute/images", "item", "images.delete")
async def image_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    record = sim.store.get(str(route_id(sim, route, IMAGES)))
    if record is None:
        return web.Response(status=204)
    record["properties"]["provisioningState"] = "Deleting"
    op = start_lro(sim, "delete", record, NS, "image")
    return web.Response(status=202, headers=lro.headers(sim, op, version))


@handles("GET", "microsoft.compute/images", "collection", "images.list")
async def image_list(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return list_records(sim, route, IMAGES)
