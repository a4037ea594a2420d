"""Reading one named Secret per namespace: the optional per-namespace Azure credential.

Kopf has no public client for arbitrary reads, and watching Secrets would need
cluster-wide list/watch; a plain GET of one named Secret needs only `get` on it.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp

from .api import KubeApi


class SecretError(Exception):
    """str() names the Secret and its keys, never a value: it goes to status and events."""


class SecretReader:
    """Reads only ``keys`` (others are neither decoded nor kept); a key's value that is
    not base64 or not UTF-8 text is a SecretError naming the key, not a crash."""

    def __init__(self, api: KubeApi, ttl: float = 60.0, keys: Sequence[str] = ()) -> None:
        self._api = api
        self._ttl = ttl
        self._keys = tuple(keys)
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
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise SecretError(f"Secret {namespace}/{name} has no readable data")
        return {key: _decode(namespace, name, key, data[key])
                for key in self._keys if key in data}


def _decode(namespace: str, name: str, key: str, raw: object) -> str:
    try:
        return base64.b64decode(str(raw), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        # `from None`: the exception's text would carry the value's bytes.
        raise SecretError(f"Secret {namespace}/{name}: the value of {key} is not "
                          "base64-encoded UTF-8 text") from None
