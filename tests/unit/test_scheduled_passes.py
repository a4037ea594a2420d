"""The passes nobody asked for (runner/scheduled.py): run when due, from the object's
newest indexed body and remembered status; never for an object deleted or gone; cut
short by a deletion; a failed status write waits before trying again."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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

    def __init__(self, first: Outcome | None = None) -> None:
        self.first = first  # the first pass's outcome, when not READY's
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
        if self.first is not None and len(self.specs) == 1:
            return copy.deepcopy(self.first)
        # A new status each pass: each pass has something to write.
        return Outcome(status={**READY.status, "pass": len(self.specs)},
                       conditions=READY.conditions)

    async def passes(self, n: int) -> None:
        while len(self.specs) < n:
            self.called.clear()
            await self.called.wait()


Between = Callable[[Runtime, Call], Awaitable[None]]


def kind_of(step: Step, between: Between | None = None) -> KindPass[Any, Call]:
    return KindPass(POOLS, Kind("BatchPool", lambda name, raw, settings: dict(raw),
                                invalid_outcome,
                                lambda spec, ctx, settings, deleting: AzureScope(),
                                step, step),
                    lambda runtime, call: call, between=between)


def raw_body(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "batchimage.dev/v1alpha1", "kind": "BatchPool",
            "metadata": {"name": "render", "namespace": "ns", "uid": UID, "generation": 2,
                         "resourceVersion": "41", "managedFields": [{"manager": "kubectl"}],
                         "annotations": {LAST_APPLIED: "{...}", "team": "render"}, **meta},
            "spec": {"vmSize": "STANDARD_D2S_V3"},
            "status": {"poolId": "stale"}}


class Operator:
    """A runtime, its scheduled passes running, and the bodies index Kopf would keep."""

    def __init__(self, rt: Runtime, step: Step, between: Between | None = None) -> None:
        self.rt, self.step, self.kind = rt, step, kind_of(step, between)
        self.bodies: Index[str, str] = Index()
        self.scheduled = ScheduledPasses(rt, [self.kind])
        self.fired: list[float] = []
        self.fired_event = asyncio.Event()
        fire = self.scheduled._fire

        def counted(uid: str) -> None:
            self.fired.append(time.monotonic())
            self.fired_event.set()
            fire(uid)

        self.scheduled._fire = counted  # type: ignore[method-assign]
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


def new_runtime(**env: str) -> Runtime:
    rt = Runtime(Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                    "BIO_ALLOWLIST_FILE": "unrestricted",
                                    "BIO_POLL_INTERVAL": "0.2",
                                    "BIO_DRIFT_INTERVAL": "300", **env}), {})
    rt.kube = StatusApi()  # type: ignore[assignment]
    rt.identities.default = Identity(None, Gateways())  # type: ignore[arg-type]
    return rt


@pytest.fixture(autouse=True)
def no_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passes, "post_events", lambda events, body: None)


@contextlib.asynccontextmanager
async def running(step: Step, between: Between | None = None) -> AsyncIterator[Operator]:
    operator = Operator(new_runtime(), step, between)
    try:
        yield operator
    finally:
        await operator.scheduled.stop()


@pytest.fixture
async def op() -> AsyncIterator[Operator]:
    async with running(Step()) as operator:
        yield operator


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
    forgotten = spy_forget(op)
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
    op.index(raw_body(deletionTimestamp="2026-12-03T05:00:00Z"))  # Kopf indexes first
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


async def test_an_object_deleted_then_its_finalizer_removed_by_hand_is_forgotten(
        op: Operator) -> None:
    """Its deletion waits (a pool still uses the image, say), then someone strips the
    finalizer: no deletion pass ever ends, yet nothing of it may stay in memory or in
    the metrics."""
    await op.first_pass(raw_body())
    assert objects_counted(op) == 1  # batchimage_objects
    op.index(raw_body(deletionTimestamp="2026-12-03T05:00:00Z"))
    op.scheduled.cancel(UID)  # the delete handler; its pass keeps waiting
    op.bodies._discard(("ns", "render"))  # the finalizer gone, the object with it
    forgotten = spy_forget(op)
    op.rt.scheduler.nudge(UID)  # or the drift interval
    await asyncio.wait_for(forgotten.wait(), 5)
    assert op.rt.memory.status_of(UID, {}) == {}
    assert objects_counted(op) == 0
    assert len(op.step.specs) == 1


async def test_a_pass_waiting_behind_an_edit_sees_the_pause_that_came_meanwhile(
        op: Operator) -> None:
    await op.first_pass(raw_body())
    async with op.rt.scheduler.lock(UID):  # an edit's pass holds the object
        op.rt.scheduler.nudge(UID)
        await asyncio.wait_for(op.fired_event.wait(), 5)
        op.index(raw_body(annotations={"batchimage.dev/paused": "true"}))
    await asyncio.wait_for(api(op).calls(2), 5)
    assert len(op.step.specs) == 1  # no Azure call on the older, unpaused body
    assert [c["type"] for c in api(op).writes[1]["conditions"]] == ["Ready", "Paused"]


async def test_an_image_ticks_each_interval_between_its_passes() -> None:
    """Between passes an image keeps `usedBy` in step each poll interval (0.2 s here):
    the ticks keep coming, never faster than that, and a failed tick's write moves
    neither its next full pass nor its next tick."""
    ticks: list[float] = []
    third = asyncio.Event()

    async def keep_users(rt: Runtime, call: Call) -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 3:
            third.set()
        if len(ticks) == 1:
            raise kopf.TemporaryError("writing status: API server unreachable", delay=10)

    async with running(Step(), keep_users) as op:
        op.index(raw_body())
        op.scheduled.request(op.kind, UID, None)  # its create handler
        await asyncio.wait_for(api(op).calls(1), 5)  # next full pass in 300 s (drift)
        due = op.rt.scheduler._due[UID]
        await asyncio.wait_for(third.wait(), 5)
        assert all(b - a >= 0.15 for a, b in itertools.pairwise(ticks))
        assert op.rt.scheduler._due[UID] == due
        assert len(op.step.specs) == 1


async def test_azures_retry_after_holds_the_next_pass_without_spinning() -> None:
    """Azure said Retry-After 0.3 s on a pass due again at once: the next pass waits for
    it, and the object is not handed out over and over meanwhile."""
    held = Outcome(conditions=[Condition("Ready", TRUE, Reason.STEADY, "throttled")],
                   requeue=0.0, hold_off=0.3)
    async with running(Step(first=held)) as op:
        await op.first_pass(raw_body())
        ended = time.monotonic()
        await asyncio.wait_for(op.step.passes(2), 5)
        assert op.step.started_at[1] - ended >= 0.25
        assert len(op.fired) <= 2


def objects_counted(op: Operator) -> float:
    text = op.rt.metrics.exposition().decode()
    return sum(float(m[1]) for m in re.finditer(r"^batchimage_objects\{[^}]*\} (\S+)$", text,
                                                re.M))


def spy_forget(op: Operator) -> asyncio.Event:
    """Set once the runtime forgets an object."""
    forgotten = asyncio.Event()
    forget = op.rt.forget

    def spy(uid: str) -> None:
        forget(uid)
        forgotten.set()

    op.rt.forget = spy  # type: ignore[method-assign]
    return forgotten


async def test_an_edit_is_passed_at_once_even_when_not_due(op: Operator) -> None:
    """Kopf's create/update/resume handlers ask for a pass and return: it runs from the
    scheduler at once, although the last pass scheduled the next for the drift interval."""
    await op.first_pass(raw_body())
    assert not op.rt.scheduler.is_due(UID)
    edited = raw_body(generation=3)
    op.index(edited)
    op.scheduled.request(op.kind, UID, edited.get("status"))
    await asyncio.wait_for(op.step.passes(2), 5)
    assert api(op).writes[-1]["observedGeneration"] == 3


async def test_after_a_restart_the_first_pass_starts_from_the_bodys_status(
        op: Operator) -> None:
    """A pass reads its status from memory, and a restarted process remembers nothing:
    the resume handler's body seeds it. A status this process wrote itself is newer and
    is kept."""
    recorded = {"poolId": "render", "resizeAttempts": 2}
    op.index(raw_body())
    op.scheduled.request(op.kind, UID, recorded)
    await asyncio.wait_for(op.step.passes(1), 5)
    assert op.rt.memory.status_of(UID, {})["resizeAttempts"] == 2
    op.scheduled.request(op.kind, UID, {"poolId": "stale"})  # an older body's, after our write
    await asyncio.wait_for(op.step.passes(2), 5)
    assert op.rt.memory.status_of(UID, {})["resizeAttempts"] == 2


def one_slot_runtime() -> Runtime:
    """One Azure slot, so two passes admitted at a time."""
    return new_runtime(BIO_AZURE_CONCURRENCY="1")


async def until(condition: Callable[[], bool]) -> None:
    """Zero-time loop turns until ``condition`` holds (the caller bounds the wait): the
    state watched has no event of its own to await."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0)


