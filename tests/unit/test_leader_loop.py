"""kube/leader.py's loops against an in-memory Lease with the API server's optimistic
concurrency (kubesim's conformance is in emulators/kubesim/tests/test_kubesim_leases.py; two
real processes in tests/reliability/test_leader_election.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from batch_image_operator.kube.leader import LeaderElector
from batch_image_operator.planning.lease import Fence, LeaseRecord, LeaseTimings

FAST = LeaseTimings(lease_duration=1, renew_deadline=0.6, retry_period=0.05)


class MemoryLeases:
    """One Lease; a write with a stale resourceVersion loses (None), as a 409."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.namespace, self.name = "default", "test"
        self.writes: list[str] = []
        self.written_at = 0.0  # monotonic time of the last write that landed

    async def get(self) -> LeaseRecord | None:
        await asyncio.sleep(0)
        return self.record

    async def create(self, record: LeaseRecord) -> LeaseRecord | None:
        await asyncio.sleep(0)
        if self.record is not None:
            return None
        return self._store(record)

    async def update(self, record: LeaseRecord) -> LeaseRecord | None:
        await asyncio.sleep(0)
        if self.record is None or record.resource_version != self.record.resource_version:
            return None
        return self._store(record)

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.record = replace(record, resource_version=str(self.version))
        self.writes.append(record.holder)
        self.written_at = time.monotonic()
        return self.record


def elector(store: MemoryLeases, who: str) -> LeaderElector:
    return LeaderElector(store, who, FAST, Fence(FAST.renew_deadline, time.monotonic))  # type: ignore[arg-type]


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def test_a_standby_waits_while_the_leader_renews_then_takes_over_once_it_stops() -> None:
    async def scenario() -> tuple[float, LeaseRecord | None, bool]:
        store = MemoryLeases()
        a, b = elector(store, "a"), elector(store, "b")
        await a.acquire()
        assert a.fence.is_open() and not b.fence.is_open()
        holding = asyncio.create_task(a.hold())
        waiting = asyncio.create_task(b.acquire())
        await asyncio.sleep(3 * FAST.lease_duration)       # three leases long: a renews
        assert not waiting.done() and store.record is not None
        assert store.record.holder == "a"
        holding.cancel()                                   # a stops renewing (crash)
        # The lease runs from a's last renewal, not from the cancel: under load that
        # renewal may land a retry period or more before it (a flake once: 0.96 s).
        await asyncio.sleep(0)
        last_renewal = store.written_at
        await waiting
        took = time.monotonic() - last_renewal
        return took, store.record, a.fence.is_open()

    took, record, old_fence_open = run(scenario())
    assert record is not None and record.holder == "b" and record.transitions == 1
    assert FAST.lease_duration <= took <= FAST.lease_duration + 0.5
    assert not old_fence_open          # a's writes stopped before b could lead


def test_release_hands_over_on_the_standbys_next_try() -> None:
    async def scenario() -> tuple[float, LeaseRecord | None]:
        store = MemoryLeases()
        a, b = elector(store, "a"), elector(store, "b")
        await a.acquire()
        waiting = asyncio.create_task(b.acquire())
        await asyncio.sleep(0.2)
        released = time.monotonic()
        assert await a.release(within=1)
        assert not a.fence.is_open()
        await waiting
        return time.monotonic() - released, store.record

    took, record = run(scenario())
    assert record is not None and record.holder == "b"
    assert took < FAST.retry_period * 3 < FAST.lease_duration


def test_release_after_a_renewal_landed_meanwhile_still_frees_the_lease() -> None:
    async def scenario() -> LeaseRecord | None:
        store = MemoryLeases()
        a = elector(store, "a")
        await a.acquire()
        assert store.record is not None
        store._store(replace(store.record, renew_time="later"))   # a's cut-off renewal
        assert await a.release(within=1)
        return store.record

    record = run(scenario())
    assert record is not None and (record.holder, record.duration_seconds) == ("", 1)


def test_the_leader_notices_another_holder_and_gives_up() -> None:
    async def scenario() -> tuple[bool, bool]:
        store = MemoryLeases()
        a = elector(store, "a")
        await a.acquire()
        holding = asyncio.create_task(a.hold())
        await asyncio.sleep(0.1)
        assert store.record is not None
        store._store(replace(store.record, holder="intruder"))   # e.g. after a long pause
        await holding                                            # returns: lost
        return a.fence.is_open(), await a.release(within=1)

    fence_open, released = run(scenario())
    assert not fence_open
    assert not released        # never frees a Lease that is not ours
