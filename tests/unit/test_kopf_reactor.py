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


async def test_kopfs_own_spawn_takes_a_turn_per_new_object(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the change is for, shown on Kopf's own spawn (and kept true while it is)."""
    # The suites' in-process operator installs the change process-wide: undo it here.
    monkeypatch.setattr(aiotasks.Scheduler, "spawn", kopf_reactor.KOPF_OWN_SPAWN)
    turns = await turns_until_probe_processed(busy_turns_per_object=20)
    assert turns >= BURST, turns


def test_install_replaces_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    # From Kopf's own: the suites' operator may have installed the change already.
    monkeypatch.setattr(aiotasks.Scheduler, "spawn", kopf_reactor.KOPF_OWN_SPAWN)
    kopf_reactor.read_watch_streams_without_yielding()
    assert aiotasks.Scheduler.spawn is kopf_reactor._spawn


def test_install_puts_both_changes_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from kopf._core.reactor import processing
    monkeypatch.setattr(aiotasks.Scheduler, "spawn", kopf_reactor.KOPF_OWN_SPAWN)
    monkeypatch.setattr(processing, "process_resource_event", kopf_reactor.KOPF_PROCESS)
    kopf_reactor.install(kube_connections=2)
    assert aiotasks.Scheduler.spawn is kopf_reactor._spawn
    assert processing.process_resource_event is not kopf_reactor.KOPF_PROCESS


class Toggled:
    """Kopf's operator_indexed ToggleSet, as the wrapper reads it."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def is_on(self) -> bool:
        return self.on


@pytest.fixture
def taken_up(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], asyncio.Event]:
    """The take-up bound installed (2 at a time) over a stand-in for Kopf's processing
    that records which object started and holds it until released."""
    from kopf._core.reactor import processing
    started: list[str] = []
    release = asyncio.Event()

    async def kopfs_processing(*, raw_event: dict[str, Any], **_: Any) -> None:
        started.append(raw_event["object"]["metadata"]["name"])
        await release.wait()

    monkeypatch.setattr(kopf_reactor, "KOPF_PROCESS", kopfs_processing)
    monkeypatch.setattr(processing, "process_resource_event", processing.process_resource_event)
    kopf_reactor.take_up_new_objects_in_turn(2)
    return started, release


def named(kind: str | None, namespace: str, name: str) -> dict[str, Any]:
    return {"type": kind, "object": {"metadata": {"namespace": namespace, "name": name}}}


async def process(kind: str | None, namespace: str, name: str, *,
                  indexed: Toggled | None = None) -> None:
    """``indexed``: the toggle Kopf's watcher hands a new worker. Once every object has
    been indexed it hands None (queueing.watcher): the case of every burst."""
    from kopf._core.reactor import processing
    await processing.process_resource_event(  # type: ignore[call-arg]
        raw_event=named(kind, namespace, name), operator_indexed=indexed)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_another_namespaces_new_object_is_taken_up_before_a_bursts_queued_ones(
        taken_up: tuple[list[str], asyncio.Event]) -> None:
    started, release = taken_up
    tasks = [asyncio.create_task(process("ADDED", "burst", f"b{i}")) for i in range(5)]
    await settle()
    assert started == ["b0", "b1"]  # at most 2 at a time; the rest wait their turn
    tasks.append(asyncio.create_task(process("ADDED", "probe", "p")))
    await settle()
    assert started == ["b0", "b1", "p"]  # a namespace with none under way: at once
    release.set()
    await asyncio.gather(*tasks)
    assert started[3:] == ["b2", "b3", "b4"]


async def test_edits_listings_and_the_first_indexing_are_not_bounded(
        taken_up: tuple[list[str], asyncio.Event]) -> None:
    started, release = taken_up
    tasks = [asyncio.create_task(process(kind, "burst", f"{kind}{i}"))
             for kind in ("MODIFIED", None) for i in range(3)]
    # Before every object is indexed, a bound would wait on itself: none applies.
    tasks += [asyncio.create_task(process("ADDED", "burst", f"early{i}",
                                          indexed=Toggled(False))) for i in range(3)]
    await settle()
    assert len(started) == 9, started
    release.set()
    await asyncio.gather(*tasks)


async def test_a_worker_started_once_indexing_is_over_is_bounded_either_way(
        taken_up: tuple[list[str], asyncio.Event]) -> None:
    """Kopf may also hand a set that has since turned on: bounded like None."""
    started, release = taken_up
    tasks = [asyncio.create_task(process("ADDED", "burst", f"b{i}", indexed=Toggled(True)))
             for i in range(4)]
    await settle()
    assert started == ["b0", "b1"]
    release.set()
    await asyncio.gather(*tasks)


def test_the_take_up_bound_is_installed_over_kopfs_processing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kopf._core.reactor import processing
    monkeypatch.setattr(processing, "process_resource_event", kopf_reactor.KOPF_PROCESS)
    kopf_reactor.take_up_new_objects_in_turn(4)
    assert processing.process_resource_event is not kopf_reactor.KOPF_PROCESS
