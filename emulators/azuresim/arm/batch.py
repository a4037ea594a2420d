"""Microsoft.Batch: batch accounts and pools (the management-plane view of pools)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from .. import allocation, lro
from ..allocation import MAX_CUSTOM_DEDICATED, MAX_CUSTOM_LOW_PRIORITY, POOLS
from ..dataplane import SUPPORTED_IMAGES
from ..errors import ArmError, not_found
from . import gallery
from .common import (
    api_version,
    handles,
    json_response,
    new_record,
    public,
    read_json,
    require_location,
    require_resource_group,
    route_id,
    start_lro,
)
from .compute import image_snapshots
from .ids import ResourceId, Route, parse_id

if TYPE_CHECKING:
    from ..sim import Sim
    from ..store import Record

NS = "Microsoft.Batch"
ACCOUNTS = "Microsoft.Batch/batchAccounts"
DATA_PLANE_PREFIX = "/batch"
DEFAULT_RESIZE_TIMEOUT = "PT15M"
MIN_RESIZE_TIMEOUT = 300.0
IMMUTABLE = ("vmSize", "deploymentConfiguration")
# Pools accept the node agents the data plane's "supported images" list offers.
NODE_AGENT_SKUS = {str(image["nodeAgentSKUId"]) for image in SUPPORTED_IMAGES}
_FORMULA_RE = re.compile(r"\$(TargetDedicatedNodes|TargetLowPriorityNodes)\s*=\s*(\d+)\s*;?")


def data_plane_path(rid: ResourceId) -> str:
    """Where this account's Batch data plane lives on the emulator (see README)."""
    return f"{DATA_PLANE_PREFIX}/{rid.subscription}/{rid.resource_group}/{rid.name}"


# Batch accounts ----------------------------------------------------------------------------
def _endpoint(sim: Sim, rid: ResourceId) -> str:
    return sim.base_url.split("://", 1)[-1] + data_plane_path(rid)


def refresh_endpoints(sim: Sim) -> None:
    """After a restart on another port, point loaded accounts at the new listener."""
    for account in sim.store.of_type(ACCOUNTS):
        rid = parse_id(account["id"])
        if rid is not None:
            account["properties"]["accountEndpoint"] = _endpoint(sim, rid)
            account["properties"]["nodeManagementEndpoint"] = (
                _endpoint(sim, rid) + "/nodemanagement"
            )
    sim.store.touch()


def put_account(sim: Sim, rid: ResourceId, body: dict[str, Any]) -> tuple[Record, bool]:
    location = require_location(body)
    require_resource_group(sim, rid.subscription, rid.resource_group)
    if not re.fullmatch(r"[a-z0-9]{3,24}", rid.name):
        raise ArmError(
            400,
            "AccountNameInvalid",
            f"Specified account name '{rid.name}' is invalid: 3-24 lowercase letters and digits.",
        )
    props = dict(body.get("properties") or {})
    existing = sim.store.get(str(rid))
    record = existing or new_record(str(rid), rid.name, ACCOUNTS, body)
    record["location"] = location
    record["tags"] = dict(body.get("tags") or {})
    if body.get("identity"):
        record["identity"] = body["identity"]
    props.setdefault("poolAllocationMode", "BatchService")
    props.update(
        {
            "accountEndpoint": _endpoint(sim, rid),
            "nodeManagementEndpoint": _endpoint(sim, rid) + "/nodemanagement",
            "provisioningState": "Succeeded",
            "dedicatedCoreQuota": 500,
            "lowPriorityCoreQuota": 500,
            "dedicatedCoreQuotaPerVMFamilyEnforced": False,
            "poolQuota": 100,
            "activeJobAndJobScheduleQuota": 300,
        }
    )
    props.setdefault("publicNetworkAccess", "Enabled")
    record["properties"] = props
    sim.store.put(record)
    return record, existing is None


@handles("PUT", "microsoft.batch/batchaccounts", "item", "batchAccounts.create")
async def account_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    api_version(request)
    record, _ = put_account(sim, route_id(sim, route, ACCOUNTS), await read_json(request))
    return json_response(public(record))


@handles("GET", "microsoft.batch/batchaccounts", "item", "batchAccounts.get")
async def account_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return json_response(public(_account(sim, route)))


