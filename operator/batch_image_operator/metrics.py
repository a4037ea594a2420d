"""Prometheus metrics: reconciles, Azure calls, throttling, latency, objects by condition,
image builds, per-pool nodes and resizes, build info, process and Python runtime.

Every label value comes from a bounded set (kinds, results, condition reasons, the fixed
Azure operation names of ``azure.observe``, HTTP status codes). The only exception are
the per-pool gauges, labelled by namespace and name: one series per BatchPool, removed
when the BatchPool is deleted. docs/metrics.md lists every series; a test checks that
list against a running operator's /metrics in both directions.
"""

from __future__ import annotations

import collections
import contextlib
import platform
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import kopf
from aiohttp import web
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from . import __version__
from .reconcilers.outcome import Outcome

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# An image build takes minutes on Azure (tens of minutes with gallery replication).
BUILD_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
_REASON = re.compile(r"^[A-Z][A-Za-z]{0,63}$")
PRIORITIES = (("dedicated", "Dedicated"), ("lowPriority", "LowPriority"))


class PoolNodes(NamedTuple):
    namespace: str
    name: str
    current: tuple[int, int]          # dedicated, low-priority
    target: tuple[int, int] | None    # None: autoscale (the target is Azure's formula's)
    attempts: int


class PoolSeries(Collector):
    """The per-pool gauges, built at each scrape from one small record per pool.

    A labelled prometheus_client Gauge keeps an object with two locks per series: five
    series per pool were 3.8 KB a pool, 19 MB at 5,000 pools; a record is ~0.3 KB.
    """

    def __init__(self) -> None:
        self.pools: dict[str, PoolNodes] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["namespace", "name", "priority"]
        current = GaugeMetricFamily("batchimage_pool_current_nodes",
                                    "A BatchPool's current nodes (series removed with the pool)",
                                    labels=labels)
        target = GaugeMetricFamily("batchimage_pool_target_nodes",
                                   "A fixed-scale BatchPool's target nodes (series removed "
                                   "with the pool)", labels=labels)
        attempts = GaugeMetricFamily("batchimage_pool_resize_attempts",
                                     "Resize attempts toward a BatchPool's current target "
                                     "(series removed with the pool)",
                                     labels=["namespace", "name"])
        for pool in list(self.pools.values()):
            for (priority, _), nodes in zip(PRIORITIES, pool.current, strict=True):
                current.add_metric([pool.namespace, pool.name, priority], nodes)
            if pool.target is not None:
                for (priority, _), nodes in zip(PRIORITIES, pool.target, strict=True):
                    target.add_metric([pool.namespace, pool.name, priority], nodes)
            attempts.add_metric([pool.namespace, pool.name], pool.attempts)
        yield from (current, target, attempts)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # `_created` series double every counter and histogram for a value Prometheus
        # does not use; the switch is process-wide in prometheus_client.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        r = self.registry
        # The process's CPU, memory, open files and start time; Python's version and GC.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(collector)
        Info("batchimage_build", "The operator's version and runtime", registry=r).info({
            "version": __version__, "python": platform.python_version(),
            "kopf": _version("kopf")})
        self.reconciles = Counter("batchimage_reconciles", "Reconcile passes by kind and result",
                                  ["kind", "result"], registry=r)
        self.reconcile_seconds = Histogram(
            "batchimage_reconcile_duration_seconds", "Duration of one reconcile pass",
            ["kind"], registry=r, buckets=LATENCY_BUCKETS)
        self.azure_calls = Counter("batchimage_azure_requests",
                                   "HTTP requests to Azure by operation and status code",
                                   ["operation", "status"], registry=r)
        self.azure_seconds = Histogram(
            "batchimage_azure_request_duration_seconds",
            "Duration of one HTTP attempt to Azure, by operation", ["operation"], registry=r,
            buckets=LATENCY_BUCKETS)
        self.throttled = Counter("batchimage_azure_throttled",
                                 "Azure requests answered 429 (throttled)", ["operation"],
                                 registry=r)
        self.objects = Gauge("batchimage_objects", "Objects by kind and Ready condition status",
                             ["kind", "ready"], registry=r)
        self.objects_by_reason = Gauge("batchimage_objects_by_reason",
                                       "Objects by kind and the reason of their Ready condition",
                                       ["kind", "reason"], registry=r)
        self.image_builds = Histogram(
            "batchimage_image_build_duration_seconds",
            "From the PUT that starts an Azure image build to the pass that sees it Ready "
            "(published, with a gallery) or failed", ["result"], registry=r,
            buckets=BUILD_BUCKETS)
        self.resizes = Counter("batchimage_pool_resizes",
                               "Resizes the operator issued: first (create or new target) or "
                               "retry (re-issued after a resize ended short)", ["attempt"],
                               registry=r)
        self.pools = PoolSeries()
        r.register(self.pools)
        self.azure_waiting = Gauge(
            "batchimage_azure_slot_waiting",
            "Passes waiting for an Azure slot (BIO_AZURE_CONCURRENCY), by namespace",
            ["namespace"], registry=r)
        self._ready: dict[str, tuple[str, str]] = {}
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._reasons: dict[str, tuple[str, str]] = {}
        self._reason_counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._builds: dict[str, float] = {}

    def reconciled(self, kind: str, result: str, seconds: float) -> None:
        self.reconciles.labels(kind, result).inc()
        self.reconcile_seconds.labels(kind).observe(seconds)

    def azure_request(self, operation: str, status: int | str, seconds: float) -> None:
        self.azure_calls.labels(operation, str(status)).inc()
        self.azure_seconds.labels(operation).observe(seconds)
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
        """Track one object's Ready status; None forgets it (deleted) and its series."""
        _move(self.objects, self._ready, self._counts, uid,
              None if ready is None else (kind, ready))
        if ready is None:
            _move(self.objects_by_reason, self._reasons, self._reason_counts, uid, None)
            self._builds.pop(uid, None)
            self.pools.pools.pop(uid, None)

    def passed(self, uid: str, kind: str, body: Mapping[str, Any], status: Mapping[str, Any],
               outcome: Outcome) -> None:
        """One reconcile pass ended; ``status`` is the object's status after it."""
        ready = _ready_condition(status)
        reason = str(ready.get("reason") or "Unknown")
        if not _REASON.match(reason):  # ours are CamelCase words; never echo anything else
            reason = "Other"
        _move(self.objects_by_reason, self._reasons, self._reason_counts, uid, (kind, reason))
        if kind == "ManagedImage":
            self._image_build(uid, reason, str(ready.get("status") or ""))
        elif kind == "BatchPool":
            self._pool(uid, body, status, outcome)

    def _image_build(self, uid: str, reason: str, ready: str) -> None:
        """In memory: a build in flight when the operator restarts is not measured."""
        if reason in ("Creating", "Updating"):
            self._builds.setdefault(uid, time.monotonic())
            return
        started = self._builds.get(uid)
        if started is None:
            return
        if ready == "True" or reason == "ProvisioningFailed":
            del self._builds[uid]
            self.image_builds.labels("succeeded" if ready == "True" else "failed").observe(
                time.monotonic() - started)

    def _pool(self, uid: str, body: Mapping[str, Any], status: Mapping[str, Any],
              outcome: Outcome) -> None:
        if "resizeAttempts" in outcome.status:
            self.resizes.labels("retry" if outcome.next_resize_in is not None else "first").inc()
        meta = body.get("metadata") or {}
        fixed = ((body.get("spec") or {}).get("scale") or {}).get("fixed")
        self.pools.pools[uid] = PoolNodes(
            str(meta.get("namespace") or ""), str(meta.get("name") or ""),
            _nodes(status, "current"),
            # autoscale: the target is Azure's formula's, not the spec's
            _nodes(fixed, "target") if isinstance(fixed, Mapping) else None,
            int(status.get("resizeAttempts") or 0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _nodes(source: Mapping[str, Any], prefix: str) -> tuple[int, int]:
    """(dedicated, low-priority) from ``<prefix>DedicatedNodes``/``<prefix>LowPriorityNodes``."""
    return (int(source.get(f"{prefix}DedicatedNodes") or 0),
            int(source.get(f"{prefix}LowPriorityNodes") or 0))


def _ready_condition(status: Mapping[str, Any]) -> Mapping[str, Any]:
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            return cond
    return {}


def _move(gauge: Gauge, where: dict[str, tuple[str, str]],
          counts: collections.Counter[tuple[str, str]], uid: str,
          new: tuple[str, str] | None) -> None:
    """Count ``uid`` under the label pair ``new`` (None: nowhere) in a per-label gauge."""
    old = where.pop(uid, None)
    if old is not None:
        counts[old] -= 1
        gauge.labels(*old).set(counts[old])
    if new is not None:
        where[uid] = new
        counts[new] += 1
        gauge.labels(*new).set(counts[new])


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


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
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            # Permanent: Kopf stops instead of retrying the startup every minute while
            # the operator looks alive but does nothing.
            raise kopf.PermanentError(
                f"cannot listen for metrics on {self._host}:{self._port}: {exc}") from exc
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
