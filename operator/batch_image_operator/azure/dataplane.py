"""Batch data plane (the account endpoint): node counts, shared per account and cached.

One `nodecounts` call answers for every pool of an account, so passes over many pools
share it instead of paying one read per pool.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError

from ..models.armid import ResourceId
from ..planning.errors import Classified, ErrorKind
from .clients import AzureClients
from .gateway import AzureError, as_dict, wrap_http_error

# host[:port][/path] as Batch reports it: no scheme, query, fragment or spaces.
_ENDPOINT = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")


@dataclass
class _Cached:
    at: float
    counts: dict[str, dict[str, Any]]


class NodeCountGateway:
    def __init__(self, clients: AzureClients, max_age: float) -> None:
        self._clients = clients
        self._max_age = max_age
        self._endpoints: dict[tuple[str, str, str], str] = {}
        self._counts: dict[str, _Cached] = {}

    async def endpoint(self, pool: ResourceId) -> str:
        """The account's data-plane endpoint; accounts don't move, so it is looked up once."""
        key = (pool.subscription_id.lower(), pool.resource_group.lower(), pool.path[0][1])
        cached = self._endpoints.get(key)
        if cached is not None:
            return cached
        try:
            account = await self._clients.batch(pool.subscription_id).batch_account.get(
                pool.resource_group, pool.path[0][1])
        except HttpResponseError as exc:
            raise wrap_http_error("batchAccounts.get", exc) from exc
        endpoint = str(as_dict(account).get("properties", {}).get("accountEndpoint") or "")
        if not _ENDPOINT.match(endpoint):
            raise AzureError("batchAccounts.get", Classified(
                ErrorKind.INVALID, "InvalidAccountEndpoint",
                f"Batch account endpoint {endpoint!r} is not a host name"))
        self._endpoints[key] = endpoint
        return endpoint

    async def node_counts(self, pool: ResourceId) -> dict[str, Any] | None:
        endpoint = await self.endpoint(pool)
        cached = self._counts.get(endpoint)
        if cached is None or time.monotonic() - cached.at > self._max_age:
            client = self._clients.batch_data(f"https://{endpoint}")
            counts: dict[str, dict[str, Any]] = {}
            try:
                async for entry in client.list_pool_node_counts():
                    data = as_dict(entry)
                    counts[str(data.get("poolId", ""))] = data
            except HttpResponseError as exc:
                raise wrap_http_error("nodecounts.list", exc) from exc
            cached = _Cached(time.monotonic(), counts)
            self._counts[endpoint] = cached
        return cached.counts.get(pool.name)

