"""Batch service data plane (``BatchClient``), served under each account's endpoint path.

An account's ``accountEndpoint`` is ``127.0.0.1:PORT/batch/{subscription}/{group}/{account}``;
the SDK keeps the path of its endpoint and appends ``/pools/...``, so one listener serves
every account.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from . import allocation
from .allocation import POOLS
from .arm.ids import ResourceId
from .clock import http_date
from .errors import BatchError
from .faults import NEXT_LINK

if TYPE_CHECKING:
    from .sim import Sim
    from .store import Record

ACCOUNTS = "Microsoft.Batch/batchAccounts"
NODE_STATES = [
    "creating",
    "idle",
    "offline",
    "preempted",
    "rebooting",
    "reimaging",
    "running",
    "starting",
    "startTaskFailed",
    "leavingPool",
    "unknown",
    "unusable",
    "waitingForStartTask",
    "deallocated",
    "deallocating",
    "upgradingOS",
]

SUPPORTED_IMAGES: list[dict[str, Any]] = [
    {
        "nodeAgentSKUId": sku,
        "imageReference": {"publisher": pub, "offer": offer, "sku": img_sku, "version": "latest"},
        "osType": os_type,
        "capabilities": caps,
        "verificationType": "verified",
        **({"batchSupportEndOfLife": eol} if eol else {}),
    }
    for sku, pub, offer, img_sku, os_type, caps, eol in [
        (
            "batch.node.ubuntu 20.04",
            "canonical",
            "0001-com-ubuntu-server-focal",
            "20_04-lts",
            "linux",
            [],
            "2025-04-30T00:00:00Z",
        ),
        (
            "batch.node.ubuntu 22.04",
            "canonical",
            "0001-com-ubuntu-server-jammy",
            "22_04-lts",
            "linux",
            [],
            None,
        ),
        (
            "batch.node.ubuntu 22.04",
            "microsoft-dsvm",
            "ubuntu-hpc",
            "2204",
            "linux",
            ["SupportsRDMAOnly", "IsHPCImage"],
            None,
        ),
        ("batch.node.ubuntu 24.04", "canonical", "ubuntu-24_04-lts", "server", "linux", [], None),
        ("batch.node.el 9", "almalinux", "almalinux-x86_64", "9-gen2", "linux", [], None),
        ("batch.node.debian 12", "debian", "debian-12", "12", "linux", [], None),
        (
            "batch.node.windows amd64",
            "microsoftwindowsserver",
            "windowsserver",
            "2022-datacenter",
            "windows",
            [],
            None,
        ),
        (
            "batch.node.windows amd64",
            "microsoftwindowsserver",
            "windowsserver",
            "2019-datacenter-core",
            "windows",
            [],
            None,
        ),
        (
            "batch.node.windows amd64",
            "microsoftwindowsserver",
            "windowsserver",
            "2025-datacenter",
            "windows",
            [],
            None,
        ),
    ]
]


def _json(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers, content_type="application/json")


def _account(sim: Sim, request: web.Request) -> Record:
    info = request.match_info
    rid = ResourceId(info["sub"], info["rg"], ACCOUNTS, (info["account"],))
    account = sim.store.get(str(rid))
    if account is None:
        raise BatchError(404, "AccountNotFound", "The specified account does not exist.")
    return account


def _pool(sim: Sim, request: web.Request) -> tuple[Record, Record]:
    account = _account(sim, request)
    pool = sim.store.get(f"{account['id']}/pools/{request.match_info['pool']}")
    if pool is None:
        raise BatchError(404, "PoolNotFound", "The specified pool does not exist.")
    return account, pool


def _base(request: web.Request) -> str:
    info = request.match_info
    return f"https://{request.host}/batch/{info['sub']}/{info['rg']}/{info['account']}"


def node_state(sim: Sim, pool: Record, node: dict[str, Any]) -> str:
    if pool["properties"].get("provisioningState") == "Deleting":
        return "leavingPool"
    return "idle" if sim.clock.now() >= node["readyAt"] else "starting"


def pool_view(sim: Sim, request: web.Request, pool: Record) -> dict[str, Any]:
    props = pool["properties"]
    vm = props.get("deploymentConfiguration", {}).get("virtualMachineConfiguration", {})
    ref = dict(vm.get("imageReference") or {})
    if "id" in ref:
        ref = {"virtualMachineImageId": ref["id"]}
    status = props.get("resizeOperationStatus") or {}
    scale = props.get("scaleSettings") or {}
    view: dict[str, Any] = {
        "id": pool["name"],
        "url": f"{_base(request)}/pools/{pool['name']}",
        "eTag": pool["etag"].removeprefix("W/").strip('"'),
        "lastModified": props.get("lastModified"),
        "creationTime": props.get("creationTime"),
        "state": "deleting" if props.get("provisioningState") == "Deleting" else "active",
        "stateTransitionTime": props.get("provisioningStateTransitionTime"),
        "allocationState": str(props.get("allocationState", "Steady")).lower(),
        "allocationStateTransitionTime": props.get("allocationStateTransitionTime"),
        "vmSize": str(props.get("vmSize", "")).lower(),
        "virtualMachineConfiguration": {
            "imageReference": ref,
            "nodeAgentSKUId": vm.get("nodeAgentSkuId"),
        },
        "resizeTimeout": status.get("resizeTimeout", "PT15M"),
        "currentDedicatedNodes": props.get("currentDedicatedNodes", 0),
        "currentLowPriorityNodes": props.get("currentLowPriorityNodes", 0),
        "targetDedicatedNodes": status.get("targetDedicatedNodes", 0),
        "targetLowPriorityNodes": status.get("targetLowPriorityNodes", 0),
        "enableAutoScale": "autoScale" in scale,
        "enableInterNodeCommunication": props.get("interNodeCommunication") == "Enabled",
        "taskSlotsPerNode": props.get("taskSlotsPerNode", 1),
        "taskSchedulingPolicy": {"nodeFillType": "spread"},
    }
    if "autoScale" in scale:
        view["autoScaleFormula"] = scale["autoScale"].get("formula")
    if status.get("errors"):
        view["resizeErrors"] = [
            {
                "code": e["code"],
                "message": e["message"],
                "values": [
                    {"name": d["code"], "value": d["message"]} for d in e.get("details", [])
                ],
            }
            for e in status["errors"]
        ]
    return view


def node_view(sim: Sim, request: web.Request, pool: Record, node: dict[str, Any]) -> dict[str, Any]:
    props = pool["properties"]
    vm = props.get("deploymentConfiguration", {}).get("virtualMachineConfiguration", {})
    allocated = sim.clock.iso(node["readyAt"] - sim.settings.allocation_seconds)
    return {
        "id": node["id"],
        "url": f"{_base(request)}/pools/{pool['name']}/nodes/{node['id']}",
        "state": node_state(sim, pool, node),
        "schedulingState": "enabled",
        "stateTransitionTime": sim.clock.iso(node["readyAt"]),
        "lastBootTime": sim.clock.iso(node["readyAt"]),
        "allocationTime": allocated,
        "ipAddress": node["ip"],
        "affinityId": f"TVM:{node['id']}",
        "vmSize": str(props.get("vmSize", "")).lower(),
        "totalTasksRun": 0,
        "runningTasksCount": 0,
        "runningTaskSlotsCount": 0,
        "totalTasksSucceeded": 0,
        "isDedicated": node["dedicated"],
        "endpointConfiguration": {"inboundEndpoints": []},
        "nodeAgentInfo": {"version": "1.11.14", "lastUpdateTime": allocated},
        "virtualMachineInfo": {"imageReference": dict(vm.get("imageReference") or {})},
    }


async def list_pools(sim: Sim, request: web.Request) -> web.Response:
    account = _account(sim, request)
    pools = sim.store.of_type(POOLS, account["id"])
    return _json({"value": [pool_view(sim, request, p) for p in pools]})


async def get_pool(sim: Sim, request: web.Request) -> web.Response:
    _, pool = _pool(sim, request)
    view = pool_view(sim, request, pool)
    return _json(
        view, headers={"ETag": view["eTag"], "Last-Modified": http_date(view["lastModified"])}
    )


def _page(request: web.Request, items: list[Any], path: str) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the absolute ``odata.nextLink`` of the next, if any."""
    try:
        size = min(1000, max(1, int(request.query.get("maxresults", "1000"))))
        skip = max(0, int(request.query.get("$skiptoken", "0")))
    except ValueError as exc:
        raise BatchError(
            400, "InvalidQueryParameterValue", "maxresults and $skiptoken must be integers."
        ) from exc
    page = items[skip : skip + size]
    if skip + size >= len(items):
        return page, None
    query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
    query["$skiptoken"] = str(skip + size)
    return page, f"{_base(request)}{path}?{urlencode(query)}"


