"""The one pass runner (runner/run.py), driven directly with a fake status API and a
fake kind descriptor standing in for the reconcilers: when a pass runs at all, what it
writes, what it schedules, and when a deletion lets the finalizer go. The real
descriptors of both kinds are driven through it too, to show that neither can skip the
policy gate, the pause annotation or the object's lock."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import kopf
import pytest

from batch_image_operator.config import Settings
from batch_image_operator.models.allowlist import AllowList
from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.models.conditions import FALSE, TRUE, Condition
from batch_image_operator.models.reasons import Reason
from batch_image_operator.models.references import ImageInfo
from batch_image_operator.planning.scope import AzureScope
from batch_image_operator.reconcilers.common import invalid_outcome
from batch_image_operator.reconcilers.kind import Gateways, Kind
from batch_image_operator.reconcilers.outcome import Event, Outcome
from batch_image_operator.reconcilers.policy import Gated
from batch_image_operator.runner import run as passes
from batch_image_operator.runner.descriptor import Call, KindPass
from batch_image_operator.runner.identities import Identity
from batch_image_operator.runner.kinds import BATCH_POOLS, KINDS, POOLS
from batch_image_operator.runner.run import WAITING
from batch_image_operator.runner.runtime import Runtime
from helpers.azure_fakes import SUB, FakeAccounts, FakeAzure, FakeCompute, FakePools, P

UID = "pool-uid"


class StatusApi:
    def __init__(self) -> None:
        self.writes: list[dict[str, Any]] = []

    async def patch_status(self, group: str, version: str, plural: str,
                           namespace: str | None, name: str, status: dict[str, Any]) -> bool:
        self.writes.append(copy.deepcopy(status))
        return True


class Step:
    """A reconciler's step that returns ``outcome`` and counts its calls."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome, self.calls = outcome, 0

    async def __call__(self, spec: Any, ctx: Any, gw: Gated, settings: Settings) -> Outcome:
        self.calls += 1
        return copy.deepcopy(self.outcome)


@dataclasses.dataclass(frozen=True)
class Ctx:
    namespace: str | None


Between = Callable[[Runtime, Call], Awaitable[None]]
NOTHING = AzureScope()  # a scope naming no id: the gate lets it through


def fake_kind(step: Step, *, between: Between | None = None,
              scope: AzureScope = NOTHING) -> KindPass[Any, Ctx]:
    """A kind whose spec is anything, whose scope is ``scope`` and whose steps are ``step``."""
    return KindPass(POOLS, Kind("BatchPool", lambda name, raw, settings: dict(raw),
                                invalid_outcome, lambda spec, ctx, settings, deleting: scope,
                                step, step),
                    lambda runtime, call: Ctx(call.namespace), between=between)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Runtime:
    rt = Runtime(Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                    "BIO_ALLOWLIST_FILE": "unrestricted",
                                    "BIO_DRIFT_INTERVAL": "300"}), {})
    rt.kube = StatusApi()  # type: ignore[assignment]
    rt.identities.default = Identity(None, Gateways())  # type: ignore[arg-type]
    posted: list[Event] = []
    monkeypatch.setattr(passes, "post_events", lambda events, body: posted.extend(events))
    rt.posted = posted  # type: ignore[attr-defined]
    return rt


def body(generation: int = 1, paused: bool = False, kind: str = "BatchPool",
         spec: Mapping[str, Any] | None = None) -> kopf.Body:
    annotations = {"batchimage.dev/paused": "true"} if paused else {}
    return kopf.Body({"apiVersion": "batchimage.dev/v1alpha1", "kind": kind,
                      "metadata": {"name": "render", "namespace": "ns", "uid": UID,
                                   "generation": generation, "annotations": annotations},
                      "spec": dict(spec or {})})


def call(paused: bool = False, kind: str = "BatchPool",
         spec: Mapping[str, Any] | None = None) -> Call:
    b = body(paused=paused, kind=kind, spec=spec)
    return Call("render", "ns", b["spec"], b, UID,
                {"image_index": {("ns", "ubuntu"): [READY_IMAGE]}, "pool_index": {},
                 "lineage_index": {}})


READY_IMAGE = ImageInfo("ubuntu", "img-uid", True, False,
                        f"{P}/rg-secure/providers/Microsoft.Compute/images/ubuntu", None)
READY = Outcome(status={"poolId": "render"},
                conditions=[Condition("Ready", TRUE, Reason.STEADY, "pool is steady")])


async def run(rt: Runtime, step: Step, *, force: bool = True, paused: bool = False,
              between: Between | None = None) -> None:
    await passes.run_pass(rt, fake_kind(step, between=between), call(paused=paused),
                          force=force)


