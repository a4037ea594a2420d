"""Test-facing admin API under ``/_azuresim`` (no auth): counters, speed, state, faults, clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .arm.common import public

if TYPE_CHECKING:
    from .sim import Sim

PREFIX = "/_azuresim"


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def routes(sim: Sim) -> list[web.RouteDef]:
    async def requests(request: web.Request) -> web.Response:
        return web.json_response(
            {"counters": dict(sim.stats.counters), "requests": list(sim.stats.log)}
        )

    async def reset_counters(request: web.Request) -> web.Response:
        sim.stats.counters.clear()
        sim.stats.log.clear()
        return web.json_response({"counters": {}})

    async def speed(request: web.Request) -> web.Response:
        data = await _body(request)
        if "lroSeconds" in data:
            sim.settings.lro_seconds = max(0.0, float(data["lroSeconds"]))
        if "allocationSeconds" in data:
            sim.settings.allocation_seconds = max(0.0, float(data["allocationSeconds"]))
        if "customImageResizeCap" in data:
            sim.settings.custom_image_resize_cap = max(1, int(data["customImageResizeCap"]))
        if "factor" in data:
            sim.settings.profile.factor = max(0.0, float(data["factor"]))
        return web.json_response(sim.speed())

    async def resources(request: web.Request) -> web.Response:
        sim.settle()
        return web.json_response(
            {
                "resources": [public(r) for r in sim.store.resources.values()],
                "operations": list(sim.store.operations.values()),
            }
        )

    async def add_fault(request: web.Request) -> web.Response:
        try:
            fault = sim.faults.add(await _body(request))
        except (ValueError, KeyError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.json_response(fault.describe(), status=201)

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": [f.describe() for f in sim.faults.rules]})

    async def clear_faults(request: web.Request) -> web.Response:
        sim.faults.clear()
        return web.Response(status=204)

    async def account_endpoint(request: web.Request) -> web.Response:
        """Point a Batch account's ``accountEndpoint`` anywhere (a hostile or broken ARM)."""
        data = await _body(request)
        account = sim.store.get(str(data.get("id", "")))
        if account is None or "accountEndpoint" not in account.get("properties", {}):
            raise web.HTTPNotFound(text="no such Batch account")
        account["properties"]["accountEndpoint"] = str(data["accountEndpoint"])
        sim.store.touch()
        return web.json_response(public(account))

    async def advance(request: web.Request) -> web.Response:
        data = await _body(request)
        sim.clock.advance(float(data.get("seconds", 0)))
        sim.settle()
        return web.json_response({"now": sim.clock.iso()})

    async def throttling(request: web.Request) -> web.Response:
        try:
            return web.json_response(sim.throttle.configure(await _body(request)))
        except (TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc

    async def fail_operations(request: web.Request) -> web.Response:
        try:
            return web.json_response(sim.failures.add(await _body(request)), status=201)
        except (TypeError, ValueError, KeyError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc

    return [
        web.get(f"{PREFIX}/throttling", throttling),
        web.post(f"{PREFIX}/throttling", throttling),
        web.post(f"{PREFIX}/operation-failures", fail_operations),
        web.get(f"{PREFIX}/requests", requests),
        web.post(f"{PREFIX}/reset-counters", reset_counters),
        web.post(f"{PREFIX}/speed", speed),
        web.get(f"{PREFIX}/speed", speed),
        web.get(f"{PREFIX}/resources", resources),
        web.post(f"{PREFIX}/faults", add_fault),
        web.get(f"{PREFIX}/faults", list_faults),
        web.delete(f"{PREFIX}/faults", clear_faults),
        web.post(f"{PREFIX}/clock/advance", advance),
        web.post(f"{PREFIX}/account-endpoint", account_endpoint),
    ]
