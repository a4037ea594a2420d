"""Async Azure SDK clients, created once per process (per subscription) and closed on exit."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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
from ..fairshare import FairShare
from ..models.endpoints import check_same_origin, check_trusted
from ..planning.lease import Fence
from .connections import FairConnections
from .observe import ObservePolicy
from .pacing import ArmPacer, PacingPolicy

Client = TypeVar("Client")

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


class DataPlaneGuard(SansIOHTTPPolicy[Any, Any]):
    """Before the bearer-token policy: every attempt (a pager's nextLink, a redirect, a
    retry) must stay on the client's own endpoint, under the configured Batch suffix.

    Raises UntrustedEndpoint, which is not an azure-core error, so it is not retried.
    """

    def __init__(self, endpoint: str, suffix: str) -> None:
        check_trusted(endpoint, suffix)
        self._endpoint = endpoint

    def on_request(self, request: PipelineRequest[Any]) -> None:
        check_same_origin(request.http_request.url, self._endpoint, "data-plane request")


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
        # ARM's budget is per principal: one pacer for every ARM client of this identity.
        self.pacer = ArmPacer()
        # The session's connections, granted per namespace in turn (connections.py).
        self.connections = FairShare(settings.azure_connections)

    def _common(self, arm: bool = True) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self._settings.arm_endpoint,
            "credential_scopes": [self._settings.arm_scope],
            "retry_total": self._settings.retry_total,
        }
        # Per-retry, so every HTTP attempt (SDK retries included) waits for its ARM token
        # and is counted. The Batch data plane has no ARM budget.
        per_retry: list[Any] = [PacingPolicy(self.pacer)] if arm else []
        # After the ARM token wait (never hold a connection asleep), before the fence.
        per_retry.append(FairConnections(self.connections))
        if _leadership is not None:
            fenced = WritePolicy(_leadership.fence)
            kwargs["per_call_policies"] = [fenced]
            per_retry.append(fenced)  # after the ARM token wait: the last check before sending
            # Azure's activity log (and azuresim's request log) then tell replicas apart.
            kwargs["user_agent"] = f"batch-image-operator/{_leadership.identity}"
        if self._observe is not None:
            per_retry.append(self._observe)
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
        return self._arm_client(self._compute, ComputeManagementClient, subscription_id)

    def batch(self, subscription_id: str) -> BatchManagementClient:
        return self._arm_client(self._batch, BatchManagementClient, subscription_id)

    def _arm_client(self, made: dict[str, Client], make: Callable[..., Client],
                    subscription_id: str) -> Client:
        """One ARM client per subscription, made on first use."""
        client = made.get(subscription_id)
        if client is None:
            client = made[subscription_id] = make(self._credential, subscription_id,
                                                  **self._common())
        return client

    @property
    def batch_endpoint_suffix(self) -> str:
        return self._settings.batch_endpoint_suffix

    def retry_after(self, resource_id: str) -> float:
        """The Retry-After of the LRO last started on ``resource_id`` (0: none known)."""
        return self.pacer.poll_interval(resource_id)

    def batch_data(self, endpoint: str) -> BatchClient:
        """Data-plane client for one Batch account endpoint (https://host[:port][/path]);
        raises UntrustedEndpoint for one outside the configured Batch endpoint suffix."""
        client = self._batch_data.get(endpoint)
        if client is None:
            guard = DataPlaneGuard(endpoint, self._settings.batch_endpoint_suffix)
            kwargs = self._common(arm=False)
            for key in ("base_url", "credential_scopes"):
                kwargs.pop(key)  # the data plane has its own audience (batch.core.windows.net)
            # Per retry puts it after the redirect and retry policies, before the token.
            kwargs["per_retry_policies"] = [guard, *kwargs.get("per_retry_policies", [])]
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
