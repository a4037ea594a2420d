"""Kopf's Kubernetes API session, with a bound on concurrent requests.

Kopf's own session has an unbounded connection pool: a thousand pools patching at once
open a thousand TLS connections, and asyncio gives each a 256 KiB buffer. A slot is held
from sending a request until its response headers arrive, so at most ``limit``
connections are busy with requests at a time. Watch streams bypass the slots, and the
connector itself stays unbounded, so an open watch never makes a patch wait.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import kopf

from ..fairshare import FairShare


def is_watch(request: aiohttp.ClientRequest) -> bool:
    return request.url.query.get("watch", "").lower() in ("true", "1")


def namespace_of(request: aiohttp.ClientRequest) -> str:
    return namespace_in_path(request.url.path)


def namespace_in_path(path: str) -> str:
    """The namespace a request's path names: .../api/v1/namespaces/NS/... or
    .../apis/GROUP/VERSION/namespaces/NS/...; '' for cluster-scoped requests. The API
    server may sit behind a path prefix (a Rancher or proxy URL: /k8s/clusters/c-1/api/…),
    so the position is found from the api/apis segment, not counted from the root."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        at = i + 2 if part == "api" else i + 3 if part == "apis" else None
        if at is not None and len(parts) > at + 1 and parts[at] == "namespaces":
            return parts[at + 1]
    return ""


def is_object_patch(request: aiohttp.ClientRequest) -> bool:
    """A PATCH of an object itself, not of its status: Kopf's finalizer patches (its
    other bookkeeping stays in memory, runner/persistence.py)."""
    return request.method == "PATCH" and not request.url.path.rstrip("/").endswith("/status")


class RequestLimit:
    """aiohttp client middleware: at most ``limit`` non-watch requests awaiting a reply,
    granted in turn across namespaces: one namespace's burst of finalizer patches, events
    and status writes does not hold another namespace's first patch.

    Within a namespace, finalizer patches go first: new objects are taken up a bounded
    number at a time (handlers/kopf_reactor.py), each holding its turn until its
    finalizer patch is answered, so behind the events Kopf posts for a burst (its own
    session carries both; status writes have the operator's, kube/api.py) the
    take-up slowed to a crawl (5,000 pools: every one taken up after 66 s, 34 s with
    this; 96 s for the whole burst before the bound, 128 s with it, 106 s with this)."""

    def __init__(self, limit: int) -> None:
        self._slots = FairShare(limit)

    async def __call__(self, request: aiohttp.ClientRequest,
                       handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        if is_watch(request):
            return await handler(request)
        async with self._slots.slot(namespace_of(request), ahead=is_object_patch(request)):
            return await handler(request)


def client_session(info: kopf.ConnectionInfo, *, connections: int,
                   **extra: Any) -> aiohttp.ClientSession:
    """A session with the TLS, auth, proxy and env settings Kopf derives from ``info``
    (its own helpers, so embedded certificates work too). Call inside the event loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, ssl=info.as_ssl_context()),
        headers=info.as_http_headers(), proxy=info.proxy_url, trust_env=info.trust_env,
        **extra)


def bounded_session(info: kopf.ConnectionInfo, limit: int) -> kopf.AiohttpSession:
    """The session Kopf would build from ``info``, plus the request bound."""
    session = client_session(info, connections=0, middlewares=(RequestLimit(limit),))
    return kopf.AiohttpSession(aiohttp_session=session, server=info.server,
                               default_namespace=info.default_namespace,
                               priority=info.priority, expiration=info.expiration)
