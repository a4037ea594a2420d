"""The aiohttp application: routing by surface, auth, faults, statistics, error rendering."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import admin, dataplane, lro, rbac
from .aad import ARM_AUDIENCES, BATCH_AUDIENCE
from .arm import batch, compute, gallery, resources, vm  # noqa: F401  (modules register their handlers)
from .arm.common import HANDLERS
from .arm.ids import Route, parse
from .errors import AadError, ArmError, BatchError
from .faults import CODES, NEXT_LINK
from .sim import Sim

log = logging.getLogger(__name__)
SIM: web.AppKey[Sim] = web.AppKey("sim", Sim)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _surface(path: str) -> str:
    if path.startswith(admin.PREFIX + "/"):
        return "admin"
    if path.startswith("/subscriptions/") or path == "/subscriptions":
        return "arm"
    if path.startswith("/batch/"):
        return "batch"
    return "aad"


def _challenge(sim: Sim, error: str, description: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": f'Bearer authorization_uri="{sim.base_url}/{sim.identity.tenant_id}", '
        f'error="{error}", error_description="{description}"'
    }


def _throttle(sim: Sim, request: web.Request) -> web.StreamResponse | None:
    """Take an ARM token for the caller; a 429 when its bucket is empty."""
    assert sim.issuer is not None
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    claims = sim.issuer.verify(token) or {}
    route = parse(request.path)
    subscription = route.subscription if route else ""
    principal = str(claims.get("oid") or claims.get("appid") or "")
    verdict = sim.throttle.check(principal, subscription, request.method)
    if verdict is None:
        return None
    request["ratelimit"] = (verdict.header, str(verdict.remaining))
    if verdict.retry_after is None:
        return None
    return ArmError(
        429,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for this operation "
        "type. Please retry after the time in the Retry-After header.",
        headers={"Retry-After": str(verdict.retry_after)},
    ).response()


def _authenticate(sim: Sim, request: web.Request, surface: str) -> None:
    """Every ARM and Batch request needs a bearer token this emulator issued for it."""
    assert sim.issuer is not None
    header = request.headers.get("Authorization", "")
    if not header:
        if surface == "batch":
            raise BatchError(
                401,
                "AuthenticationFailed",
                "The 'Authorization' header is missing.",
                headers=_challenge(sim, "invalid_token", "The 'Authorization' header is missing."),
            )
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            headers=_challenge(
                sim,
                "invalid_token",
                "The authentication failed because of missing 'Authorization' header.",
            ),
        )
    scheme, _, token = header.partition(" ")
    claims = sim.issuer.verify(token.strip()) if scheme.lower() == "bearer" else None
    if claims is None:
        if surface == "batch":
            raise BatchError(
                401,
                "AuthenticationFailed",
                "The access token is invalid or expired.",
                headers=_challenge(sim, "invalid_token", "The access token is invalid."),
            )
        raise ArmError(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
            headers=_challenge(sim, "invalid_token", "The access token is invalid."),
        )
    audience = str(claims.get("aud", ""))
    if surface == "arm" and audience not in ARM_AUDIENCES:
        raise ArmError(
            401,
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource '{audience}'. It "
            "should exactly match with one of the allowed audiences "
            "'https://management.core.windows.net/','https://management.azure.com/'.",
            headers=_challenge(sim, "invalid_token", "The access token has the wrong audience."),
        )
    if surface == "batch" and audience != BATCH_AUDIENCE:
        raise BatchError(
            403,
            "AuthenticationFailed",
            f"The access token was obtained for audience '{audience}'; the Batch service "
            f"accepts only '{BATCH_AUDIENCE}'.",
        )


def _error_response(surface: str, exc: Exception) -> web.StreamResponse:
    if isinstance(exc, ArmError):
        return exc.response()
    if isinstance(exc, BatchError):
        return exc.response(exc.headers)
    if isinstance(exc, AadError):
        return exc.response()
    if surface == "batch":
        return BatchError(500, "InternalError", "Server encountered an internal error.").response()
    return ArmError(500, "InternalServerError", "Encountered internal server error.").response()


async def _inject(sim: Sim, request: web.Request, surface: str) -> web.StreamResponse | None:
    fault = sim.faults.take(request.method, request.path)
    if fault is None:
        return None
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.next_link:
        request[NEXT_LINK] = fault.next_link  # the handler answers, with this link
    if fault.reset:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)
    if fault.status is None:
        return None
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    code = CODES.get(fault.status, "InjectedFault")
    if surface == "batch":
        return BatchError(fault.status, code, "Injected fault.").response(headers)
    return ArmError(fault.status, code, "Injected fault.", headers=headers).response()


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = request.app[SIM]
    surface = _surface(request.path)
    if surface == "admin":
        return await handler(request)
    request["operation"] = _operation(request, surface)
    try:
        response: web.StreamResponse | None = None
        if surface in ("arm", "batch"):
            response = await _inject(sim, request, surface)
            if response is None:
                _authenticate(sim, request, surface)
                rbac.check(sim.role, sim.identity.client_id, request.method, request.path,
                           surface)
                if surface == "arm":
                    response = _throttle(sim, request)
                sim.settle()
        if response is None:
            response = await handler(request)
    except web.HTTPException as exc:
        # Unrouted paths and methods still answer in the surface's error shape.
        if surface == "batch":
            response = BatchError(
                exc.status, "InvalidUri", f"{exc.reason}: {request.path}"
            ).response()
        elif surface == "arm":
            response = ArmError(exc.status, "InvalidResourceType", exc.reason).response()
        else:
            raise
    except (ArmError, BatchError, AadError) as exc:
        response = _error_response(surface, exc)
    except Exception as exc:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = _error_response(surface, exc)
    if surface in ("arm", "batch"):
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    if "ratelimit" in request:
        response.headers[request["ratelimit"][0]] = request["ratelimit"][1]
    sim.stats.record(str(request["operation"]), request.method, request.path, response.status,
                     time.time(), response.headers.get("Retry-After"),
                     request.headers.get("User-Agent", ""))
    log.info("%s %s -> %s", request.method, request.path_qs, response.status)
    sim.save()
    return response


def _arm_key(route: Route) -> tuple[str, str]:
    """(type key, shape) under which an ARM route's handlers are registered."""
    if route.namespace is None:
        return "resourcegroups", "collection" if route.resource_groups_collection else "item"
    if route.action:
        return route.type_key, f"action:{route.action.lower()}"
    return route.type_key, "collection" if route.is_collection else "item"


