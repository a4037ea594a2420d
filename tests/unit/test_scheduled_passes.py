"""The passes nobody asked for (runner/scheduled.py): run when due, from the object's
newest indexed body and remembered status; never for an object deleted or gone; cut
short by a deletion; a failed status write waits before trying again."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from typing import Any

import kopf
import pytest
from kopf._core.engines.indexing import Index

from batch_image_operator.config import Settings
from batch_image_operator.models.conditions import TRUE, Condition
from batch_image_operator.models.reasons import Reason
from batch_image_operator.planning.scope import AzureScope
from batch_image_operator.reconcilers.common import invalid_outcome
from batch_image_operator.reconcilers.kind import Gateways, Kind
from batch_image_operator.reconcilers.outcome import Outcome
from batch_image_operator.reconcilers.policy import Gated
from batch_image_operator.runner import run as passes
from batch_image_operator.runner.descriptor import Call, KindPass
from batch_image_operator.runner.identities import Identity
from batch_image_operator.runner.kinds import POOLS
from batch_image_operator.runner.runtime import Runtime
from batch_image_operator.runner.scheduled import ScheduledPasses, body_entry
from helpers.azure_fakes import SUB

UID = "pool-uid"
READY = Outcome(status={"poolId": "render"},
                conditions=[Condition("Ready", TRUE, Reason.STEADY, "pool is steady")])
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class StatusApi:
    def __init__(self) -> None:
        self.writes: list[dict[str, Any]] = []
        self.down = False
        self.failed_at: list[float] = []
        self.called = asyncio.Event()

    async def patch_status(self, group: str, version: str, plural: str,
                           namespace: str | None, name: str, status: dict[str, Any]) -> bool:
        self.called.set()
        if self.down:
            self.failed_at.append(time.monotonic())
            raise TimeoutError("API server unreachable")
        self.writes.append(copy.deepcopy(status))
        return True

    async def calls(self, n: int) -> None:
        while len(self.writes) + len(self.failed_at) < n:
            self.called.clear()
            await self.called.wait()


class Step:
    """A reconcile step that records the spec and body of each pass; ``gate`` holds it."""

    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        self.called = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.cancelled = asyncio.Event()
        self.started_at: list[float] = []

    async def __call__(self, spec: Any, ctx: Call, gw: Gated, settings: Settings) -> Outcome:
        self.specs.append(spec)
        self.started_at.append(time.monotonic())
        self.bodies.append(dict(ctx.body))
        self.called.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        # A new status each pass: each pass has something to write.
        return Outcome(status={**READY.status, "pass": len(self.specs)},
                       conditions=READY.conditions)

    async def passes(self, n: int) -> None:
        while len(self.specs) < n:
            self.called.clear()
            await self.called.wait()


def kind_of(step: Step) -> KindPass[Any, Call]:
    return KindPass(POOLS, Kind("BatchPool", lambda name, raw, settings: dict(raw),
                                invalid_outcome,
                                lambda spec, ctx, settings, deleting: AzureScope(),
                                step, step),
                    lambda runtime, call: call)


def raw_body(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "batchimage.dev/v1alpha1", "kind": "BatchPool",
            "metadata": {"name": "render", "namespace": "ns", "uid": UID, "generation": 2,
                         "resourceVersion": "41", "managedFields": [{"manager": "kubectl"}],
                         "annotations": {LAST_APPLIED: "{...}", "team": "render"}, **meta},
            "spec": {"vmSize": "STANDARD_D2S_V3"},
            "status": {"poolId": "stale"}}


class Operator:
    """A runtime, its scheduled passes running, and the bodies index Kopf would keep."""

    def __init__(self, rt: Runtime, step: Step) -> None:
        self.rt, self.step, self.kind = rt, step, kind_of(step)
        self.bodies: Index[str, str] = Index()
        self.scheduled = ScheduledPasses(rt, [self.kind])
        self.scheduled.bind({self.kind.bodies: self.bodies, "patch": object()})

    def index(self, raw: dict[str, Any]) -> None:
        self.bodies._replace(("ns", "render"), body_entry(UID, raw))

    async def first_pass(self, raw: dict[str, Any]) -> None:
        """What the create handler does: index the body, pass the object."""
        self.index(raw)
        body = kopf.Body(copy.deepcopy(raw))  # type: ignore[arg-type]
        await passes.run_pass(self.rt, self.kind,
                              Call("render", "ns", body["spec"], body, UID,
                                   {self.kind.bodies: self.bodies}), force=True)


@pytest.fixture
async def op(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Operator]:
    rt = Runtime(Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                    "BIO_ALLOWLIST_FILE": "unrestricted",
                                    "BIO_POLL_INTERVAL": "0.2",
                                    "BIO_DRIFT_INTERVAL": "300"}), {})
    rt.kube = StatusApi()  # type: ignore[assignment]
    rt.identities.default = Identity(None, Gateways())  # type: ignore[arg-type]
    monkeypatch.setattr(passes, "post_events", lambda events, body: None)
    operator = Operator(rt, Step())
    try:
        yield operator
    finally:
        await operator.scheduled.stop()


def api(op: Operator) -> StatusApi:
    return op.rt.kube  # type: ignore[return-value]


async def test_a_due_object_is_passed_from_its_newest_indexed_body(op: Operator) -> None:
    await op.first_pass(raw_body())
    edited = raw_body(generation=3)
    edited["spec"]["vmSize"] = "STANDARD_D4S_V3"
    op.index(edited)  # a later event; no pass asked for
    op.rt.scheduler.nudge(UID)
    await asyncio.wait_for(op.step.passes(2), 5)
    assert op.step.specs[1] == {"vmSize": "STANDARD_D4S_V3"}
    body = op.step.bodies[1]
    # Its status is the one the last pass wrote (memory), never a body's stale copy.
    assert "status" not in body
    assert op.rt.memory.status_of(UID, body)["poolId"] == "render"
    # What no pass reads is not kept for thousands of objects between their passes.
    assert "managedFields" not in body["metadata"]
    assert body["metadata"]["annotations"] == {"team": "render"}
    assert body["metadata"]["generation"] == 3


async def test_nothing_is_passed_before_its_first_pass(op: Operator) -> None:
    op.index(raw_body())
    op.rt.scheduler.nudge(UID)
    op.rt.scheduler.arm(UID)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(op.step.passes(1), 0.3)


async def test_an_object_gone_without_its_deletion_pass_is_forgotten(op: Operator) -> None:
    """Its finalizer removed by hand: Kopf drops it from its indexes, and no pass may run
    on a body that no longer exists (it would re-create the Azure pool)."""
    await op.first_pass(raw_body())
    forgotten = asyncio.Event()
    forget = op.rt.forget

    def spy(uid: str) -> None:
        forget(uid)
        forgotten.set()

    op.rt.forget = spy  # type: ignore[method-assign]
    op.bodies._discard(("ns", "render"))
    op.rt.scheduler.nudge(UID)
    await asyncio.wait_for(forgotten.wait(), 5)
    assert not op.rt.scheduler.has_passed(UID)
    assert len(op.step.specs) == 1
    assert op.rt.memory.status_of(UID, {}) == {}


async def test_an_object_being_deleted_gets_no_reconcile_pass(op: Operator) -> None:
    await op.first_pass(raw_body())
    op.index(raw_body(deletionTimestamp="2026-12-03T05:00:00Z"))
    op.rt.scheduler.nudge(UID)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(op.step.passes(2), 0.3)


async def test_a_deletion_cuts_the_pass_in_flight_short_and_ends_them(op: Operator) -> None:
    await op.first_pass(raw_body())
    op.step.gate = asyncio.Event()
    op.rt.scheduler.nudge(UID)
    await asyncio.wait_for(op.step.passes(2), 5)
    assert len(op.scheduled) == 1
    op.scheduled.cancel(UID)  # what the delete handler does first
    await asyncio.wait_for(op.step.cancelled.wait(), 5)
    async with op.rt.scheduler.lock(UID):  # the deletion pass gets the lock at once
        pass
    op.step.gate.set()
    op.rt.scheduler.nudge(UID)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(op.step.passes(3), 0.3)
    assert len(op.scheduled) == 0


async def test_a_failed_status_write_is_retried_after_the_delay_not_at_once(
        op: Operator) -> None:
    await op.first_pass(raw_body())
    api(op).down = True
    op.rt.scheduler.nudge(UID)
    await asyncio.wait_for(api(op).calls(2), 5)
    api(op).down = False
    await asyncio.wait_for(api(op).calls(3), 5)
    assert len(op.step.specs) == 3 and api(op).writes[1]["pass"] == 3
    # The next try came after the poll interval (0.2 s), not at once.
    assert op.step.started_at[2] - api(op).failed_at[0] >= 0.19