def count_reads(operator: Operator) -> list[str]:
    """The uids whose body a pass read before its lock (what an admitted pass does)."""
    reads: list[str] = []
    call = operator.scheduled._call

    def counted(uid: str) -> Call | None:
        reads.append(uid)
        return call(uid)

    operator.scheduled._call = counted  # type: ignore[method-assign]
    return reads


def add_pool(operator: Operator, namespace: str, name: str, **meta: Any) -> str:
    """Index a pool as Kopf would and ask for its pass, as its create handler does."""
    uid = f"{namespace}-{name}"
    raw = raw_body(name=name, namespace=namespace, uid=uid, **meta)
    raw["spec"]["name"] = name
    operator.bodies._replace((namespace, name), body_entry(uid, raw))
    operator.scheduled.request(operator.kind, uid, None)
    return uid


async def test_a_pass_whose_object_is_deleted_while_it_waits_to_be_admitted_never_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    step = Step()
    step.gate = asyncio.Event()
    operator = Operator(one_slot_runtime(), step)
    try:
        for name in ("p0", "p1", "p2"):
            add_pool(operator, "burst", name)
        await asyncio.wait_for(step.passes(1), 5)
        # p2 waits to be admitted; its deletion starts meanwhile (Kopf indexes it first).
        raw = raw_body(name="p2", namespace="burst", uid="burst-p2",
                       deletionTimestamp="2026-12-03T08:00:00Z")
        operator.bodies._replace(("burst", "p2"), body_entry("burst-p2", raw))
        step.gate.set()
        step.gate = None
        await asyncio.wait_for(step.passes(2), 5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(step.passes(3), 0.3)
        assert [spec["name"] for spec in step.specs] == ["p0", "p1"]
        assert "scheduled pass failed" not in caplog.text
    finally:
        await operator.scheduled.stop()


async def test_a_burst_is_admitted_a_few_passes_at_a_time_and_in_turn() -> None:
    """Only admitted passes (twice the Azure slots) read their object and queue for an
    Azure slot: at 5,000 objects thousands of passes queued there, each holding its
    parsed body (peak RSS ~60 MB higher). A namespace with no pass admitted gets one at
    once, so a late namespace is not queued behind the rest of a burst."""
    rt = one_slot_runtime()
    step = Step()
    step.gate = asyncio.Event()
    operator = Operator(rt, step)
    try:
        reads = count_reads(operator)
        for i in range(6):
            add_pool(operator, "burst", f"p{i}")
        await asyncio.wait_for(step.passes(1), 5)
        await asyncio.wait_for(until(lambda: rt.fairshare.waiting() == {"burst": 1}), 5)
        await asyncio.wait_for(until(lambda: len(operator.fired) == 6), 5)
        # One pass in Azure, one waiting for the slot; four wait before reading anything.
        assert rt.fairshare.waiting() == {"burst": 1}
        assert sorted(set(reads)) == ["burst-p0", "burst-p1"]
        add_pool(operator, "late", "q0")
        while len(operator.fired) < 7:  # the late pass is fired and waits its turn
            operator.fired_event.clear()
            await asyncio.wait_for(operator.fired_event.wait(), 5)
        for n in range(2, 8):
            step.gate.set()
            step.gate = asyncio.Event()
            await asyncio.wait_for(step.passes(n), 5)
        step.gate.set()
        served = [spec["name"] for spec in step.specs]
        # Admitted at once (its namespace had none), it queued for the Azure slot.
        assert served == ["p0", "p1", "q0", "p2", "p3", "p4", "p5"]
    finally:
        await operator.scheduled.stop()


async def test_an_images_tick_does_not_queue_behind_its_namespaces_burst() -> None:
    """An image keeps `usedBy` in step between its passes; that tick calls no Azure API,
    so it is not admitted and does not wait for the burst's passes to end."""
    ticks = asyncio.Event()

    async def keep_users(rt: Runtime, call: Call) -> None:
        if call.uid == UID:
            ticks.set()

    rt = one_slot_runtime()
    step = Step()
    operator = Operator(rt, step, keep_users)
    try:
        operator.index(raw_body())
        operator.scheduled.request(operator.kind, UID, None)  # its create handler
        await asyncio.wait_for(api(operator).calls(1), 5)
        step.gate = asyncio.Event()  # Azure is slow now: the burst's passes stay admitted
        for i in range(3):
            add_pool(operator, "ns", f"p{i}")
        await asyncio.wait_for(step.passes(2), 5)
        ticks.clear()
        await asyncio.wait_for(ticks.wait(), 5)
        step.gate.set()
    finally:
        await operator.scheduled.stop()
