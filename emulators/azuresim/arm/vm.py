"""Microsoft.Compute managed disks and virtual machines (enough to capture an image from)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import lro
from ..errors import ArmError, bad_request, not_found
from .common import (
    api_version,
    get_record,
    handles,
    json_response,
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
from .compute import OS_TYPES
from .ids import ResourceId, Route, parse_id

if TYPE_CHECKING:
    from ..sim import Sim
    from ..store import Record

NS = "Microsoft.Compute"
DISKS = "Microsoft.Compute/disks"
VMS = "Microsoft.Compute/virtualMachines"
EXTENSIONS = "Microsoft.Compute/virtualMachines/extensions"
CREATE_OPTIONS = {"empty", "fromimage", "import", "copy", "attach", "upload"}


def _existing(sim: Sim, ref_id: str, where: str) -> Record:
    parsed = parse_id(ref_id)
    if parsed is None:
        raise bad_request("InvalidParameter", f"'{ref_id}' is not a valid resource id.", where)
    record = sim.store.get(str(parsed))
    if record is None:
        raise ArmError(404, "NotFound", f"Resource {parsed.name} is not found.")
    return record


def put_disk(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    props = dict(body.get("properties") or {})
    creation = props.get("creationData")
    if not isinstance(creation, dict) or not creation.get("createOption"):
        raise missing_parameter("creationData.createOption")
    option = str(creation["createOption"]).lower()
    if option not in CREATE_OPTIONS:
        raise bad_request(
            "InvalidParameter",
            f"createOption '{creation['createOption']}' is not valid.",
            "creationData.createOption",
        )
    if option == "empty" and not props.get("diskSizeGB"):
        raise missing_parameter("diskSizeGB")
    if option == "copy":
        _existing(sim, str(creation.get("sourceResourceId") or ""), "sourceResourceId")
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, DISKS, body)
    props.setdefault("diskSizeGB", 30)
    props["diskState"] = (existing or {}).get("properties", {}).get("diskState", "Unattached")
    props["timeCreated"] = (existing or {}).get("properties", {}).get(
        "timeCreated"
    ) or sim.clock.iso()
    props["uniqueId"] = record["sys"]["uniqueId"]
    props["provisioningState"] = "Succeeded"
    record.update(
        location=location,
        tags=dict(body.get("tags") or {}),
        properties=props,
        sku=body.get("sku") or {"name": "Premium_LRS", "tier": "Premium"},
    )
    if existing and "managedBy" in existing:
        record["managedBy"] = existing["managedBy"]
    sim.store.put(record)
    return record, existing is None


def _attach(sim: Sim, vm_id: str, disk: Record) -> None:
    owner = disk.get("managedBy")
    if owner and owner.lower() != vm_id.lower():
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Disk {disk['name']} is already attached to VM {owner}.",
        )
    disk["managedBy"] = vm_id
    disk["properties"]["diskState"] = "Attached"


def put_vm(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    props = dict(body.get("properties") or {})
    if not (props.get("hardwareProfile") or {}).get("vmSize"):
        raise missing_parameter("hardwareProfile.vmSize")
    storage = props.get("storageProfile")
    if not isinstance(storage, dict) or not isinstance(storage.get("osDisk"), dict):
        raise missing_parameter("storageProfile.osDisk")
    os_disk = storage["osDisk"]
    disks: list[tuple[dict[str, Any], Record, str]] = []
    suffix = secrets.token_hex(16)
    ref = (os_disk.get("managedDisk") or {}).get("id")
    if ref:
        disk = _existing(sim, str(ref), "osDisk.managedDisk.id")
    elif storage.get("imageReference"):
        disk, _ = put_disk(
            sim,
            ResourceId(
                rid.subscription, rid.resource_group, DISKS, (f"{rid.name}_OsDisk_1_{suffix}",)
            ),
            {
                "location": location,
                "properties": {
                    "creationData": {
                        "createOption": "FromImage",
                        "imageReference": storage["imageReference"],
                    },
                    "diskSizeGB": int(os_disk.get("diskSizeGB") or 30),
                    "osType": os_disk.get("osType", "Linux"),
                },
            },
        )
    else:
        raise missing_parameter("storageProfile.osDisk.managedDisk.id")
    os_type = os_disk.get("osType") or disk["properties"].get("osType") or "Linux"
    if str(os_type).lower() not in OS_TYPES:
        raise bad_request("InvalidParameter", f"osType '{os_type}' is not valid.", "osDisk.osType")
    disks.append((os_disk, disk, "Attach" if ref else "FromImage"))
    luns: set[int] = set()
    for data_disk in storage.get("dataDisks") or []:
        lun = data_disk.get("lun")
        if lun is None or lun in luns:
            raise bad_request(
                "InvalidParameter", "Each data disk needs a unique lun.", "dataDisks.lun"
            )
        luns.add(lun)
        ref = (data_disk.get("managedDisk") or {}).get("id")
        if ref:
            disk = _existing(sim, str(ref), "dataDisks.managedDisk.id")
        else:
            disk, _ = put_disk(
                sim,
                ResourceId(
                    rid.subscription,
                    rid.resource_group,
                    DISKS,
                    (f"{rid.name}_disk{lun + 2}_{suffix}",),
                ),
                {
                    "location": location,
                    "properties": {
                        "creationData": {"createOption": "Empty"},
                        "diskSizeGB": int(data_disk.get("diskSizeGB") or 32),
                    },
                },
            )
        disks.append((data_disk, disk, "Attach" if ref else "Empty"))
    for spec, disk, option in disks:
        _attach(sim, str(rid), disk)
        spec["managedDisk"] = {**(spec.get("managedDisk") or {}), "id": disk["id"]}
        spec["name"] = disk["name"]
        spec.setdefault("createOption", option)
    os_disk["osType"] = OS_TYPES[str(os_type).lower()]
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, VMS, body)
    props["vmId"] = record["sys"]["uniqueId"]
    props["provisioningState"] = "Updating" if existing else "Creating"
    props["timeCreated"] = (existing or {}).get("properties", {}).get(
        "timeCreated"
    ) or sim.clock.iso()
    record.update(location=location, tags=dict(body.get("tags") or {}), properties=props)
    # A Marketplace image with a purchase plan makes the VM carry that plan (ARM keeps it
    # top-level); the Batch guide forbids such images for custom-image pools.
    if isinstance(body.get("plan"), dict):
        record["plan"] = dict(body["plan"])
    sim.store.put(record)
    return record, existing is None


def vm_view(sim: Sim, record: Record) -> dict[str, Any]:
    """A VM as ARM's GET shows it: installed extensions are listed under ``resources``."""
    view = public(record)
    extensions = [public(e) for e in sim.store.of_type(EXTENSIONS, record["id"])]
    if extensions:
        view["resources"] = extensions
    return view


