"""Microsoft.Resources: resource groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import lro
from ..errors import resource_group_not_found
from .common import (
    api_version,
    handles,
    json_response,
    new_record,
    public,
    read_json,
    require_location,
    start_lro,
)
from .ids import RESOURCE_GROUP_TYPE, Route, resource_group_id

if TYPE_CHECKING:
    from ..sim import Sim
    from ..store import Record

RG_KEY = "resourcegroups"


def put_resource_group(
    sim: Sim, subscription: str, name: str, body: dict[str, Any]
) -> tuple[Record, bool]:
    location = require_location(body)
    rid = resource_group_id(subscription, name)
    existing = sim.store.get(rid)
    if existing is not None:
        # A resource group's location cannot change; tags can.
        existing["tags"] = dict(body.get("tags") or {})
        sim.store.touch()
        return existing, False
    record = new_record(rid, name, RESOURCE_GROUP_TYPE, body)
    record["location"] = location
    record["properties"] = {"provisioningState": "Succeeded"}
    sim.store.put(record)
    return record, True


@handles("PUT", RG_KEY, "item", "resourceGroups.createOrUpdate")
async def put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    api_version(request)
    assert route.resource_group is not None
    record, created = put_resource_group(
        sim, route.subscription, route.resource_group, await read_json(request)
    )
    return json_response(public(record), status=201 if created else 200)


def _get(sim: Sim, route: Route) -> Record:
    assert route.resource_group is not None
    record = sim.store.get(resource_group_id(route.subscription, route.resource_group))
    if record is None:
        raise resource_group_not_found(route.resource_group)
    return record


@handles("GET", RG_KEY, "item", "resourceGroups.get")
async def get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(public(_get(sim, route)))


@handles("HEAD", RG_KEY, "item", "resourceGroups.checkExistence")
async def head(sim: Sim, request: web.Request, route: Route) -> web.Response:
    assert route.resource_group is not None
    exists = sim.store.get(resource_group_id(route.subscription, route.resource_group))
    return web.Response(status=204 if exists else 404)


@handles("DELETE", RG_KEY, "item", "resourceGroups.delete")
async def delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    assert route.resource_group is not None
    record = sim.store.get(resource_group_id(route.subscription, route.resource_group))
    if record is None:
        return web.Response(status=204)
    record["properties"]["provisioningState"] = "Deleting"
    op = start_lro(sim, "delete", record, "Microsoft.Resources")
    return web.Response(status=202, headers=lro.headers(sim, op, version))


@handles("GET", RG_KEY, "collection", "resourceGroups.list")
async def list_groups(sim: Sim, request: web.Request, route: Route) -> web.Response:
    groups = sim.store.of_type(RESOURCE_GROUP_TYPE, f"/subscriptions/{route.subscription}")
    return json_response({"value": [public(g) for g in groups]})
