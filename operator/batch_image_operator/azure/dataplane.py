"""Batch accounts and their data plane (the account endpoint), cached per account.

One `nodecounts` call answers for every pool of an account, so passes over many pools
share it instead of paying one read per pool. Accounts don't move, so each is read once.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from azure.core.rest import HttpRequest

from ..models.armid import ResourceId
from ..models.endpoints import UntrustedEndpoint, account_url, check_same_origin
from ..planning.errors import Classified, ErrorKind, classify
from .clients import BATCH_DATA_API_VERSION, AzureClients
from .errors import AzureError, azure_errors
from .gateway import as_dict

# host[:port][/path] as Batch reports it: no scheme, query, fragment or spaces.
_ENDPOINT = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")


@dataclass
class _Cached:
    at: float
    counts: dict[str, dict[str, Any]]


SUPPORTED_IMAGES_MAX_AGE = 3600.0
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
UNTRUSTED_ENDPOINT = "UntrustedEndpoint"


def untrusted_error(operation: str, exc: UntrustedEndpoint) -> AzureError:
    """Refused before sending: retrying cannot help until the endpoint or suffix changes."""
    return AzureError(operation, Classified(ErrorKind.INVALID, UNTRUSTED_ENDPOINT, str(exc)))


def _next_page(link: str, base: str) -> str:
    """A nextLink is followed only on the account endpoint's own scheme, host and port."""
    try:
        check_same_origin(link, base)
    except UntrustedEndpoint as exc:
        raise untrusted_error("nodecounts.list", exc) from exc
    return link


def _refusing_untrusted(operation: str) -> Callable[[F], F]:
    """The client's own guard (a redirect, an SDK pager's nextLink) refused a URL."""
    def wrap(func: F) -> F:
        @functools.wraps(func)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except UntrustedEndpoint as exc:
                raise untrusted_error(operation, exc) from exc
        return cast(F, call)
    return wrap


def account_of(rid: ResourceId) -> ResourceId:
    """The Batch account id of a pool id (or the account id itself)."""
    return ResourceId(rid.subscription_id, rid.resource_group, rid.namespace, rid.path[:1])


class BatchAccountGateway:
    def __init__(self, clients: AzureClients, max_age: float) -> None:
        self._clients = clients
        self._max_age = max_age
        self._accounts: dict[str, dict[str, Any]] = {}
        self._counts: dict[str, _Cached] = {}
        self._supported: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def _once(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """Concurrent callers share one request per key instead of each sending one."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return cast(T, await asyncio.shield(task))

    async def close(self) -> None:
        """Cancel the shared requests still running before the clients are closed: their
        callers (passes cut short by a shutdown) are gone, and one finishing on a closed
        session raised out of the operator's exit (exit 1 after SIGTERM at 5,000 pools)."""
        pending = list(self._inflight.values())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def account(self, rid: ResourceId) -> dict[str, Any]:
        account_id = account_of(rid)
        key = str(account_id).lower()
        cached = self._accounts.get(key)
        if cached is not None:
            return cached
        return await self._once(f"account:{key}", lambda: self._read_account(rid, key))

    async def _read_account(self, rid: ResourceId, key: str) -> dict[str, Any]:
        account_id = account_of(rid)
        with azure_errors("batchAccounts.get"):
            account = as_dict(await self._clients.batch(rid.subscription_id).batch_account.get(
                rid.resource_group, account_id.name))
        endpoint = str((account.get("properties") or {}).get("accountEndpoint") or "")
        if not _ENDPOINT.match(endpoint):
            raise AzureError("batchAccounts.get", classify(
                None, "InvalidAccountEndpoint",
                f"Batch account endpoint {endpoint!r} is not a host name"))
        self._data_plane_url(endpoint)  # refused before it is cached or ever used
        self._accounts[key] = account
        return account

    async def endpoint(self, rid: ResourceId) -> str:
        return str((await self.account(rid))["properties"]["accountEndpoint"])

    def _data_plane_url(self, endpoint: str) -> str:
        """https URL of an account's data plane, only under the cloud's Batch suffix."""
        try:
            return account_url(endpoint, self._clients.batch_endpoint_suffix)
        except UntrustedEndpoint as exc:
            raise untrusted_error("batchAccounts.get", exc) from exc

    @_refusing_untrusted("supportedimages.list")
    async def supported_images(self, rid: ResourceId) -> list[dict[str, Any]]:
        """Batch's list of supported Marketplace images / node agent SKUs (cached an hour)."""
        endpoint = await self.endpoint(rid)
        cached = self._supported.get(endpoint)
        if cached is not None and time.monotonic() - cached[0] < SUPPORTED_IMAGES_MAX_AGE:
            return cached[1]
        client = self._clients.batch_data(self._data_plane_url(endpoint))
        with azure_errors("supportedimages.list"):
            images = [as_dict(i) async for i in client.list_supported_images()]
        self._supported[endpoint] = (time.monotonic(), images)
        return images

    async def list_pools(self, account: ResourceId) -> list[dict[str, Any]]:
        with azure_errors("pools.list"):
            return [as_dict(p) async for p in self._clients.batch(
                account.subscription_id).pool.list_by_batch_account(
                    account.resource_group, account.name)]

    @_refusing_untrusted("nodecounts.list")
    async def node_counts(self, pool: ResourceId) -> dict[str, Any] | None:
        endpoint = await self.endpoint(pool)
        cached = self._counts.get(endpoint)
        if cached is None or time.monotonic() - cached.at > self._max_age:
            cached = await self._once(f"counts:{endpoint}", lambda: self._read_counts(endpoint))
        return cached.counts.get(pool.name)

    async def _read_counts(self, endpoint: str) -> _Cached:
        base = self._data_plane_url(endpoint)
        client = self._clients.batch_data(base)
        counts: dict[str, dict[str, Any]] = {}
        # The raw pages, not the SDK's models: a thousand pools' model objects (turned
        # back into dicts) cost more than the call, 6 % of a 1,000-pool burst.
        request = HttpRequest("GET", "{endpoint}/nodecounts",
                              params={"api-version": BATCH_DATA_API_VERSION})
        with azure_errors("nodecounts.list"):
            while True:
                response = await client.send_request(request)
                response.raise_for_status()
                page = response.json()
                for entry in page.get("value") or []:
                    counts[str(entry.get("poolId", ""))] = dict(entry)
                link = page.get("odata.nextLink")
                if not isinstance(link, str) or not link:
                    break
                request = HttpRequest("GET", _next_page(link, base))
        cached = _Cached(time.monotonic(), counts)
        self._counts[endpoint] = cached
        return cached

