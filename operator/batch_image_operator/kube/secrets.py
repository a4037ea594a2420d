"""Reading one named Secret per namespace: the optional per-namespace Azure credential.

Kopf has no public client for arbitrary reads, and watching Secrets would need
cluster-wide list/watch; a plain GET of one named Secret needs only `get` on it.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import kopf

Login = Callable[[], kopf.ConnectionInfo | None]


class SecretError(Exception):
    pass


def _ssl(info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    ctx = ssl.create_default_context(
        cafile=str(info.ca_path) if info.ca_path else None,
        cadata=info.ca_data.decode() if isinstance(info.ca_data, bytes) else info.ca_data)
    if info.certificate_path and info.private_key_path:
        ctx.load_cert_chain(str(info.certificate_path), str(info.private_key_path))
    return ctx


class SecretReader:
    def __init__(self, login: Login, ttl: float = 60.0) -> None:
        self._login = login
        self._ttl = ttl
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._cache: dict[tuple[str, str], tuple[float, dict[str, str] | None]] = {}

    async def get(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's decoded data, or None when it does not exist (cached ``ttl``)."""
        key = (namespace, name)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        data = await self._fetch(namespace, name, retry_login=True)
        self._cache[key] = (time.monotonic(), data)
        return data

    async def _fetch(self, namespace: str, name: str, *, retry_login: bool
                     ) -> dict[str, str] | None:
        info = self._connect()
        headers = {"Accept": "application/json"}
        if info.token:
            headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
        assert self._session is not None
        url = f"{info.server.rstrip('/')}/api/v1/namespaces/{namespace}/secrets/{name}"
        async with self._session.get(url, headers=headers, ssl=_ssl(info)) as reply:
            if reply.status == 404:
                return None
            if reply.status == 401 and retry_login:
                self._info = None  # tokens rotate: log in again once
                return await self._fetch(namespace, name, retry_login=False)
            if reply.status != 200:
                raise SecretError(f"reading Secret {namespace}/{name}: HTTP {reply.status}")
            body: dict[str, Any] = await reply.json()
        return {k: base64.b64decode(v).decode() for k, v in (body.get("data") or {}).items()}

    def _connect(self) -> kopf.ConnectionInfo:
        if self._info is None:
            self._info = self._login()
            if self._info is None:
                raise SecretError("no Kubernetes credentials to read Secrets with")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._info

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
