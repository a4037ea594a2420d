"""Microsoft.Compute galleries, image definitions and image versions (with replication)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import lro
from ..errors import ArmError, bad_request, not_found
from ..regions import display_name
from .common import (
    api_version,
    handles,
    json_response,
    missing_parameter,
    new_record,
    public,
    read_json,
    require_location,
    require_resource_group,
    route_id,
    start_lro,
)
from .compute import IMAGES, OS_STATES, OS_TYPES, image_snapshots
from .ids import ResourceId, Route, parse_id

if TYPE_CHECKING:
    from ..sim import Sim
    from ..store import Record

NS = "Microsoft.Compute"
GALLERIES = "Microsoft.Compute/galleries"
DEFINITIONS = "Microsoft.Compute/galleries/images"
VERSIONS = "Microsoft.Compute/galleries/images/versions"
GALLERY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]{0,78}[A-Za-z0-9]$|^[A-Za-z0-9]$")
VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")


def _parent(rid: ResourceId, parent_type: str) -> str:
    return str(ResourceId(rid.subscription, rid.resource_group, parent_type, rid.names[:-1]))


def _require_parent(sim: Sim, rid: ResourceId, parent_type: str) -> Record:
    parent = sim.store.get(_parent(rid, parent_type))
    if parent is None:
        raise ArmError(
            404,
            "ParentResourceNotFound",
            f"Can not perform requested operation on nested resource. Parent resource "
            f"'{'/'.join(rid.names[:-1])}' not found.",
        )
    return parent


def put_gallery(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    if not GALLERY_NAME.match(rid.name):
        raise bad_request(
            "InvalidParameter", f"The gallery name '{rid.name}' is invalid.", "galleryName"
        )
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, GALLERIES, body)
    props = dict(body.get("properties") or {})
    props["identifier"] = {"uniqueName": f"{rid.subscription}-{rid.name.upper()}"}
    props["provisioningState"] = "Updating" if existing else "Creating"
    record.update(location=location, tags=dict(body.get("tags") or {}), properties=props)
    sim.store.put(record)
    return record, existing is None


def put_definition(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    _require_parent(sim, rid, GALLERIES)
    props = dict(body.get("properties") or {})
    for key in ("osType", "osState", "identifier"):
        if not props.get(key):
            raise missing_parameter(key)
    ident = props["identifier"]
    for key in ("publisher", "offer", "sku"):
        if not ident.get(key):
            raise missing_parameter(f"identifier.{key}")
    if str(props["osType"]).lower() not in OS_TYPES:
        raise bad_request("InvalidParameter", "osType must be Windows or Linux.", "osType")
    if str(props["osState"]).lower() not in OS_STATES:
        raise bad_request(
            "InvalidParameter", "osState must be Generalized or Specialized.", "osState"
        )
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, DEFINITIONS, body)
    props.setdefault("hyperVGeneration", "V1")
    props.setdefault("architecture", "x64")
    props["provisioningState"] = "Updating" if existing else "Creating"
    record.update(location=location, tags=dict(body.get("tags") or {}), properties=props)
    sim.store.put(record)
    return record, existing is None


def put_version(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    _require_parent(sim, rid, DEFINITIONS)
    if not VERSION_NAME.match(rid.name):
        raise bad_request(
            "InvalidParameter",
            f"The gallery image version name '{rid.name}' must be Major.Minor.Patch.",
            "galleryImageVersionName",
        )
    props = dict(body.get("properties") or {})
    source = ((props.get("storageProfile") or {}).get("source") or {}).get("id")
    if not source:
        raise missing_parameter("storageProfile.source.id")
    parsed = parse_id(str(source))
    if parsed is None or parsed.type != IMAGES:
        raise bad_request(
            "InvalidParameter",
            f"The source '{source}' is not a managed image id.",
            "storageProfile.source.id",
        )
    if sim.store.get(str(parsed)) is None:
        raise ArmError(404, "NotFound", f"Resource {parsed.name} is not found.")
    publishing = props.setdefault("publishingProfile", {})
    replica_count = int(publishing.get("replicaCount") or 1)
    regions = publishing.get("targetRegions") or [{"name": location}]
    # Galleries answer with display names ("eastus2" comes back as "East US 2").
    publishing["targetRegions"] = [
        {
            "name": display_name(str(r.get("name", location))),
            "regionalReplicaCount": int(r.get("regionalReplicaCount") or replica_count),
            "storageAccountType": r.get("storageAccountType", "Standard_LRS"),
        }
        for r in regions
    ]
    publishing["replicaCount"] = replica_count
    publishing.setdefault("excludeFromLatest", False)
    publishing.setdefault("storageAccountType", "Standard_LRS")
    publishing["publishedDate"] = sim.clock.iso()
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, VERSIONS, body)
    props["provisioningState"] = "Updating" if existing else "Creating"
    record.update(location=location, tags=dict(body.get("tags") or {}), properties=props)
    now = sim.clock.now()
    # Replication to every target region finishes when the create LRO does.
    record["sys"]["replication"] = {"start": now, "end": now + sim.lro_seconds("version")}
    sim.store.put(record)
    return record, existing is None


def version_lineage(sim: Sim, version: Record) -> set[str]:
    """Snapshots behind a gallery version (through its source managed image)."""
    source = version["properties"].get("storageProfile", {}).get("source", {}).get("id")
    image = sim.store.get(str(source)) if source else None
    return image_snapshots(image) | {str(source).lower()} if image else set()


def _replication(sim: Sim, record: Record) -> dict[str, Any]:
    window = record["sys"].get("replication") or {"start": 0.0, "end": 0.0}
    span = max(window["end"] - window["start"], 1e-9)
    progress = int(100 * min(1.0, max(0.0, (sim.clock.now() - window["start"]) / span)))
    done = progress >= 100
    regions = record["properties"]["publishingProfile"]["targetRegions"]
    return {
        "aggregatedState": "Completed" if done else "InProgress",
        "summary": [
            {
                "region": r["name"],
                "state": "Completed" if done else "Replicating",
                "details": "",
                "progress": progress,
            }
            for r in regions
        ],
    }


def _view(sim: Sim, record: Record, expand: str | None) -> dict[str, Any]:
    data = public(record)
    if record["type"] == VERSIONS and (expand or "").lower() == "replicationstatus":
        data["properties"] = {**data["properties"], "replicationStatus": _replication(sim, record)}
    return data


PUTTERS = {GALLERIES: put_gallery, DEFINITIONS: put_definition, VERSIONS: put_version}
CHILD = {GALLERIES: DEFINITIONS, DEFINITIONS: VERSIONS}
KIND = {GALLERIES: "gallery", DEFINITIONS: "gallery", VERSIONS: "version"}


def _register(rtype: str, label: str) -> None:
    key = rtype.lower()

    @handles("PUT", key, "item", f"{label}.create")
    async def put(sim: Sim, request: web.Request, route: Route) -> web.Response:
        version = api_version(request)
        record, created = PUTTERS[rtype](sim, route_id(sim, route, rtype), await read_json(request))
        op = start_lro(sim, "create", record, NS, KIND[rtype])
        return json_response(
            public(record), status=201 if created else 200, headers=lro.headers(sim, op, version)
        )

    @handles("GET", key, "item", f"{label}.get")
    async def get(sim: Sim, request: web.Request, route: Route) -> web.Response:
        rid = route_id(sim, route, rtype)
        record = sim.store.get(str(rid))
        if record is None:
            raise not_found(rtype, "/".join(rid.names), rid.resource_group)
        return json_response(_view(sim, record, request.query.get("$expand")))

    @handles("DELETE", key, "item", f"{label}.delete")
    async def delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
        version = api_version(request)
        record = sim.store.get(str(route_id(sim, route, rtype)))
        if record is None:
            return web.Response(status=204)
        child = CHILD.get(rtype)
        if child and sim.store.of_type(child, record["id"]):
            raise ArmError(
                409,
                "CannotDeleteResource",
                f"Can not delete resource before nested resources are deleted: {record['id']}.",
            )
        record["properties"]["provisioningState"] = "Deleting"
        op = start_lro(sim, "delete", record, NS, "gallery")
        return web.Response(status=202, headers=lro.headers(sim, op, version))

    @handles("GET", key, "collection", f"{label}.list")
    async def list_(sim: Sim, request: web.Request, route: Route) -> web.Response:
        if route.resource_group is None:  # subscription-wide: every group's galleries
            items = sim.store.of_type(rtype, f"/subscriptions/{route.subscription}")
            return json_response({"value": [_view(sim, r, None) for r in items]})
        scope = f"/subscriptions/{route.subscription}/resourceGroups/{route.resource_group}"
        if route.names:
            parent_type = rtype.rsplit("/", 1)[0]
            parent = ResourceId(
                route.subscription, route.resource_group, parent_type, tuple(route.names)
            )
            if sim.store.get(str(parent)) is None:
                raise not_found(parent_type, "/".join(route.names), route.resource_group)
            scope = str(parent)
        else:
            require_resource_group(sim, route.subscription, route.resource_group)
        items = sim.store.of_type(rtype, scope)
        return json_response({"value": [_view(sim, r, None) for r in items]})


_register(GALLERIES, "galleries")
_register(DEFINITIONS, "galleryImages")
_register(VERSIONS, "galleryImageVersions")
