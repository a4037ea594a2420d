"""Helpers shared by the ARM handlers: body parsing, registry, resource rendering."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import lro
from ..errors import ArmError, not_found, resource_group_not_found
from .ids import ResourceId, Route, resource_group_id

if TYPE_CHECKING:
    from ..sim import Sim
    from ..store import Record

Handler = Callable[["Sim", web.Request, Route], Awaitable[web.Response]]
# (METHOD, type key, shape) -> handler; shape is "item", "collection" or "action:<name>".
HANDLERS: dict[tuple[str, str, str], tuple[str, Handler]] = {}


def handles(method: str, type_key: str, shape: str, operation: str) -> Callable[[Handler], Handler]:
    """Register a handler; ``operation`` names it in the admin counters."""

    def register(fn: Handler) -> Handler:
        HANDLERS[(method, type_key.lower(), shape.lower())] = (operation, fn)
        return fn

    return register


async def read_json(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ArmError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid and could not be deserialized: '{exc}'.",
        ) from exc
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    return body


def api_version(request: web.Request) -> str:
    version = request.query.get("api-version")
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    return version


def require_resource_group(sim: Sim, subscription: str, resource_group: str) -> Record:
    record = sim.store.get(resource_group_id(subscription, resource_group))
    if record is None:
        raise resource_group_not_found(resource_group)
    return record


def canonical_rg(sim: Sim, subscription: str, resource_group: str) -> str:
    """The resource group's name as it was created (ARM keeps the creator's casing)."""
    record = sim.store.get(resource_group_id(subscription, resource_group))
    return str(record["name"]) if record else resource_group


def public(record: Record) -> dict[str, Any]:
    """The resource as clients see it (internal bookkeeping lives under ``sys``)."""
    return {k: v for k, v in record.items() if k != "sys"}


def new_record(resource_id: str, name: str, rtype: str, body: dict[str, Any]) -> Record:
    return {
        "id": resource_id,
        "name": name,
        "type": rtype,
        "location": normalize_location(str(body.get("location", ""))),
        "tags": dict(body.get("tags") or {}),
        "properties": {},
        "sys": {"uniqueId": str(uuid.uuid4())},
    }


def normalize_location(location: str) -> str:
    return location.replace(" ", "").lower()


def require_location(body: dict[str, Any]) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise ArmError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    return normalize_location(location)


def json_response(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def missing_parameter(name: str) -> ArmError:
    return ArmError(
        400, "InvalidParameter", f"Required parameter '{name}' is missing (null).", target=name
    )


def route_id(sim: Sim, route: Route, rtype: str, names: list[str] | None = None) -> ResourceId:
    """The resource id a route addresses, with the resource group's canonical casing."""
    assert route.resource_group is not None
    return ResourceId(
        route.subscription,
        canonical_rg(sim, route.subscription, route.resource_group),
        rtype,
        tuple(names if names is not None else route.names),
    )


def get_record(sim: Sim, route: Route, rtype: str) -> Record:
    rid = route_id(sim, route, rtype)
    record = sim.store.get(str(rid))
    if record is None:
        raise not_found(rtype, rid.name, rid.resource_group)
    return record


def list_records(sim: Sim, route: Route, rtype: str) -> web.Response:
    """A resource group's (or, without one, the subscription's) resources of a type."""
    if route.resource_group is not None:
        require_resource_group(sim, route.subscription, route.resource_group)
        scope = f"/subscriptions/{route.subscription}/resourceGroups/{route.resource_group}"
    else:
        scope = f"/subscriptions/{route.subscription}"
    return json_response({"value": [public(r) for r in sim.store.of_type(rtype, scope)]})


def lro_put_response(
    sim: Sim, record: Record, created: bool, version: str, namespace: str, kind: str = "default"
) -> web.Response:
    """The answer to a PUT that starts a long-running create: 201 when new, else 200,
    with the operation headers the SDK pollers follow."""
    op = start_lro(sim, "create", record, namespace, kind)
    return json_response(
        public(record), status=201 if created else 200, headers=lro.headers(sim, op, version)
    )


def start_lro(
    sim: Sim, op_kind: str, record: Record, namespace: str, kind: str = "default"
) -> dict[str, Any]:
    """An operation on ``record`` timed as the profile says for ``kind``."""
    return lro.start(
        sim,
        op_kind,
        record["id"],
        namespace,
        record.get("location") or "global",
        sim.lro_seconds(kind),
        sim.retry_after(kind),
    )
