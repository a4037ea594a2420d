"""An azure-core pipeline policy that counts and times every HTTP attempt by operation.

The `operation` label comes from a closed set (``OPERATIONS``): resource names, account
host names and anything else from a URL never become a label value, so the number of
series is fixed whatever the operator manages or whichever cloud it talks to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

# ARM resource type paths (lower case, below /providers/<namespace>/) -> label stem.
ARM_TYPES: dict[tuple[str, ...], str] = {
    ("images",): "images",
    ("snapshots",): "snapshots",
    ("disks",): "disks",
    ("virtualmachines",): "virtualMachines",
    ("galleries",): "galleries",
    ("galleries", "images"): "galleryImages",
    ("galleries", "images", "versions"): "galleryImageVersions",
    ("batchaccounts",): "batchAccounts",
    ("batchaccounts", "pools"): "pools",
}
# POST actions on a resource that get their own name; any other is `<type>.post`.
ACTIONS = {"stopresize": "stopResize", "disableautoscale": "disableAutoScale",
           "enableautoscale": "enableAutoScale"}
# Batch data-plane paths (the account endpoint's last segment) -> operation.
DATA_PLANE = {"nodecounts": "nodeCounts.list", "supportedimages": "supportedImages.list"}
VERBS = ("get", "list", "put", "patch", "delete", "post")
_LRO = {"operations", "asyncoperations", "operationresults"}

OPERATIONS: frozenset[str] = frozenset(
    {f"{stem}.{verb}" for stem in [*ARM_TYPES.values(), "resourceGroups", "other"]
     for verb in VERBS}
    | {f"{stem}.{action}" for stem in ARM_TYPES.values() for action in ACTIONS.values()}
    | set(DATA_PLANE.values()) | {"operations.get", "dataPlane.other"})


def operation_name(method: str, url: str) -> str:
    """`images.get`, `pools.list`, `pools.stopResize`, `nodeCounts.list`…: always a member
    of ``OPERATIONS``, with no part of the URL copied into it."""
    verb = method.lower()
    verb = verb if verb in VERBS else "get"   # HEAD, OPTIONS: reads
    segments = [s for s in _path(url).lower().split("/") if s]
    if "subscriptions" not in segments:
        return DATA_PLANE.get(segments[-1] if segments else "", "dataPlane.other")
    if len(segments) >= 2 and segments[-2] in _LRO:
        return "operations.get"
    if "providers" not in segments:
        groups = "resourcegroups" in segments
        return _name("resourceGroups" if groups else "other", verb, len(segments) % 2 == 1)
    below = segments[segments.index("providers") + 2:]   # after /providers/<namespace>/
    types = tuple(below[0::2])
    collection = len(below) % 2 == 1                     # .../pools (no name after it)
    if verb == "post" and collection and tuple(below[0:-1:2]) in ARM_TYPES:
        stem = ARM_TYPES[tuple(below[0:-1:2])]           # .../pools/{name}/stopResize
        action = ACTIONS.get(below[-1])
        return f"{stem}.{action}" if action else f"{stem}.post"
    stem = ARM_TYPES.get(types, "other")
    return _name(stem, verb, collection)


def _path(url: str) -> str:
    """The URL's path, by hand: urlsplit raises on some hosts, and a metrics policy must
    never fail a request."""
    rest = url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    return rest.partition("/")[2]


def _name(stem: str, verb: str, collection: bool) -> str:
    if verb == "get" and collection:
        verb = "list"
    return f"{stem}.{verb}" if f"{stem}.{verb}" in OPERATIONS else f"{stem}.get"


class ObservePolicy(SansIOHTTPPolicy[Any, Any]):
    """Per retry: each HTTP attempt is one count and one duration sample."""

    _STARTED = "batchimage_started"

    def __init__(self, record: Callable[[str, int | str, float], None]) -> None:
        self._record = record

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context[self._STARTED] = time.monotonic()

    def _elapsed(self, request: PipelineRequest[Any]) -> float:
        started = request.context.get(self._STARTED)
        return time.monotonic() - started if isinstance(started, float) else 0.0

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
                    ) -> None:
        http = request.http_request
        self._record(operation_name(http.method, http.url), response.http_response.status_code,
                     self._elapsed(request))

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        self._record(operation_name(http.method, http.url), "error", self._elapsed(request))