def put_extension(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    vm_id = str(ResourceId(rid.subscription, rid.resource_group, VMS, rid.names[:1]))
    vm = sim.store.get(vm_id)
    if vm is None:
        raise not_found(VMS, rid.names[0], rid.resource_group)
    props = dict(body.get("properties") or {})
    for required in ("publisher", "type", "typeHandlerVersion"):
        if not props.get(required):
            raise missing_parameter(f"properties.{required}")
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.names[-1], EXTENSIONS, body)
    props["provisioningState"] = "Succeeded"
    record.update(location=vm["location"], tags=dict(body.get("tags") or {}), properties=props)
    sim.store.put(record)
    return record, existing is None


@handles("PUT", "microsoft.compute/disks", "item", "disks.create")
async def disk_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    api_version(request)
    record, _ = put_disk(sim, route_id(sim, route, DISKS), await read_json(request))
    return json_response(public(record))


@handles("GET", "microsoft.compute/disks", "item", "disks.get")
async def disk_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(public(get_record(sim, route, DISKS)))


@handles("DELETE", "microsoft.compute/disks", "item", "disks.delete")
async def disk_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    record = sim.store.get(str(route_id(sim, route, DISKS)))
    if record is None:
        return web.Response(status=204)
    if record.get("managedBy"):
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Disk {record['name']} is attached to VM {record['managedBy']}.",
        )
    sim.store.delete(record["id"])
    return web.Response(status=200)


@handles("PUT", "microsoft.compute/virtualmachines", "item", "virtualMachines.create")
async def vm_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    record, created = put_vm(sim, route_id(sim, route, VMS), await read_json(request))
    return lro_put_response(sim, record, created, version, NS)


@handles("GET", "microsoft.compute/virtualmachines", "item", "virtualMachines.get")
async def vm_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(vm_view(sim, get_record(sim, route, VMS)))


@handles("PUT", "microsoft.compute/virtualmachines/extensions", "item", "extensions.create")
async def extension_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    record, created = put_extension(sim, route_id(sim, route, EXTENSIONS), await read_json(request))
    return lro_put_response(sim, record, created, version, NS)


@handles("GET", "microsoft.compute/virtualmachines/extensions", "item", "extensions.get")
async def extension_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(public(get_record(sim, route, EXTENSIONS)))


@handles("DELETE", "microsoft.compute/virtualmachines/extensions", "item", "extensions.delete")
async def extension_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    sim.store.delete(str(route_id(sim, route, EXTENSIONS)))
    return web.Response(status=200)


@handles("DELETE", "microsoft.compute/virtualmachines", "item", "virtualMachines.delete")
async def vm_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    record = sim.store.get(str(route_id(sim, route, VMS)))
    if record is None:
        return web.Response(status=204)
    # Azure's default: disks survive the VM, detached.
    for disk in sim.store.of_type(DISKS):
        if str(disk.get("managedBy", "")).lower() == record["id"].lower():
            del disk["managedBy"]
            disk["properties"]["diskState"] = "Unattached"
    record["properties"]["provisioningState"] = "Deleting"
    op = start_lro(sim, "delete", record, NS)
    return web.Response(status=202, headers=lro.headers(sim, op, version))
