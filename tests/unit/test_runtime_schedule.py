"""When an object's next pass is due: nudges never lost, never doubled."""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc

import pytest

from batch_image_operator.config import Settings
from batch_image_operator.models.references import ImageInfo
from batch_image_operator.runner.runtime import Runtime

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
    assert "u" not in rt.scheduler._due  # not passed yet: its create or resume handler passes it
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
    assert "never-passed" not in rt.scheduler._due  # its own first pass comes from its handler


async def test_a_bounded_sleep_ends_early_only_after_the_first_pass() -> None:
    """An image's daemon wakes each poll interval for `usedBy`, but never runs ahead of
    the object's first pass (its create or resume handler makes that one)."""
    rt = runtime()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rt.scheduler.until_due("i", at_most=0.01), 0.2)
    rt.scheduler.begin_pass("i")
    rt.scheduler.schedule("i", None)  # next pass in DRIFT seconds
    await asyncio.wait_for(rt.scheduler.until_due("i", at_most=0.01), 5)
    assert not rt.scheduler.is_due("i")


async def test_thousands_of_objects_sleeping_until_due_stay_small() -> None:
    """Every object's daemon sleeps in until_due between passes: at 5,000 pools each
    sleeper may cost little more than its coroutine: 2.8 KB (wait_for, with a task of
    its own per wait, took 3.7 KB)."""
    rt = runtime()
    uids = [f"u{i}" for i in range(2000)]
    for uid in uids:
        rt.scheduler.begin_pass(uid)
        rt.scheduler.schedule(uid, None)   # due in the drift interval
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sleepers = [asyncio.create_task(rt.scheduler.until_due(uid)) for uid in uids]
        await asyncio.sleep(0.05)
        per_object = (tracemalloc.get_traced_memory()[0] - before) / len(uids)
    finally:
        tracemalloc.stop()
    assert not any(task.done() for task in sleepers)
    for uid in uids:
        rt.scheduler.nudge(uid)              # each wakes, due at once
    await asyncio.wait_for(asyncio.gather(*sleepers), 10)
    # Under `make coverage` the tracer keeps a little per frame (3,220 B measured): the
    # bound is for the operator as it runs, without a tracer.
    bound = 3200 if sys.gettrace() is None else 3500
    assert per_object < bound, f"{per_object:.0f} bytes per sleeping object"
