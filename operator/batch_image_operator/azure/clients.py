"""Async Azure SDK clients, created once per process (per subscription) and closed on exit."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
from azure.batch.aio import BatchClient
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import AioHttpTransport
from azure.mgmt.batch.aio import BatchManagementClient
from azure.mgmt.compute.aio import ComputeManagementClient

from ..config import Settings
from ..planning.lease import Fence
from .observe import ObservePolicy

# The Batch data-plane REST version, pinned: the node-count pages are read as raw JSON.
BATCH_DATA_API_VERSION = "2025-06-01"

log = logging.getLogger(__name__)

READS = frozenset({"GET", "HEAD", "OPTIONS"})


class FencedWrite(ServiceRequestError):
    """A write refused because this process no longer holds the leader Lease."""


class WritePolicy(SansIOHTTPPolicy[Any, Any]):
    """Refuses every Azure write while the fence is closed, whatever the event loop did
    (or did not do) since the last renewal. In the pipeline twice: per call, so a fenced
    write starts nothing, and per retry, the last step before the transport, so a write
    that began before the fence closed (waiting for a token, say) is still stopped."""

    def __init__(self, fence: Fence) -> None:
        self._fence = fence

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if request.http_request.method.upper() not in READS and not self._fence.is_open():
            raise FencedWrite("not the leader: Azure writes are fenced until this "
                              "process exits")


@dataclass(frozen=True)
class Leadership:
    fence: Fence
    identity: str


# Set once, before Kopf starts, when leader election is on. Process-wide on purpose:
# every client of every identity (the operator's and each namespace's, made later on
# demand) must pass the one fence, and none can be built without it.
_leadership: Leadership | None = None


def install_fence(fence: Fence, identity: str) -> None:
    global _leadership
    _leadership = Leadership(fence, identity)


class AzureClients:
    """All SDK clients of one identity share one aiohttp session with a bounded pool.

    Without the bound each client keeps up to 100 TLS connections alive, and asyncio
    gives every TLS connection a 256 KiB buffer: hundreds of MB at a thousand pools.
    """

    def __init__(self, settings: Settings, credential: AsyncTokenCredential,
                 observe: ObservePolicy | None = None) -> None:
        self._settings = settings
        self._observe = observe
        self._credential = credential
        self._session: aiohttp.ClientSession | None = None
        self._compute: dict[str, ComputeManagementClient] = {}
        self._batch: dict[str, BatchManagementClient] = {}
        self._batch_data: dict[str, BatchClient] = {}

    def _common(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self._settings.arm_endpoint,
            "credential_scopes": [self._settings.arm_scope],
            "retry_total": self._settings.retry_total,
        }
        per_retry: list[SansIOHTTPPolicy[Any, Any]] = []
        if _leadership is not None:
            fenced = WritePolicy(_leadership.fence)
            kwargs["per_call_policies"] = [fenced]
            per_retry.append(fenced)
            # Azure's activity log (and azuresim's request log) then tell replicas apart.
            kwargs["user_agent"] = f"batch-image-operator/{_leadership.identity}"
        if self._observe is not None:
            # Per-retry, so every HTTP attempt (including SDK retries) is counted.
            per_retry.append(self._observe)
        if per_retry:
            kwargs["per_retry_policies"] = per_retry
        if self._session is None:
            # Created on first use, inside the operator's event loop. The CA bundle goes
            # into one SSL context on the connector: given as `connection_verify`,
            # azure-core builds a new context per request, which aiohttp cannot match to
            # a pooled connection, so every call opened (and kept) a new TLS connection.
            tls = ssl.create_default_context(cafile=self._settings.ca_bundle) \
                if self._settings.ca_bundle else True
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                limit=self._settings.azure_connections, keepalive_timeout=30, ssl=tls))
        kwargs["transport"] = AioHttpTransport(session=self._session, session_owner=False)
        return kwargs

    def compute(self, subscription_id: str) -> ComputeManagementClient:
        client = self._compute.get(subscription_id)
        if client is None:
            client = ComputeManagementClient(self._credential, subscription_id, **self._common())
            self._compute[subscription_id] = client
        return client

    def batch(self, subscription_id: str) -> BatchManagementClient:
        client = self._batch.get(subscription_id)
        if client is None:
            client = BatchManagementClient(self._credential, subscription_id, **self._common())
            self._batch[subscription_id] = client
        return client

    def batch_data(self, endpoint: str) -> BatchClient:
        """Data-plane client for one Batch account endpoint (https://host[:port][/path])."""
        client = self._batch_data.get(endpoint)
        if client is None:
            kwargs = self._common()
            for key in ("base_url", "credential_scopes"):
                kwargs.pop(key)  # the data plane has its own audience (batch.core.windows.net)
            client = BatchClient(endpoint, self._credential,
                                 api_version=BATCH_DATA_API_VERSION, **kwargs)
            self._batch_data[endpoint] = client
        return client

    async def close(self) -> None:
        for compute in self._compute.values():
            await compute.close()
        for batch in self._batch.values():
            await batch.close()
        for data in self._batch_data.values():
            await data.close()
        self._batch_data.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._compute.clear()
        self._batch.clear()
        await self._credential.close()