async def delete(rt: Runtime, step: Step) -> None:
    await passes.run_deletion(rt, fake_kind(step), call())


def writes(rt: Runtime) -> list[dict[str, Any]]:
    return rt.kube.writes  # type: ignore[union-attr]


async def test_a_pass_writes_its_status_then_sleeps_until_the_drift_check(
        runtime: Runtime) -> None:
    step = Step(READY)
    await run(runtime, step)
    assert step.calls == 1
    [written] = writes(runtime)
    assert written["poolId"] == "render" and written["observedGeneration"] == 1
    assert [c["reason"] for c in written["conditions"]] == ["Steady"]
    assert runtime.memory.status_of(UID, {})["poolId"] == "render"
    assert not runtime.scheduler.is_due(UID)
    assert 'batchimage_reconciles_total{kind="BatchPool",result="ready"} 1.0' in \
        runtime.metrics.exposition().decode()
    await run(runtime, step)  # an edit: forced, converged, nothing new to write
    assert step.calls == 2 and len(writes(runtime)) == 1


async def test_a_daemon_pass_not_yet_due_makes_no_azure_call(runtime: Runtime) -> None:
    step = Step(READY)
    await run(runtime, step)
    between: list[str] = []

    async def keep_references(rt: Runtime, c: Call) -> None:
        between.append("usedBy")

    await run(runtime, step, force=False, between=keep_references)
    assert step.calls == 1 and between == ["usedBy"]
    runtime.scheduler.nudge(UID)
    await run(runtime, step, force=False, between=keep_references)
    assert step.calls == 2 and between == ["usedBy"]


async def test_azures_retry_after_holds_even_an_edit(runtime: Runtime) -> None:
    throttled = Outcome(conditions=[Condition("Ready", FALSE, Reason.AZURE_ERROR, "429")],
                        hold_off=60.0, requeue=60.0)
    step = Step(throttled)
    await run(runtime, step)
    await run(runtime, step)  # forced by an edit, still within Retry-After
    assert step.calls == 1 and runtime.scheduler.held_off(UID)


async def test_a_paused_object_calls_nothing_and_says_so_once(runtime: Runtime) -> None:
    step = Step(READY)
    await run(runtime, step, paused=True)
    await run(runtime, step, paused=True)
    assert step.calls == 0
    assert len(writes(runtime)) == 1
    assert [(c["type"], c["status"]) for c in writes(runtime)[0]["conditions"]] == [
        ("Paused", "True")]
    assert [e.reason for e in runtime.posted] == ["Paused"]  # type: ignore[attr-defined]


async def test_what_a_pass_asks_for_is_scheduled(runtime: Runtime) -> None:
    resized = Outcome(conditions=READY.conditions, requeue=5.0, next_resize_in=120.0,
                      nudge=["image-uid"],
                      status={"admittedNodes": {"dedicated": 3, "lowPriority": 1}})
    runtime.scheduler.begin_pass("image-uid")
    runtime.scheduler.schedule("image-uid", None)
    await run(runtime, Step(resized))
    assert 115.0 < runtime.scheduler.resize_wait(UID) <= 120.0
    assert runtime.scheduler.is_due("image-uid")  # woken at once
    assert runtime.memory.admitted[UID] == (3, 1)


async def test_a_warning_is_posted_once_while_it_lasts(runtime: Runtime) -> None:
    shared = Outcome(conditions=READY.conditions,
                     events=[Event("Warning", Reason.SHARED_IMAGE, "shares its image")])
    await run(runtime, Step(shared))
    await run(runtime, Step(shared))
    assert [e.reason for e in runtime.posted] == ["SharedImage"]  # type: ignore[attr-defined]


async def test_a_deletion_keeps_the_finalizer_until_its_outcome_is_done(
        runtime: Runtime) -> None:
    await run(runtime, Step(READY))
    waiting = Outcome(message="waiting for Azure to delete the pool", requeue=15.0)
    with pytest.raises(kopf.TemporaryError) as raised:
        await delete(runtime, Step(waiting))
    assert str(raised.value) == WAITING + "waiting for Azure to delete the pool"
    assert raised.value.delay == 15.0
    assert runtime.memory.status_of(UID, {}) != {}
    await delete(runtime, Step(Outcome(done=True)))
    # Gone: nothing of it is remembered any more.
    assert runtime.memory.status_of(UID, {}) == {}
    assert UID not in runtime.memory.admitted and not runtime.scheduler.has_passed(UID)


# --- The gate, the pause and the lock are the runner's, for both kinds -----------------

DENIED = parse_resource_id(f"{P}/rg-secure/providers/Microsoft.Compute/images/x")
ONLY_RG_IMAGES = AllowList.parse({"*": [f"{P}/rg-images"]})


