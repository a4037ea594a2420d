"""Prometheus metrics: reconciles, Azure calls, throttling, latency, objects by condition."""

from __future__ import annotations

import collections
import contextlib
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.reconciles = Counter("batchimage_reconciles", "Reconcile passes by kind and result",
                                  ["kind", "result"], registry=r)
        self.reconcile_seconds = Histogram(
            "batchimage_reconcile_duration_seconds", "Duration of one reconcile pass",
            ["kind"], registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.azure_calls = Counter("batchimage_azure_requests",
                                   "HTTP requests to Azure by operation and status code",
                                   ["operation", "status"], registry=r)
        self.throttled = Counter("batchimage_azure_throttled",
                                 "Azure requests answered 429 (throttled)", ["operation"],
                                 registry=r)
        self.objects = Gauge("batchimage_objects", "Objects by kind and Ready condition status",
                             ["kind", "ready"], registry=r)
        self.azure_waiting = Gauge(
            "batchimage_azure_slot_waiting",
            "Passes waiting for an Azure slot (BIO_AZURE_CONCURRENCY), by namespace",
            ["namespace"], registry=r)
        self._ready: dict[str, tuple[str, str]] = {}
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def reconciled(self, kind: str, result: str, seconds: float) -> None:
        self.reconciles.labels(kind, result).inc()
        self.reconcile_seconds.labels(kind).observe(seconds)

    def azure_request(self, operation: str, status: int | str) -> None:
        self.azure_calls.labels(operation, str(status)).inc()
        if status == 429:
            self.throttled.labels(operation).inc()

    def slot_waiting(self, namespace: str, waiting: int) -> None:
        if waiting:
            self.azure_waiting.labels(namespace).set(waiting)
        else:
            # Dropped, not kept at 0: namespaces come and go.
            with contextlib.suppress(KeyError):
                self.azure_waiting.remove(namespace)

    def object_ready(self, uid: str, kind: str, ready: str | None) -> None:
        """Track one object's Ready status; None forgets it (deleted)."""
        old = self._ready.pop(uid, None)
        if old is not None:
            self._counts[old] -= 1
            self.objects.labels(*old).set(self._counts[old])
        if ready is not None:
            new = (kind, ready)
            self._ready[uid] = new
            self._counts[new] += 1
            self.objects.labels(*new).set(self._counts[new])

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """/metrics over aiohttp on the operator's own event loop."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._metrics, self._host, self._port = metrics, host, port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port

    async def _serve(self, request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
