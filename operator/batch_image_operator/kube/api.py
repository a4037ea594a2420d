"""The few Kubernetes API calls the operator makes itself, beside Kopf's.

Kopf has no public client. Status is written here rather than through Kopf's handler
patch because Kopf applies that patch after the handler returns, outside the per-object
lock: two passes of one object (an edit and a scheduled one) could land their patches in
the opposite order and leave an older status behind. Writing inside the lock keeps the
writes in the order the passes ran.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import kopf

from .session import RequestLimit, client_session

Login = Callable[[], kopf.ConnectionInfo | None]


class KubeApiError(Exception):
    pass


class KubeApi:
    """One bounded session, made from the operator's own login; re-logs in once on 401."""

    def __init__(self, login: Login, connections: int) -> None:
        self._login = login
        self._connections = connections
        self._server: str | None = None
        self._session: aiohttp.ClientSession | None = None

    async def request(self, method: str, path: str, *, body: Any = None,
                      content_type: str = "application/json") -> tuple[int, Any]:
        """(HTTP status, decoded JSON or None) of one call; network errors raise."""
        for attempt in (1, 2):
            server, session = self._connect()
            data = None if body is None else json.dumps(body)
            headers = {"Accept": "application/json", "Content-Type": content_type}
            async with session.request(method, server.rstrip("/") + path, data=data,
                                       headers=headers) as reply:
                status = reply.status
                payload = await reply.json() if reply.content_type == "application/json" \
                    else None
            if status == 401 and attempt == 1:
                await self.close()  # tokens rotate: log in again once
                continue
            return status, payload
        raise AssertionError("unreachable")

    async def patch_status(self, group: str, version: str, plural: str,
                           namespace: str | None, name: str, status: dict[str, Any]) -> bool:
        """Merge ``status`` into the object's status subresource; False if it is gone."""
        scope = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        path = f"/apis/{group}/{version}{scope}/{plural}/{quote(name, safe='')}/status"
        code, payload = await self.request("PATCH", path, body={"status": status},
                                           content_type="application/merge-patch+json")
        if code == 404:
            return False
        if code != 200:
            message = payload.get("message") if isinstance(payload, dict) else None
            raise KubeApiError(f"writing status of {plural}/{name}: HTTP {code}"
                               + (f": {message}" if message else ""))
        return True

    async def namespace_uid(self, name: str) -> str:
        """The uid of a namespace (kube-system's names the cluster in owner marks)."""
        code, payload = await self.request("GET", f"/api/v1/namespaces/{quote(name, safe='')}")
        uid = payload.get("metadata", {}).get("uid") if isinstance(payload, dict) else None
        if code != 200 or not uid:
            raise KubeApiError(f"reading namespace {name}: HTTP {code}")
        return str(uid)

    def _connect(self) -> tuple[str, aiohttp.ClientSession]:
        if self._session is None or self._server is None:
            info = self._login()
            if info is None:
                raise KubeApiError("no Kubernetes credentials")
            self._server = info.server
            # Status writes queue per namespace too (see RequestLimit).
            self._session = client_session(info, connections=self._connections,
                                           timeout=aiohttp.ClientTimeout(total=30),
                                           middlewares=(RequestLimit(self._connections),))
        return self._server, self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._server = None
