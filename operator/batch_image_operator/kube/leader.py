"""Leader election on a Lease, and running the operator only while holding it.

The decisions are planning/lease.py's; this module reads and writes the Lease through
the operator's own ``KubeApi`` session and runs the loops: acquire (standby), renew
(leader), release (graceful stop). While this process leads, the fence installed in the
Azure clients refuses every Azure write once a renewal is ``renew deadline`` overdue;
soon after, the renew loop notices and the process exits non-zero (the pod restarts as a
standby). Kopf's peering was not used: it keeps every replica watching and does not stop
a paused replica's Azure writes, which is what the fence is for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from ..config import Settings
from ..planning.lease import (
    Action,
    Fence,
    LeaseRecord,
    LeaseTimings,
    Observation,
    decide,
    observe,
    released,
)
from .api import KubeApi, KubeApiError, Login
from .standby import standby_endpoints

log = logging.getLogger(__name__)
LEASES = "/apis/coordination.k8s.io/v1"
# client-go's JitterFactor for the acquire loop: standbys do not retry in lockstep.
JITTER = 1.2
TRANSIENT = (KubeApiError, aiohttp.ClientError, TimeoutError, ValueError)


def new_identity() -> str:
    """The pod's name (its hostname) plus a random suffix: a restarted pod is a new
    candidate, never mistaken for the holder it was before."""
    return f"{socket.gethostname()}_{secrets.token_hex(4)}"


class LeaseStore:
    """GET, create and PUT of one Lease; a 409 (stale resourceVersion, or created by
    someone else first) answers None, as a lost race."""

    def __init__(self, api: KubeApi, namespace: str, name: str) -> None:
        self._api = api
        self.namespace, self.name = namespace, name
        self._collection = f"{LEASES}/namespaces/{quote(namespace, safe='')}/leases"
        self._path = f"{self._collection}/{quote(name, safe='')}"

    async def get(self) -> LeaseRecord | None:
        code, body = await self._api.request("GET", self._path)
        if code == 404:
            return None
        return LeaseRecord.from_lease(self._ok(code, body, "reading"))

    async def create(self, record: LeaseRecord) -> LeaseRecord | None:
        code, body = await self._api.request("POST", self._collection, body=self._lease(record))
        return None if code == 409 else LeaseRecord.from_lease(self._ok(code, body, "creating"))

    async def update(self, record: LeaseRecord) -> LeaseRecord | None:
        code, body = await self._api.request("PUT", self._path, body=self._lease(record))
        return None if code == 409 else LeaseRecord.from_lease(self._ok(code, body, "updating"))

    def _lease(self, record: LeaseRecord) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if record.resource_version:
            meta["resourceVersion"] = record.resource_version  # optimistic concurrency
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": record.spec()}

    def _ok(self, code: int, body: Any, doing: str) -> dict[str, Any]:
        if code not in (200, 201) or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else None
            raise KubeApiError(f"{doing} Lease {self.namespace}/{self.name}: HTTP {code}"
                               + (f": {message}" if message else ""))
        return body


class LeaderElector:
    def __init__(self, store: LeaseStore, identity: str, timings: LeaseTimings, fence: Fence,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.identity, self.timings = store, identity, timings
        self.fence = fence
        self._clock = clock
        self._seen: Observation | None = None
        self._held: LeaseRecord | None = None

    async def try_acquire_or_renew(self) -> bool:
        """One round (client-go's tryAcquireOrRenew): True if this process holds the
        Lease afterwards; the fence opens (or stays open) from when the write was sent."""
        sent = self._clock()
        current = await self.store.get()
        if current is None:
            self._seen = None
        else:
            self._seen = observe(self._seen, current, self._clock())
        step = decide(self._seen, self.identity, self._clock(), datetime.now(UTC), self.timings)
        if step.action is Action.WAIT:
            self._held = None
            log.debug("Lease %s held by %s for %.1fs more", self.store.name, step.holder,
                      step.expires_in)
            return False
        assert step.write is not None
        written = await (self.store.create(step.write) if step.action is Action.CREATE
                         else self.store.update(step.write))
        if written is None:  # somebody else wrote first
            self._held = None
            return False
        self._seen = Observation(written, self._clock())
        self._held = written
        self.fence.renewed(sent)
        if step.action is not Action.RENEW:
            log.info("Became the leader: Lease %s/%s held as %s (transition %d)",
                     self.store.namespace, self.store.name, self.identity, written.transitions)
        return True

    async def acquire(self) -> None:
        """Until this process holds the Lease (standby meanwhile)."""
        log.info("Waiting to lead: Lease %s/%s, as %s", self.store.namespace, self.store.name,
                 self.identity)
        while True:
            try:
                async with asyncio.timeout(self.timings.renew_deadline):
                    if await self.try_acquire_or_renew():
                        return
            except TRANSIENT as exc:
                log.warning("Cannot acquire Lease %s/%s: %s", self.store.namespace,
                            self.store.name, exc)
            await asyncio.sleep(self.timings.retry_period * (1 + random.random() * JITTER))

    async def hold(self, each_round: Callable[[], None] = lambda: None) -> None:
        """Renew every retry period; returns once leadership is lost: another holder, or
        no renewal within the renew deadline (the fence is closed by then)."""
        while True:
            await asyncio.sleep(self.timings.retry_period)
            each_round()
            remaining = self.fence.remaining()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    if await self.try_acquire_or_renew():
                        continue
                if self._seen is not None and self._seen.record.holder not in ("",
                                                                               self.identity):
                    break  # someone else holds it: we lost it while not looking
            except TRANSIENT as exc:
                log.warning("Cannot renew Lease %s/%s (%.1fs left): %s", self.store.namespace,
                            self.store.name, self.fence.remaining(), exc)
        self.fence.close()
        holder = self._seen.record.holder if self._seen is not None else ""
        log.error("Lost the leadership of Lease %s/%s%s: Azure writes stopped, exiting",
                  self.store.namespace, self.store.name,
                  f" (now held by {holder})" if holder not in ("", self.identity) else "")

    async def release(self, within: float) -> bool:
        """Give the Lease up at once (empty holder, 1 s) so a standby need not wait for it
        to expire; the fence closes first, so nothing is written after."""
        self.fence.close()
        held, self._held = self._held, None
        try:
            async with asyncio.timeout(within):
                for _ in range(2):
                    if held is None or held.holder != self.identity:
                        return False
                    if await self.store.update(released(held, datetime.now(UTC))):
                        log.info("Released Lease %s/%s", self.store.namespace,
                                 self.store.name)
                        return True
                    # A renewal cut short by the stop may still have landed: re-read.
                    held = await self.store.get()
        except TRANSIENT as exc:
            log.warning("Could not release Lease %s/%s (it expires by itself): %s",
                        self.store.namespace, self.store.name, exc)
        return False


async def run_as_leader(settings: Settings, login: Login,
                        operate: Callable[[], Coroutine[Any, Any, None]],
                        fence_writes: Callable[[Fence, str], None]) -> int:
    """Wait for the Lease, then run ``operate`` (Kopf) while holding it.

    Once elected, ``fence_writes(fence, identity)`` ties every Azure client to the fence
    (azure/clients.py's ``install_fence``; passed in so kube/ does not import azure/).

    Lost: exit 1 at once, nothing more is written. SIGTERM/SIGINT: close the fence,
    release the Lease and exit 0 without waiting for in-flight passes (they would only
    meet the fence; the new leader resumes them from Kubernetes and Azure, as after a
    crash). Exits are immediate (``os._exit``) so no task of Kopf's runs after them.
    """
    loop = asyncio.get_running_loop()
    timings = settings.lease_timings
    fence = Fence(timings.renew_deadline, time.monotonic)
    api = KubeApi(login, connections=2)
    elector = LeaderElector(LeaseStore(api, settings.lease_namespace, settings.lease_name),
                            new_identity(), timings, fence)
    stopping = asyncio.Event()

    def on_stop() -> None:
        fence.close()   # no Azure write from the moment the signal arrives
        stopping.set()

    def own_signals() -> None:
        # Kopf installs its own handlers when it starts: take them back each round.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_stop)

    own_signals()
    async with standby_endpoints(settings):
        if not await _first(elector.acquire(), stopping.wait()):
            await api.close()
            log.info("Stopped while standby")
            return 0
    fence_writes(fence, elector.identity)
    operator = asyncio.create_task(operate(), name="operator")
    holding = asyncio.create_task(elector.hold(own_signals), name="lease renewal")
    stop = asyncio.create_task(stopping.wait(), name="stop signal")
    await asyncio.wait({operator, holding, stop}, return_when=asyncio.FIRST_COMPLETED)
    if holding.done():
        fence.close()
        if holding.exception() is not None:
            log.error("Lease renewal failed: %r; exiting", holding.exception())
        _exit_now(1)
    holding.cancel()
    with suppress(asyncio.CancelledError):
        await holding
    if stop.done():
        log.info("Stopping: releasing the leadership")
        await elector.release(within=min(2.0, timings.renew_deadline))
        _exit_now(0)
    # Kopf ended by itself (a signal it caught in its first moments, or a fatal error).
    await elector.release(within=min(2.0, timings.renew_deadline))
    stop.cancel()
    await api.close()
    operator.result()
    return 0


async def _first(wanted: Awaitable[None], interrupt: Awaitable[Any]) -> bool:
    """Run both; True if ``wanted`` finished first."""
    want = asyncio.ensure_future(wanted)
    other = asyncio.ensure_future(interrupt)
    await asyncio.wait({want, other}, return_when=asyncio.FIRST_COMPLETED)
    for task in (want, other):
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    if want.cancelled():
        return False
    want.result()  # its exception, if it failed
    return True


def _exit_now(code: int) -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
