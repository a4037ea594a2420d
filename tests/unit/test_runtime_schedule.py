"""When an object's next pass is due: nudges never lost, never doubled."""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc

import pytest

from batch_image_operator.config import Settings
from batch_image_operator.models.references import ImageInfo
from batch_image_operator.runner.runtime import Runtime
from batch_image_operator.runner.scheduler import AFTER_ERROR

DRIFT = 300.0
SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


def runtime() -> Runtime:
    return Runtime(Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                      "BIO_ALLOWLIST_FILE": "unrestricted",
                                      "BIO_DRIFT_INTERVAL": str(DRIFT)}), {})


def test_a_nudge_makes_a_passed_object_due_at_once() -> None:
    rt = runtime()
    rt.scheduler.begin_pass("u")
    rt.scheduler.schedule("u", None)
    assert not rt.scheduler.is_due("u")
    rt.scheduler.nudge("u")
    assert rt.scheduler.is_due("u")


def test_a_nudge_during_a_pass_gets_another_pass_after_it() -> None:
    """The running pass may have read the indexes before the change that nudged it."""
    rt = runtime()
    rt.scheduler.begin_pass("u")
    rt.scheduler.nudge("u")
    rt.scheduler.schedule("u", None)  # the pass ends, asking for the drift interval
    assert rt.scheduler.is_due("u")


def test_a_nudge_before_a_pass_is_served_by_it() -> None:
    rt = runtime()
    rt.scheduler.nudge("u")
    assert not rt.scheduler.has_passed("u")  # its create or resume handler passes it
    rt.scheduler.begin_pass("u")
    rt.scheduler.schedule("u", None)
    assert not rt.scheduler.is_due("u")
    assert rt.scheduler._due["u"] > time.monotonic() + DRIFT - 5


def image(ready: bool, effective_id: str | None = None) -> ImageInfo:
    return ImageInfo("img", "i", ready, False, effective_id, None)


def passed(rt: Runtime, uid: str, image_resolved: str) -> None:
    """``uid`` had a pass that found its image resolved (True) or not (False)."""
    rt.scheduler.begin_pass(uid)
    rt.memory.remember_status(uid, {"conditions": [{"type": "ImageResolved",
                                             "status": image_resolved}]})
    rt.scheduler.schedule(uid, None)


def woken(rt: Runtime, *uids: str) -> list[bool]:
    found = [rt.scheduler.is_due(uid) for uid in uids]
    for uid in uids:
        rt.scheduler.begin_pass(uid)
        rt.scheduler.schedule(uid, None)
    return found


def test_an_image_change_wakes_the_pools_naming_it_once() -> None:
    rt = runtime()
    passed(rt, "p", "True")
    rt.image_watch.changed("i", image(False), ["p"])
    assert woken(rt, "p") == [False]  # first sight: p was not waiting
    rt.image_watch.changed("i", image(False), ["p"])
    assert woken(rt, "p") == [False]  # nothing changed
    rt.image_watch.changed("i", image(True, "/img"), ["p"])
    assert woken(rt, "p") == [True]
    rt.image_watch.changed("i", None, ["p"])  # gone
    assert woken(rt, "p") == [True]
    rt.image_watch.changed("i", None, ["p"])
    assert woken(rt, "p") == [False]


def test_an_image_seen_first_wakes_only_the_pools_waiting_for_it() -> None:
    """After a restart every image is seen for the first time; waking every pool then
    would pass each twice (its resume pass is already coming)."""
    rt = runtime()
    passed(rt, "waiting", "False")
    passed(rt, "resolved", "True")
    rt.image_watch.changed("i", image(True, "/img"), ["waiting", "resolved", "never-passed"])
    assert woken(rt, "waiting", "resolved") == [True, False]
    assert not rt.scheduler.has_passed("never-passed")  # its own first pass comes from its handler


class Fired:
    """The scheduler's timer loop, running, and what it has handed out so far."""

    def __init__(self, rt: Runtime, failing: frozenset[str] = frozenset()) -> None:
        self.uids: list[str] = []
        self._failing = failing
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(rt.scheduler.run(self._fire))

    def _fire(self, uid: str) -> None:
        self.uids.append(uid)
        self._changed.set()
        if uid in self._failing:
            raise RuntimeError("a bug in whatever runs the pass")

    async def count(self, n: int) -> None:
        while len(self.uids) < n:
            self._changed.clear()
            await self._changed.wait()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_a_bounded_wait_ends_early_only_after_the_first_pass() -> None:
    """An image wakes each poll interval for `usedBy`, but never runs ahead of the
    object's first pass (its create or resume handler makes that one)."""
    rt = runtime()
    fired = Fired(rt)
    try:
        rt.scheduler.wake_every("i", 0.01)
        rt.scheduler.arm("i")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fired.count(1), 0.2)
        rt.scheduler.begin_pass("i")
        rt.scheduler.schedule("i", None)  # next pass in DRIFT seconds
        await asyncio.wait_for(fired.count(1), 5)
        assert fired.uids == ["i"]
        assert not rt.scheduler.is_due("i")
        rt.scheduler.arm("i")  # what a finished pass does: the next tick comes too
        await asyncio.wait_for(fired.count(2), 5)
    finally:
        await fired.stop()