def _paged(
    request: web.Request, items: list[Any], path: str, view: Callable[[Any], Any] | None = None
) -> web.Response:
    """A Batch list answer: one page of ``items`` (through ``view``) and its nextLink."""
    page, next_link = _page(request, items, path)
    next_link = request.get(NEXT_LINK) or next_link  # an injected one (see faults.py)
    body: dict[str, Any] = {"value": [view(i) for i in page] if view else page}
    if next_link:
        body["odata.nextLink"] = next_link
    return _json(body)


async def list_nodes(sim: Sim, request: web.Request) -> web.Response:
    _, pool = _pool(sim, request)
    nodes = pool["sys"].get("nodes", [])
    return _paged(
        request, nodes, f"/pools/{pool['name']}/nodes", lambda n: node_view(sim, request, pool, n)
    )


async def get_node(sim: Sim, request: web.Request) -> web.Response:
    _, pool = _pool(sim, request)
    for node in pool["sys"].get("nodes", []):
        if node["id"] == request.match_info["node"]:
            return _json(node_view(sim, request, pool, node))
    raise BatchError(404, "NodeNotFound", "The specified node does not exist.")


async def node_counts(sim: Sim, request: web.Request) -> web.Response:
    account = _account(sim, request)
    values = []
    for pool in sim.store.of_type(POOLS, account["id"]):
        counts = {True: dict.fromkeys(NODE_STATES, 0), False: dict.fromkeys(NODE_STATES, 0)}
        for node in pool["sys"].get("nodes", []):
            counts[node["dedicated"]][node_state(sim, pool, node)] += 1
        for bucket in counts.values():
            bucket["total"] = sum(bucket.values())
        values.append(
            {"poolId": pool["name"], "dedicated": counts[True], "lowPriority": counts[False]}
        )
    return _paged(request, values, "/nodecounts")


