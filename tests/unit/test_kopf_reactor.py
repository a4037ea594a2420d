"""Kopf's watcher with the operator's one reactor change (handlers/kopf_reactor.py).

(That Kopf's spawn is still the one replaced is in tests/contract/test_kopf_contract.py.)
A burst of new objects in one namespace must not make the watcher take an event-loop turn
per object before it reads the next namespace's event: on a busy loop each turn is every
runnable task of the burst.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import kopf
import pytest
from kopf._cogs.aiokits import aiotasks
from kopf._cogs.clients import watching
from kopf._cogs.structs import references
from kopf._core.reactor import queueing

from batch_image_operator.handlers import kopf_reactor

BURST = 300
RESOURCE = references.Resource("batchimage.dev", "v1alpha1", "batchpools")


def event(namespace: str, i: int) -> dict[str, Any]:
    return {"type": "ADDED", "object": {"metadata": {
        "namespace": namespace, "name": f"p{i}", "uid": f"{namespace}-{i}"}}}


async def turns_until_probe_processed(busy_turns_per_object: int) -> int:
    """Loop turns from the start of a watch stream holding BURST new objects of namespace
    `burst` then one of `probe`, all already received, until the probe's event reaches
    its worker. Each burst object's worker keeps the loop busy for some turns, as
    handlers on a loaded operator do."""
    turns = 0
    probed = asyncio.get_running_loop().create_future()

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    async def stream(**_: Any) -> AsyncIterator[Any]:
        for i in range(BURST):
            yield event("burst", i)
        yield event("probe", 0)
        await asyncio.Event().wait()

    async def processor(*, raw_event: dict[str, Any], **_: Any) -> None:
        if raw_event["object"]["metadata"]["namespace"] == "probe":
            if not probed.done():
                probed.set_result(turns)
            return
        for _ in range(busy_turns_per_object):
            await asyncio.sleep(0)

    settings = kopf.OperatorSettings()
    settings.queueing.idle_timeout = 0.01
    settings.queueing.exit_timeout = 1.0
    tick = asyncio.create_task(ticker())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(watching, "infinite_watch", stream)
        watcher = asyncio.create_task(queueing.watcher(
            namespace=None, settings=settings, resource=RESOURCE,
            processor=processor))  # type: ignore[arg-type]
        try:
            return await asyncio.wait_for(probed, timeout=60)
        finally:
            watcher.cancel()
            tick.cancel()
            await asyncio.gather(watcher, tick, return_exceptions=True)


@pytest.fixture
def reactor_change(monkeypatch: pytest.MonkeyPatch) -> None:
    # Installed through monkeypatch, so Kopf's own spawn is back after the test.
    monkeypatch.setattr(aiotasks.Scheduler, "spawn", kopf_reactor._spawn)


async def test_a_burst_does_not_hold_the_next_namespaces_event(reactor_change: None) -> None:
    turns = await turns_until_probe_processed(busy_turns_per_object=20)
    # A turn or two to read the stream, one to start the probe's worker: not one per
    # object of the burst ahead of it.
    assert turns < 10, turns


async def test_kopfs_own_spawn_takes_a_turn_per_new_object() -> None:
    """What the change is for, shown on Kopf's own spawn (and kept true while it is)."""
    turns = await turns_until_probe_processed(busy_turns_per_object=20)
    assert turns >= BURST, turns


def test_install_replaces_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiotasks.Scheduler, "spawn", aiotasks.Scheduler.spawn)
    kopf_reactor.read_watch_streams_without_yielding()
    assert aiotasks.Scheduler.spawn is kopf_reactor._spawn