@handles("DELETE", "microsoft.batch/batchaccounts", "item", "batchAccounts.delete")
async def account_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    rid = route_id(sim, route, ACCOUNTS)
    record = sim.store.get(str(rid))
    if record is None:
        return web.Response(status=204)
    record["properties"]["provisioningState"] = "Deleting"
    op = start_lro(sim, "delete", record, NS)
    return web.Response(status=202, headers=lro.headers(sim, op, version))


@handles("GET", "microsoft.batch/batchaccounts", "collection", "batchAccounts.list")
async def account_list(sim: Sim, request: web.Request, route: Route) -> web.Response:
    scope = f"/subscriptions/{route.subscription}"
    if route.resource_group:
        require_resource_group(sim, route.subscription, route.resource_group)
        scope += f"/resourceGroups/{route.resource_group}"
    return json_response({"value": [public(r) for r in sim.store.of_type(ACCOUNTS, scope)]})


def _account(sim: Sim, route: Route) -> Record:
    rid = route_id(sim, route, ACCOUNTS, route.names[:1])
    require_resource_group(sim, rid.subscription, rid.resource_group)
    record = sim.store.get(str(rid))
    if record is None:
        raise not_found(ACCOUNTS, rid.name, rid.resource_group)
    return record


# Pools -------------------------------------------------------------------------------------
def _invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidPropertyValue", message, target=target)


def _required(name: str) -> ArmError:
    return ArmError(
        400, "MissingRequiredProperty", f"The property '{name}' is required.", target=name
    )


def _scale_targets(
    sim: Sim, pool: Record | None, scale: dict[str, Any]
) -> tuple[int, int, str, str | None]:
    """(dedicated, lowPriority, resizeTimeout, deallocation) from scaleSettings."""
    fixed, auto = scale.get("fixedScale"), scale.get("autoScale")
    if fixed and auto:
        raise _invalid("Only one of fixedScale and autoScale may be set.", "scaleSettings")
    if auto:
        formula = str(auto.get("formula") or "")
        if not formula:
            raise _required("scaleSettings.autoScale.formula")
        # The emulator evaluates only constant assignments; anything else keeps counts.
        found = dict(_FORMULA_RE.findall(formula))
        cur = allocation.current(pool) if pool else (0, 0)
        return (
            int(found.get("TargetDedicatedNodes", cur[0])),
            int(found.get("TargetLowPriorityNodes", cur[1])),
            DEFAULT_RESIZE_TIMEOUT,
            None,
        )
    fixed = fixed or {}
    timeout_text = str(fixed.get("resizeTimeout") or DEFAULT_RESIZE_TIMEOUT)
    seconds = allocation.parse_duration(timeout_text)
    if seconds is None:
        raise _invalid(f"The value '{timeout_text}' is not a valid duration.", "resizeTimeout")
    if seconds < MIN_RESIZE_TIMEOUT:
        raise _invalid("The resize timeout must be at least 5 minutes.", "resizeTimeout")
    fixed["resizeTimeout"] = allocation.format_duration(seconds)
    dedicated = int(fixed.get("targetDedicatedNodes") or 0)
    low = int(fixed.get("targetLowPriorityNodes") or 0)
    if dedicated < 0 or low < 0:
        raise _invalid("Target node counts cannot be negative.", "fixedScale")
    return dedicated, low, fixed["resizeTimeout"], fixed.get("nodeDeallocationOption")


