"""ARM long-running operations, the way ARMPolling expects them.

The initial response carries ``Azure-AsyncOperation`` (a status monitor answering
``{"status": InProgress|Succeeded|Failed}``) and ``Location`` (202 while running, 204 when
done), both with the ``Retry-After`` of the operation's kind (1 s in the fast profile, so
SDK pollers wait one second, not their 30 s default; what Azure sends in the realistic one).
Operations finish lazily: :func:`settle` applies every operation whose time has come.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ArmError

if TYPE_CHECKING:
    from .sim import Sim

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
# Finished operations are kept this long so late pollers still get an answer.
KEEP_SECONDS = 3600.0


def start(
    sim: Sim,
    kind: str,
    resource_id: str,
    namespace: str,
    location: str,
    seconds: float,
    retry_after: int = 1,
) -> dict[str, Any]:
    """Record an operation that finishes ``seconds`` of simulated time from now."""
    now = sim.clock.now()
    op_id = str(uuid.uuid4())
    op: dict[str, Any] = {
        "id": op_id,
        "kind": kind,
        "resourceId": resource_id,
        "namespace": namespace,
        "location": location.replace(" ", "").lower() or "global",
        "status": IN_PROGRESS,
        "startTime": now,
        "doneAt": now + seconds,
        "retryAfter": retry_after,
    }
    error = sim.failures.take(resource_id)
    if error is not None:
        op["fail"] = error
    sim.store.operations[op_id] = op
    sim.store.touch()
    return op


def headers(sim: Sim, op: dict[str, Any], api_version: str) -> dict[str, str]:
    base = (
        f"{sim.base_url}/subscriptions/{sim.settings.subscription_id}/providers/"
        f"{op['namespace']}/locations/{op['location']}/operations/{op['id']}"
    )
    return {
        "Azure-AsyncOperation": f"{base}?api-version={api_version}",
        "Location": f"{base}?monitor=true&api-version={api_version}",
        "Retry-After": str(op.get("retryAfter", 1)),
    }


def settle(sim: Sim) -> None:
    now = sim.clock.now()
    for op_id, op in list(sim.store.operations.items()):
        if op["status"] == IN_PROGRESS and now >= op["doneAt"]:
            _complete(sim, op)
        elif op["status"] != IN_PROGRESS and now - op["doneAt"] > KEEP_SECONDS:
            del sim.store.operations[op_id]
            sim.store.touch()


def _complete(sim: Sim, op: dict[str, Any]) -> None:
    record = sim.store.get(op["resourceId"])
    if "fail" in op:
        # What a failed LRO leaves: the resource in Failed, the operation's error.
        if record is not None:
            record["properties"]["provisioningState"] = FAILED
        op["status"] = FAILED
        op["error"] = op.pop("fail")
        sim.store.touch()
        return
    if op["kind"] == "delete":
        sim.store.delete(op["resourceId"])
    elif record is not None:
        record["properties"]["provisioningState"] = SUCCEEDED
        sim.store.touch()
    op["status"] = SUCCEEDED
    sim.store.touch()


async def status(sim: Sim, request: web.Request, op_id: str) -> web.Response:
    op = sim.store.operations.get(op_id)
    if op is None:
        raise ArmError(404, "NotFound", f"The operation '{op_id}' could not be found.")
    if request.query.get("monitor") == "true":
        # The Location form: 202 while running, 204 once done (ARM's convention).
        if op["status"] == IN_PROGRESS:
            return web.Response(
                status=202,
                headers={"Retry-After": str(op.get("retryAfter", 1)), "Location": str(request.url)},
            )
        if op["status"] == FAILED:
            raise ArmError(400, op["error"]["code"], op["error"]["message"])
        return web.Response(status=204)
    body: dict[str, Any] = {
        "name": op["id"],
        "status": op["status"],
        "startTime": sim.clock.iso(op["startTime"]),
    }
    if op["status"] != IN_PROGRESS:
        body["endTime"] = sim.clock.iso(op["doneAt"])
    if "error" in op:
        body["error"] = op["error"]
    return web.json_response(body, headers={"Retry-After": str(op.get("retryAfter", 1))})


class Failures:
    """Operations told to end Failed: the next ``count`` LROs on resources whose id
    matches ``pathRegex`` (set through the admin API)."""

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []

    def add(self, spec: dict[str, Any]) -> dict[str, Any]:
        rule = {
            "pathRegex": re.compile(str(spec.get("pathRegex", ".*")), re.IGNORECASE),
            "count": int(spec.get("count", 1)),
            "code": str(spec.get("code", "InternalOperationError")),
            "message": str(spec.get("message", "The operation failed.")),
        }
        self.rules.append(rule)
        return {**rule, "pathRegex": rule["pathRegex"].pattern}

    def take(self, resource_id: str) -> dict[str, str] | None:
        for rule in self.rules:
            if rule["count"] > 0 and rule["pathRegex"].search(resource_id):
                rule["count"] -= 1
                return {"code": rule["code"], "message": rule["message"]}
        return None
