"""Process-wide state the handlers share: settings, Azure gateways, per-object schedule."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..azure.clients import AzureClients
from ..azure.credentials import build_credential
from ..azure.dataplane import BatchAccountGateway
from ..azure.gateway import ComputeGateway, PoolGateway
from ..azure.observe import ObservePolicy
from ..config import CredentialSettings, Settings
from ..metrics import Metrics, MetricsServer
from ..reconcilers.images import ImageGateways
from ..reconcilers.pools import PoolGateways


@dataclass
class Runtime:
    settings: Settings
    credential_env: Mapping[str, str]
    clients: AzureClients | None = None
    image_gateways: ImageGateways | None = None
    pool_gateways: PoolGateways | None = None
    metrics: Metrics = field(default_factory=Metrics)
    metrics_server: MetricsServer | None = None
    # uid -> monotonic time of the next reconcile pass the timer should make.
    _due: dict[str, float] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # uid -> the status this process last wrote (newer than a timer tick's body).
    _status: dict[str, dict[str, Any]] = field(default_factory=dict)
    # uid -> monotonic time before which no further resize is re-issued (backoff).
    _resize_after: dict[str, float] = field(default_factory=dict)

    async def start(self) -> None:
        creds = CredentialSettings.from_env(self.credential_env)
        credential = build_credential(creds, ca_bundle=self.settings.ca_bundle,
                                      env=self.credential_env)
        self.clients = AzureClients(self.settings, credential,
                                    ObservePolicy(self.metrics.azure_request))
        compute = ComputeGateway(self.clients)
        accounts = BatchAccountGateway(self.clients, max_age=self.settings.poll_interval / 2)
        self.image_gateways = ImageGateways(compute, accounts)
        self.pool_gateways = PoolGateways(PoolGateway(self.clients), compute, accounts)
        if self.settings.metrics_port is not None:
            self.metrics_server = MetricsServer(self.metrics, self.settings.metrics_host,
                                                self.settings.metrics_port)
            await self.metrics_server.start()

    async def stop(self) -> None:
        if self.metrics_server is not None:
            await self.metrics_server.stop()
            self.metrics_server = None
        if self.clients is not None:
            await self.clients.close()
            self.clients = None

    def lock(self, uid: str) -> asyncio.Lock:
        return self._locks.setdefault(uid, asyncio.Lock())

    def is_due(self, uid: str) -> bool:
        return time.monotonic() >= self._due.get(uid, 0.0)

    def schedule(self, uid: str, requeue: float | None) -> None:
        delay = self.settings.drift_interval if requeue is None else requeue
        self._due[uid] = time.monotonic() + delay

    def status_of(self, uid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        cached = self._status.get(uid)
        return dict(cached) if cached is not None else dict(body.get("status") or {})

    def remember_status(self, uid: str, status: dict[str, Any]) -> None:
        self._status[uid] = status

    def nudge(self, uid: str) -> None:
        """Make the object's next timer tick run a full pass."""
        self._due[uid] = 0.0

    def resize_wait(self, uid: str) -> float:
        return max(0.0, self._resize_after.get(uid, 0.0) - time.monotonic())

    def resized(self, uid: str, next_in: float) -> None:
        self._resize_after[uid] = time.monotonic() + next_in

    def forget(self, uid: str) -> None:
        self._due.pop(uid, None)
        self._locks.pop(uid, None)
        self._resize_after.pop(uid, None)
        self._status.pop(uid, None)