def _validate_image(sim: Sim, account: Record, vm_config: dict[str, Any]) -> None:
    ref = vm_config.get("imageReference")
    if not isinstance(ref, dict) or not ref:
        raise _required("deploymentConfiguration.virtualMachineConfiguration.imageReference")
    if not vm_config.get("nodeAgentSkuId"):
        raise _required("deploymentConfiguration.virtualMachineConfiguration.nodeAgentSkuId")
    if str(vm_config["nodeAgentSkuId"]).lower() not in NODE_AGENT_SKUS:
        raise _invalid(
            f"The specified nodeAgentSkuId '{vm_config['nodeAgentSkuId']}' is not supported.",
            "nodeAgentSkuId",
        )
    if ref.get("id"):
        parsed = parse_id(str(ref["id"]))
        if parsed is None or parsed.type not in allocation.CUSTOM_IMAGE_TYPES:
            raise _invalid(
                f"The image id '{ref['id']}' is not a valid image resource id.", "imageReference.id"
            )
        image = sim.store.get(str(parsed))
        if image is None:
            raise _invalid(
                f"The specified image '{ref['id']}' does not exist.", "imageReference.id"
            )
        account_sub = account["id"].split("/")[2].lower()
        if parsed.subscription.lower() != account_sub or image["location"] != account["location"]:
            raise _invalid(
                "The image must be in the same subscription and region as the Batch account.",
                "imageReference.id",
            )
    elif not all(ref.get(k) for k in ("publisher", "offer", "sku")):
        raise _required("imageReference.publisher/offer/sku or imageReference.id")


def _normalise_echo(props: dict[str, Any], vm_config: dict[str, Any]) -> None:
    """What Batch answers differs from what was sent, as recorded: the VM size in upper
    case, and a Marketplace reference without a version gets ``latest``."""
    props["vmSize"] = str(props["vmSize"]).upper()
    ref = vm_config["imageReference"]
    if not ref.get("id"):
        ref.setdefault("version", "latest")


def _lineage(sim: Sim, image_ref: str) -> set[str]:
    """Lower-cased ids an image's node limits are shared through: itself, its source image
    (for a gallery version) and the snapshots they were built from."""
    lineage = {image_ref.lower()}
    image = sim.store.get(image_ref)
    if image is None:
        return lineage
    if image["type"] == gallery.VERSIONS:
        return lineage | gallery.version_lineage(sim, image)
    return lineage | image_snapshots(image)


def _check_limits(sim: Sim, pool_id: str, image_ref: str | None, dedicated: int, low: int) -> None:
    """Custom-image node limits, summed over pools sharing the image or its snapshots."""
    if not image_ref:
        return
    lineage = _lineage(sim, image_ref)
    total_d, total_l = dedicated, low
    for other in sim.store.each_of_type(POOLS):
        # A pool's lineage is recorded at creation iff it boots a custom image (immutable).
        if not other["sys"].get("lineage") or other["id"].lower() == pool_id.lower():
            continue
        if lineage & set(other["sys"].get("lineage") or []):
            other_d, other_l = allocation.target(other)
            total_d += other_d
            total_l += other_l
    if total_d > MAX_CUSTOM_DEDICATED or total_l > MAX_CUSTOM_LOW_PRIORITY:
        raise _invalid(
            f"Pools using the custom image '{image_ref}' (or images from the same snapshots) "
            f"would have {total_d} dedicated and {total_l} low-priority nodes; the limits are "
            f"{MAX_CUSTOM_DEDICATED} dedicated and {MAX_CUSTOM_LOW_PRIORITY} low-priority.",
            "scaleSettings",
        )


def _check_conditions(request: web.Request, existing: Record | None) -> None:
    if_none = request.headers.get("If-None-Match")
    if_match = request.headers.get("If-Match")
    if if_none == "*" and existing is not None:
        raise ArmError(
            412,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met.",
        )
    if if_match and (existing is None or (if_match != "*" and if_match != existing.get("etag"))):
        raise ArmError(
            412,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met.",
        )


def create_pool(sim: Sim, account: Record, rid: ResourceId, body: dict[str, Any]) -> Record:
    props = dict(body.get("properties") or {})
    if not props.get("vmSize"):
        raise _required("vmSize")
    vm_config = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration")
    if not isinstance(vm_config, dict):
        raise _required("deploymentConfiguration.virtualMachineConfiguration")
    _validate_image(sim, account, vm_config)
    _normalise_echo(props, vm_config)
    scale = props.setdefault("scaleSettings", {"fixedScale": {}})
    record = new_record(str(rid), rid.name, POOLS, {"location": ""})
    del record["location"], record["tags"]
    record["properties"] = props
    dedicated, low, timeout, dealloc = _scale_targets(sim, None, scale)
    image_ref = allocation.custom_image(record)
    _check_limits(sim, str(rid), image_ref, dedicated, low)
    now = sim.clock.iso()
    props.setdefault("interNodeCommunication", "Disabled")
    props.setdefault("taskSlotsPerNode", 1)
    props.setdefault("taskSchedulingPolicy", {"nodeFillType": "Spread"})
    props.update(
        {
            "creationTime": now,
            "lastModified": now,
            "provisioningState": "Succeeded",
            "provisioningStateTransitionTime": now,
            "allocationState": "Steady",
            "allocationStateTransitionTime": now,
            "currentDedicatedNodes": 0,
            "currentLowPriorityNodes": 0,
        }
    )
    if image_ref:
        record["sys"]["lineage"] = sorted(_lineage(sim, image_ref))
    record["sys"]["nodes"] = []
    allocation.start_resize(sim, record, dedicated, low, timeout, dealloc)
    sim.store.put(record)
    return record


