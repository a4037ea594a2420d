"""Passes for one object are serialised: a pass held up mid-write cannot have its older
status land after the status of a newer pass that started meanwhile.

The passes are asked for by the registered Kopf handlers themselves, on the pause path
(no Azure call), and run from the body index as Kopf would keep it; a fake Kubernetes
API holds the first status write until the second pass has had every chance to run
ahead of it.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import kopf
import pytest
from kopf._core.engines.indexing import Index
from kopf._core.intents.causes import Reason

from batch_image_operator.config import Settings
from batch_image_operator.handlers.registration import register
from batch_image_operator.reconcilers.kind import Gateways
from batch_image_operator.runner import run as passes
from batch_image_operator.runner.identities import Identity
from batch_image_operator.runner.runtime import Runtime
from batch_image_operator.runner.scheduled import body_entry

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
UID = "pool-uid"


class HeldKube:
    """Records the status writes in the order they land; holds the first one."""

    def __init__(self) -> None:
        self.landed: list[dict[str, Any]] = []
        self.held: dict[str, Any] | None = None
        self.first_entered = asyncio.Event()
        self.release_first = asyncio.Event()
        self.changed = asyncio.Event()

    async def patch_status(self, group: str, version: str, plural: str,
                           namespace: str | None, name: str, status: dict[str, Any]) -> bool:
        if not self.first_entered.is_set():
            self.held = copy.deepcopy(status)
            self.first_entered.set()
            await self.release_first.wait()
        self.landed.append(copy.deepcopy(status))
        self.changed.set()
        return True

    async def until_landed(self, generation: int) -> None:
        while not self.landed or self.landed[-1].get("observedGeneration") != generation:
            self.changed.clear()
            await self.changed.wait()


def pool_body(generation: int, kind: str = "BatchPool") -> dict[str, Any]:
    return {"apiVersion": "batchimage.dev/v1alpha1", "kind": kind,
            "metadata": {"name": "render-pool", "namespace": "default", "uid": UID,
                         "generation": generation,
                         "annotations": {"batchimage.dev/paused": "true"}},
            "spec": {"vmSize": "Standard_D4s_v3"}}


def registered(monkeypatch: pytest.MonkeyPatch) -> tuple[kopf.OperatorRegistry, Runtime,
                                                          HeldKube]:
    """The operator's handlers registered, its status writes going to a HeldKube."""
    registry = kopf.OperatorRegistry()
    runtime = register(registry, Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                                   "BIO_ALLOWLIST_FILE": "unrestricted"}), {},
                       kube_login=lambda **_: None)
    kube = HeldKube()
    runtime.kube = kube  # type: ignore[assignment]
    monkeypatch.setattr(passes, "post_events", lambda events, body: None)
    return registry, runtime, kube


@pytest.mark.parametrize("kind", ["BatchPool", "ManagedImage"])
async def test_an_older_pass_held_mid_write_never_lands_after_a_newer_one(
        monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    registry, runtime, kube = registered(monkeypatch)
    handler = next(h for h in registry._changing.get_all_handlers()
                   if h.id == f"reconcile_{kind.lower()}" and h.reason is Reason.UPDATE)

    plural = "batchpools" if kind == "BatchPool" else "managedimages"
    bodies: Index[str, str] = Index()

    async def run_pass(generation: int) -> None:
        """What Kopf does on an event: index the body, then call the handler."""
        body = pool_body(generation, kind)
        bodies._replace(("default", "render-pool"), body_entry(UID, body))
        await handler.fn(name="render-pool", namespace="default", spec=body["spec"],
                         body=body, uid=UID, image_index=Index(), pool_index=Index(),
                         lineage_index=Index(), **{f"{plural}_bodies": bodies})

    await run_pass(1)
    await kube.first_entered.wait()
    await run_pass(2)  # the user edited the spec while the first write hangs
    # Zero-time loop turns, not a sleep: unserialised, the newer pass reaches and
    # finishes its write within a few of them.
    for _ in range(100):
        await asyncio.sleep(0)
    kube.release_first.set()
    try:
        await asyncio.wait_for(kube.until_landed(2), 5)
        for _ in range(100):  # and nothing older lands after it
            await asyncio.sleep(0)
    finally:
        runtime.kube = None  # the fake has nothing to close
        await stop_scheduled(registry)

    assert [s.get("observedGeneration") for s in kube.landed][-1] == 2, kube.landed
    assert runtime.memory.status_of(UID, {}).get("observedGeneration") == 2


async def stop_scheduled(registry: kopf.OperatorRegistry) -> None:
    """What Kopf's cleanup does at exit (stops the scheduled passes' loop)."""
    cleanup = next(h for h in registry._activities.get_all_handlers() if h.id == "cleanup")
    await cleanup.fn()


async def test_a_deletion_does_not_wait_for_the_pass_in_flight(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The delete handler cuts the object's reconcile pass short: held in its status
    write, that pass would keep the object's lock, and the deletion would wait behind it
    (behind an Azure call as slow as Azure, in real life)."""
    registry, runtime, kube = registered(monkeypatch)
    runtime.identities.default = Identity(None, Gateways())  # type: ignore[arg-type]
    handlers = {(h.id, h.reason): h for h in registry._changing.get_all_handlers()}
    bodies: Index[str, str] = Index()
    body = pool_body(1)
    body["spec"] = {}  # nothing valid to create or delete in Azure
    kwargs = dict(name="render-pool", namespace="default", spec=body["spec"], uid=UID,
                  image_index=Index(), pool_index=Index(), lineage_index=Index(),
                  batchpools_bodies=bodies)
    bodies._replace(("default", "render-pool"), body_entry(UID, body))
    await handlers["reconcile_batchpool", Reason.CREATE].fn(body=body, **kwargs)
    await kube.first_entered.wait()  # the pass now holds the lock, held in its write
    deleting = copy.deepcopy(body)
    deleting["metadata"]["deletionTimestamp"] = "2026-12-03T08:00:00Z"
    bodies._replace(("default", "render-pool"), body_entry(UID, deleting))
    try:
        await asyncio.wait_for(
            handlers["delete_batchpool", Reason.DELETE].fn(body=deleting, **kwargs), 5)
    finally:
        kube.release_first.set()
        runtime.kube = None
        runtime.identities.default = None  # the fake has nothing to close
        await stop_scheduled(registry)
    assert kube.held is not None and kube.held.get("conditions")  # the pass's write...
    assert kube.held not in kube.landed  # ...never landed: the pass was cut short
