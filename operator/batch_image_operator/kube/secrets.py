"""Reading one named Secret per namespace: the optional per-namespace Azure credential.

Kopf has no public client for arbitrary reads, and watching Secrets would need
cluster-wide list/watch; a plain GET of one named Secret needs only `get` on it.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import aiohttp

from .api import KubeApi


class SecretError(Exception):
    pass


class SecretReader:
    def __init__(self, api: KubeApi, ttl: float = 60.0) -> None:
        self._api = api
        self._ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, dict[str, str] | None]] = {}

    async def get(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's decoded data, or None when it does not exist (cached ``ttl``)."""
        key = (namespace, name)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        data = await self._fetch(namespace, name)
        self._cache[key] = (time.monotonic(), data)
        return data

    async def _fetch(self, namespace: str, name: str) -> dict[str, str] | None:
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}"
        try:
            status, body = await self._api.request("GET", path)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SecretError(f"reading Secret {namespace}/{name}: {exc!r}") from exc
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise SecretError(f"reading Secret {namespace}/{name}: HTTP {status}")
        return {k: base64.b64decode(v).decode() for k, v in (body.get("data") or {}).items()}
