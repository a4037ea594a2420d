"""When an object's next pass is due: nudges never lost, never doubled."""

from __future__ import annotations

import asyncio
import time

import pytest

from batch_image_operator.config import Settings
from batch_image_operator.handlers.runtime import Runtime

DRIFT = 300.0
SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


def runtime() -> Runtime:
    return Runtime(Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                      "BIO_DRIFT_INTERVAL": str(DRIFT)}), {})


def test_a_nudge_makes_a_passed_object_due_at_once() -> None:
    rt = runtime()
    rt.begin_pass("u")
    rt.schedule("u", None)
    assert not rt.is_due("u")
    rt.nudge("u")
    assert rt.is_due("u")


def test_a_nudge_during_a_pass_gets_another_pass_after_it() -> None:
    """The running pass may have read the indexes before the change that nudged it."""
    rt = runtime()
    rt.begin_pass("u")
    rt.nudge("u")
    rt.schedule("u", None)  # the pass ends, asking for the drift interval
    assert rt.is_due("u")


def test_a_nudge_before_a_pass_is_served_by_it() -> None:
    rt = runtime()
    rt.nudge("u")
    assert "u" not in rt._due  # not passed yet: its create or resume handler passes it
    rt.begin_pass("u")
    rt.schedule("u", None)
    assert not rt.is_due("u")
    assert rt._due["u"] > time.monotonic() + DRIFT - 5


def test_image_changes_are_reported_once() -> None:
    rt = runtime()
    assert rt.image_seen("i", (False, False, None)) == (True, True)  # first sight
    assert rt.image_seen("i", (False, False, None)) == (False, False)
    assert rt.image_seen("i", (True, False, "/img")) == (False, True)
    assert rt.image_seen("i", None) == (False, True)  # gone
    assert rt.image_seen("i", None) == (True, False)


def test_a_pool_is_waiting_while_its_image_is_unresolved() -> None:
    rt = runtime()
    assert not rt.waiting_for_image("p")  # never passed
    rt.remember_status("p", {"conditions": [{"type": "ImageResolved", "status": "False"}]})
    assert rt.waiting_for_image("p")
    rt.remember_status("p", {"conditions": [{"type": "ImageResolved", "status": "True"}]})
    assert not rt.waiting_for_image("p")


async def test_a_bounded_sleep_ends_early_only_after_the_first_pass() -> None:
    """An image's daemon wakes each poll interval for `usedBy`, but never runs ahead of
    the object's first pass (its create or resume handler makes that one)."""
    rt = runtime()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rt.until_due("i", at_most=0.01), 0.2)
    rt.begin_pass("i")
    rt.schedule("i", None)  # next pass in DRIFT seconds
    await asyncio.wait_for(rt.until_due("i", at_most=0.01), 5)
    assert not rt.is_due("i")