def _same(key: str, sent: Any, stored: Any) -> bool:
    """An immutable property sent again unchanged (compared as Batch echoes it)."""
    if key == "vmSize":
        return str(sent).upper() == str(stored).upper()
    vm = (sent or {}).get("virtualMachineConfiguration") if isinstance(sent, dict) else None
    if isinstance(vm, dict) and isinstance(vm.get("imageReference"), dict):
        ref = vm["imageReference"]
        if not ref.get("id") and "version" not in ref:
            sent = {**sent, "virtualMachineConfiguration": {
                **vm, "imageReference": {**ref, "version": "latest"}}}
    return bool(sent == stored)


def update_pool(sim: Sim, pool: Record, props_in: dict[str, Any]) -> None:
    allocation.settle_pool(sim, pool)
    props = pool["properties"]
    if props.get("provisioningState") == "Deleting":
        raise ArmError(409, "PoolBeingDeleted", "The specified pool has been marked for deletion.")
    for key in IMMUTABLE:
        if key in props_in and not _same(key, props_in[key], props.get(key)):
            raise ArmError(
                400,
                "PropertyCannotBeUpdated",
                f"The property '{key}' cannot be updated on an existing pool.",
                target=key,
            )
    scale = props_in.get("scaleSettings")
    resize: tuple[int, int, str, str | None] | None = None
    if scale is not None:
        dedicated, low, timeout, dealloc = _scale_targets(sim, pool, scale)
        steady = props["allocationState"] == "Steady"
        # A new target starts a resize; asking again for a target a resize fell short of
        # retries it (what clients do after AllocationFailed or a capped resize).
        if (dedicated, low) != allocation.target(pool) or (
            steady and (dedicated, low) != allocation.current(pool)
        ):
            if not steady:
                raise ArmError(
                    409,
                    "PoolNotSteady",
                    "The specified pool is not in a steady state; wait for the current resize "
                    "to finish or stop it first.",
                )
            _check_limits(sim, pool["id"], allocation.custom_image(pool), dedicated, low)
            resize = (dedicated, low, timeout, dealloc)
    for key, value in props_in.items():
        if key not in IMMUTABLE:
            props[key] = value
    props["lastModified"] = sim.clock.iso()
    if resize:
        allocation.start_resize(sim, pool, *resize)
    allocation.bump(pool)
    sim.store.touch()


def _pool_rid(sim: Sim, route: Route) -> ResourceId:
    return route_id(sim, route, POOLS)


def _pool(sim: Sim, route: Route) -> Record:
    _account(sim, route)
    rid = _pool_rid(sim, route)
    record = sim.store.get(str(rid))
    if record is None:
        raise ArmError(404, "PoolNotFound", f"The specified pool '{rid.name}' does not exist.")
    return record


def _pool_response(pool: Record, status: int = 200) -> web.Response:
    return json_response(public(pool), status=status, headers={"ETag": pool["etag"]})


@handles("PUT", "microsoft.batch/batchaccounts/pools", "item", "pools.create")
async def pool_put(sim: Sim, request: web.Request, route: Route) -> web.Response:
    api_version(request)
    account = _account(sim, route)
    body = await read_json(request)
    rid = _pool_rid(sim, route)
    existing = sim.store.get(str(rid))
    _check_conditions(request, existing)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", rid.name):
        raise _invalid(f"The pool name '{rid.name}' is invalid.", "poolName")
    if existing is not None:
        update_pool(sim, existing, dict(body.get("properties") or {}))
        return _pool_response(existing)
    return _pool_response(create_pool(sim, account, rid, body))