def allow_only_rg_images(rt: Runtime) -> None:
    rt.settings = dataclasses.replace(rt.settings, allowlist=ONLY_RG_IMAGES)


async def test_a_pass_and_a_deletion_outside_the_allow_list_never_reach_the_step(
        runtime: Runtime) -> None:
    allow_only_rg_images(runtime)
    step = Step(READY)
    kind = fake_kind(step, scope=AzureScope(named=(DENIED,)))
    await passes.run_pass(runtime, kind, call(), force=True)
    assert step.calls == 0
    [written] = writes(runtime)
    assert [(c["type"], c["reason"]) for c in written["conditions"]] == [("Ready", "NotAllowed")]
    await passes.run_deletion(runtime, kind, call())  # done at once: the finalizer goes
    assert step.calls == 0
    # One warning while it lasts (the deletion's repeats the pass's), then forgotten.
    assert [e.reason for e in runtime.posted] == ["NotAllowed"]  # type: ignore[attr-defined]
    assert runtime.memory.status_of(UID, {}) == {}


IMAGE_SPEC = {"resourceGroup": "rg-secure", "location": "westeurope", "source": {"snapshots": {
    "osDisk": {"snapshotId": f"{P}/rg-secure/providers/Microsoft.Compute/snapshots/os",
               "osType": "Linux"}}}}
POOL_SPEC = {"account": {"resourceGroup": "rg-secure", "name": "acct"},
             "vmSize": "Standard_D2s_v3", "nodeAgentSkuId": "batch.node.ubuntu 22.04",
             "image": {"managedImageRef": {"name": "ubuntu"}},
             "scale": {"fixed": {"targetDedicatedNodes": 2}}}
SPECS = {"ManagedImage": IMAGE_SPEC, "BatchPool": POOL_SPEC}


def with_fake_azure(rt: Runtime) -> FakeAzure:
    azure = FakeAzure()
    rt.identities.default = Identity(None, Gateways(  # type: ignore[arg-type]
        FakeCompute(azure), FakePools(azure), FakeAccounts(azure)))  # type: ignore[arg-type]
    return azure


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
async def test_neither_kind_reaches_azure_outside_the_allow_list(
        runtime: Runtime, kind: KindPass[Any, Any]) -> None:
    allow_only_rg_images(runtime)
    azure = with_fake_azure(runtime)
    await passes.run_pass(runtime, kind, call(kind=kind.name, spec=SPECS[kind.name]),
                          force=True)
    assert azure.calls == []
    assert writes(runtime)[0]["conditions"][-1]["reason"] == "NotAllowed"
    # The deletion is done at once (no retry raised), still without any Azure call.
    await passes.run_deletion(runtime, kind, call(kind=kind.name, spec=SPECS[kind.name]))
    assert azure.calls == [] and runtime.memory.status_of(UID, {}) == {}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
async def test_neither_kind_calls_azure_while_paused(
        runtime: Runtime, kind: KindPass[Any, Any]) -> None:
    azure = with_fake_azure(runtime)
    paused = call(paused=True, kind=kind.name, spec=SPECS[kind.name])
    await passes.run_pass(runtime, kind, paused, force=True)
    assert azure.calls == []
    assert [(c["type"], c["status"]) for c in writes(runtime)[0]["conditions"]] == [
        ("Paused", "True")]
    await passes.run_pass(runtime, kind, call(kind=kind.name, spec=SPECS[kind.name]),
                          force=True)
    assert azure.calls != []  # resumed: the same pass unpaused does reach Azure


class HeldStep(Step):
    """A step that holds its first call until released."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def __call__(self, spec: Any, ctx: Any, gw: Gated, settings: Settings) -> Outcome:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        return await super().__call__(spec, ctx, gw, settings)


async def test_a_deletion_waits_for_the_pass_in_flight(runtime: Runtime) -> None:
    step = HeldStep(READY)
    kind = fake_kind(step)
    running = asyncio.create_task(passes.run_pass(runtime, kind, call(), force=True))
    await step.entered.wait()
    deleting = asyncio.create_task(passes.run_deletion(runtime, fake_kind(
        Step(Outcome(done=True))), call()))
    for _ in range(100):  # zero-time turns: unserialised, the deletion finishes in a few
        await asyncio.sleep(0)
    assert not deleting.done()
    step.release.set()
    await asyncio.gather(running, deleting)
    # The deletion came last: nothing of the object is left behind by the older pass.
    assert runtime.memory.status_of(UID, {}) == {} and not runtime.scheduler.has_passed(UID)


def test_the_pool_descriptor_is_the_one_wired() -> None:
    assert [k.name for k in KINDS] == ["ManagedImage", "BatchPool"]
    assert BATCH_POOLS.plural == POOLS