async def test_a_wake_up_is_handed_out_once_and_cease_puts_it_off() -> None:
    """A deletion stops the object's reconcile passes: a wake-up armed before it, even a
    nudge's, hands nothing out; from then on only the drift interval (or a nudge) does,
    to see whether it is gone. A forgotten object is never handed out."""
    rt = runtime()
    fired = Fired(rt)
    try:
        for uid in ("kept", "deleted", "forgotten"):
            rt.scheduler.begin_pass(uid)
            rt.scheduler.schedule(uid, 0.05)
        rt.scheduler.nudge("deleted")
        rt.scheduler.cease("deleted")
        rt.scheduler.forget("forgotten")
        rt.scheduler.nudge("forgotten")
        await asyncio.wait_for(fired.count(1), 5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fired.count(2), 0.3)
        assert fired.uids == ["kept"]
        assert rt.scheduler._due["deleted"] > time.monotonic() + DRIFT - 5
        rt.scheduler.nudge("deleted")
        await asyncio.wait_for(fired.count(2), 5)
        assert fired.uids == ["kept", "deleted"]
    finally:
        await fired.stop()


async def test_thousands_of_objects_waiting_until_due_stay_small() -> None:
    """Every object waits for its next pass as a heap entry, not a sleeping coroutine: at
    5,000 pools each waiting object may cost a few hundred bytes (a Kopf daemon asleep in
    ``until_due`` cost 2.8 KB in this measure, before Kopf's own part)."""
    rt = runtime()
    uids = [f"u{i}" for i in range(2000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for uid in uids:
            rt.scheduler.begin_pass(uid)
            rt.scheduler.schedule(uid, None)   # due in the drift interval
        per_object = (tracemalloc.get_traced_memory()[0] - before) / len(uids)
    finally:
        tracemalloc.stop()
    fired = Fired(rt)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fired.count(1), 0.05)
        for uid in uids:
            rt.scheduler.nudge(uid)              # each wakes, due at once
        await asyncio.wait_for(fired.count(len(uids)), 10)
        assert sorted(fired.uids) == sorted(uids)
    finally:
        await fired.stop()
    assert per_object < 400, f"{per_object:.0f} bytes per waiting object"


async def test_one_object_failing_to_be_handed_out_stops_no_other() -> None:
    rt = runtime()
    fired = Fired(rt, failing=frozenset({"bad"}))
    try:
        for uid in ("bad", "good"):
            rt.scheduler.begin_pass(uid)
            rt.scheduler.schedule(uid, 0.0 if uid == "bad" else 0.1)
        await asyncio.wait_for(fired.count(2), 5)
        assert fired.uids == ["bad", "good"]
        # The failed one is tried again later, as Kopf restarted a failed daemon.
        assert rt.scheduler._due["bad"] > time.monotonic() + AFTER_ERROR - 5
        rt.scheduler.nudge("good")
        await asyncio.wait_for(fired.count(3), 5)
    finally:
        await fired.stop()


async def test_an_object_rescheduled_thousands_of_times_stays_small_and_due() -> None:
    """Each re-arm leaves a stale heap entry behind (a nudge, a Retry-After, an LRO
    polled each second for hours): they are dropped before they pile up."""
    rt = runtime()
    rt.scheduler.begin_pass("u")
    rt.scheduler.begin_pass("v")
    rt.scheduler.schedule("v", 0.2)  # another object, armed before, untouched since
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            rt.scheduler.schedule("u", 300.0)
            rt.scheduler.nudge("u")
            rt.scheduler.begin_pass("u")  # the nudge's pass, ending with its next due time
            rt.scheduler.schedule("u", 200.0)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes after 30,000 re-arms"
    fired = Fired(rt)
    try:
        await asyncio.wait_for(fired.count(1), 5)
        rt.scheduler.nudge("u")
        await asyncio.wait_for(fired.count(2), 5)
        assert fired.uids == ["v", "u"]
    finally:
        await fired.stop()