@handles("GET", "microsoft.batch/batchaccounts/pools", "item", "pools.get")
async def pool_get(sim: Sim, request: web.Request, route: Route) -> web.Response:
    return _pool_response(_pool(sim, route))


@handles("PATCH", "microsoft.batch/batchaccounts/pools", "item", "pools.update")
async def pool_patch(sim: Sim, request: web.Request, route: Route) -> web.Response:
    api_version(request)
    pool = _pool(sim, route)
    _check_conditions(request, pool)
    body = await read_json(request)
    update_pool(sim, pool, dict(body.get("properties") or {}))
    return _pool_response(pool)


@handles("POST", "microsoft.batch/batchaccounts/pools", "action:stopresize", "pools.stopResize")
async def pool_stop_resize(sim: Sim, request: web.Request, route: Route) -> web.Response:
    pool = _pool(sim, route)
    allocation.stop_resize(sim, pool)
    return _pool_response(pool)


@handles("DELETE", "microsoft.batch/batchaccounts/pools", "item", "pools.delete")
async def pool_delete(sim: Sim, request: web.Request, route: Route) -> web.Response:
    version = api_version(request)
    _account(sim, route)
    pool = sim.store.get(str(_pool_rid(sim, route)))
    if pool is None:
        return web.Response(status=204)
    pool["properties"]["provisioningState"] = "Deleting"
    allocation.bump(pool)
    op = start_lro(sim, "delete", pool, NS, "poolDelete")
    # What Batch answers: 202 with only a Location to poll (no Azure-AsyncOperation).
    return web.Response(
        status=202,
        headers={
            "Location": _delete_result_url(sim, pool, version),
            "Retry-After": str(op["retryAfter"]),
        },
    )


def _delete_result_url(sim: Sim, pool: Record, version: str) -> str:
    account_id, _, name = pool["id"].rpartition("/pools/")
    return (
        f"{sim.base_url}{account_id}/poolOperationResults/delete-{name}?api-version={version}"
    )


@handles(
    "GET", "microsoft.batch/batchaccounts/pooloperationresults", "item", "operations.get"
)
async def pool_operation_result(sim: Sim, request: web.Request, route: Route) -> web.Response:
    """``…/poolOperationResults/delete-{pool}``: 202 while the pool is being deleted, then
    200 with an empty body."""
    version = api_version(request)
    prefix, _, name = route.names[-1].partition("-")
    account_id = str(route_id(sim, route, ACCOUNTS, route.names[:1]))
    pool_id = f"{account_id}/pools/{name}".lower()
    ops = [
        op
        for op in sim.store.operations.values()
        if op["kind"] == "delete" and op["resourceId"].lower() == pool_id
    ]
    if prefix.lower() != "delete" or not ops:
        raise ArmError(
            404, "OperationNotFound", f"The operation '{route.names[-1]}' was not found."
        )
    op = max(ops, key=lambda o: o["startTime"])
    if op["status"] == lro.IN_PROGRESS:
        pool = sim.store.get(op["resourceId"])
        headers = {"Retry-After": str(op["retryAfter"])}
        if pool is not None:
            headers["Location"] = _delete_result_url(sim, pool, version)
        return web.Response(status=202, headers=headers)
    return web.Response(status=200)


@handles("GET", "microsoft.batch/batchaccounts/pools", "collection", "pools.list")
async def pool_list(sim: Sim, request: web.Request, route: Route) -> web.Response:
    account = _account(sim, route)
    pools = sim.store.of_type(POOLS, account["id"])
    try:
        page_size = max(1, int(request.query.get("maxresults", "1000")))
        skip = max(0, int(request.query.get("$skiptoken", "0")))
    except ValueError as exc:
        raise _invalid("maxresults and $skiptoken must be integers.", "maxresults") from exc
    page = pools[skip : skip + page_size]
    body: dict[str, Any] = {"value": [public(p) for p in page]}
    if skip + page_size < len(pools):
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = str(skip + page_size)
        body["nextLink"] = f"{sim.base_url}{request.path}?{urlencode(query)}"
    return json_response(body)