def _is_operation_status(route: Route) -> bool:
    return route.type_key.endswith("/locations/operations") and len(route.names) == 2


def _operation(request: web.Request, surface: str) -> str:
    """The counter name of a request, known before it is handled (faults count too)."""
    if surface == "batch":
        return str(getattr(request.match_info.route.handler, "operation", "batch.unknown"))
    if surface != "arm":
        return str(getattr(request.match_info.route.handler, "operation", f"{surface}.unknown"))
    route = parse(request.path)
    if route is None:
        return "arm.unknown"
    if _is_operation_status(route):
        return "operations.get"
    entry = HANDLERS.get((request.method, *_arm_key(route)))
    return entry[0] if entry else "arm.unknown"


async def arm_handler(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM]
    route = parse(request.path)
    if route is None:
        raise ArmError(
            404, "InvalidResourceType", f"The path '{request.path}' is not a valid ARM path."
        )
    if route.subscription.lower() != sim.settings.subscription_id.lower():
        raise ArmError(
            404,
            "SubscriptionNotFound",
            f"The subscription '{route.subscription}' could not be found.",
        )
    if _is_operation_status(route):
        return await lro.status(sim, request, route.names[1])
    key, shape = _arm_key(route)
    entry = HANDLERS.get((request.method, key, shape))
    if entry is None:
        if any(k[1:] == (key, shape) for k in HANDLERS):
            raise ArmError(
                405,
                "MethodNotAllowed",
                f"The method '{request.method}' is not supported for '{key}'.",
            )
        raise ArmError(
            404,
            "InvalidResourceType",
            f"The resource type '{key}' could not be found in namespace '{route.namespace}'.",
        )
    return await entry[1](sim, request, route)


def _dataplane(
    operation: str, fn: Callable[[Sim, web.Request], Awaitable[web.Response]]
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await fn(request.app[SIM], request)

    handle.operation = f"batch.{operation}"  # type: ignore[attr-defined]
    return handle


def _aad(operation: str, fn: Handler) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await fn(request)

    handle.operation = operation  # type: ignore[attr-defined]
    return handle


def make_app(sim: Sim) -> web.Application:
    app = web.Application(middlewares=[middleware])
    app[SIM] = sim
    app.add_routes(admin.routes(sim))

    # The issuer exists only once the port is known; resolve it per request.
    async def openid(request: web.Request) -> web.StreamResponse:
        assert sim.issuer is not None
        return await sim.issuer.openid_configuration(request)

    async def token(request: web.Request) -> web.StreamResponse:
        assert sim.issuer is not None
        return await sim.issuer.token(request)

    app.router.add_get(
        "/{tenant}/v2.0/.well-known/openid-configuration", _aad("aad.openid", openid)
    )
    app.router.add_post("/{tenant}/oauth2/v2.0/token", _aad("aad.token", token))
    for method, path, operation, fn in dataplane.ROUTES:
        app.router.add_route(method, dataplane.PREFIX + path, _dataplane(operation, fn))
    app.router.add_route("*", "/subscriptions{tail:.*}", arm_handler)
    return app