async def supported_images(sim: Sim, request: web.Request) -> web.Response:
    _account(sim, request)
    return _paged(request, SUPPORTED_IMAGES, "/supportedimages")


async def resize_pool(sim: Sim, request: web.Request) -> web.Response:
    _, pool = _pool(sim, request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise BatchError(400, "InvalidRequestBody", f"The request body is invalid: {exc}") from exc
    props = pool["properties"]
    if props["allocationState"] != "Steady":
        raise BatchError(409, "PoolNotSteady", "The specified pool is not in a steady state.")
    timeout = str(body.get("resizeTimeout") or "PT15M")
    seconds = allocation.parse_duration(timeout)
    if seconds is None:
        raise BatchError(
            400, "InvalidPropertyValue", f"The value '{timeout}' is not a valid duration."
        )
    allocation.start_resize(
        sim,
        pool,
        int(body.get("targetDedicatedNodes") or 0),
        int(body.get("targetLowPriorityNodes") or 0),
        allocation.format_duration(seconds),
        body.get("nodeDeallocationOption"),
    )
    props["scaleSettings"] = {
        "fixedScale": {
            "targetDedicatedNodes": int(body.get("targetDedicatedNodes") or 0),
            "targetLowPriorityNodes": int(body.get("targetLowPriorityNodes") or 0),
            "resizeTimeout": allocation.format_duration(seconds),
        }
    }
    return web.Response(status=202, headers={"DataServiceId": str(request.url)})


async def stop_resize(sim: Sim, request: web.Request) -> web.Response:
    _, pool = _pool(sim, request)
    allocation.stop_resize(sim, pool)
    return web.Response(status=202, headers={"DataServiceId": str(request.url)})


PREFIX = "/batch/{sub}/{rg}/{account}"
ROUTES = [
    ("GET", "/pools", "pools.list", list_pools),
    ("GET", "/pools/{pool}", "pools.get", get_pool),
    ("GET", "/pools/{pool}/nodes", "nodes.list", list_nodes),
    ("GET", "/pools/{pool}/nodes/{node}", "nodes.get", get_node),
    ("POST", "/pools/{pool}/resize", "pools.resize", resize_pool),
    ("POST", "/pools/{pool}/stopresize", "pools.stopResize", stop_resize),
    ("GET", "/nodecounts", "nodeCounts.list", node_counts),
    ("GET", "/supportedimages", "supportedImages.list", supported_images),
]
