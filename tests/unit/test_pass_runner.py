"""The one pass runner (handlers/passes.py), driven directly with a fake status API and
steps standing in for the reconcilers: when a pass runs at all, what it writes, what it
schedules, and when a deletion lets the finalizer go."""

from __future__ import annotations

import copy
from typing import Any

import kopf
import pytest

from azure_fakes import SUB
from batch_image_operator.config import Settings
from batch_image_operator.handlers import passes
from batch_image_operator.handlers.identities import Identity
from batch_image_operator.handlers.kopfconfig import POOLS, WAITING
from batch_image_operator.handlers.runtime import Runtime
from batch_image_operator.models.conditions import FALSE, TRUE, Condition
from batch_image_operator.models.reasons import Reason
from batch_image_operator.reconcilers.outcome import Event, Outcome

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

    async def __call__(self, identity: Identity) -> Outcome:
        self.calls += 1
        return copy.deepcopy(self.outcome)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Runtime:
    rt = Runtime(Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                    "BIO_ALLOWLIST_FILE": "unrestricted",
                                    "BIO_DRIFT_INTERVAL": "300"}), {})
    rt.kube = StatusApi()  # type: ignore[assignment]
    rt.identities.default = object()  # type: ignore[assignment]
    posted: list[Event] = []
    monkeypatch.setattr(passes, "post_events", lambda events, body: posted.extend(events))
    rt.posted = posted  # type: ignore[attr-defined]
    return rt


def body(generation: int = 1, paused: bool = False) -> kopf.Body:
    annotations = {"batchimage.dev/paused": "true"} if paused else {}
    return kopf.Body({"apiVersion": "batchimage.dev/v1alpha1", "kind": "BatchPool",
                      "metadata": {"name": "render", "namespace": "ns", "uid": UID,
                                   "generation": generation, "annotations": annotations},
                      "spec": {}})


READY = Outcome(status={"poolId": "render"},
                conditions=[Condition("Ready", TRUE, Reason.STEADY, "pool is steady")])


async def run(rt: Runtime, step: Step, *, force: bool = True, paused: bool = False,
              between: Any = None) -> None:
    await passes.run_pass(rt, POOLS, body(paused=paused), UID, "ns", lambda: step,
                          force=force, between=between)


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

    async def keep_references() -> None:
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
        await passes.run_deletion(runtime, POOLS, body(), UID, "ns", Step(waiting))
    assert str(raised.value) == WAITING + "waiting for Azure to delete the pool"
    assert raised.value.delay == 15.0
    assert runtime.memory.status_of(UID, {}) != {}
    await passes.run_deletion(runtime, POOLS, body(), UID, "ns", Step(Outcome(done=True)))
    # Gone: nothing of it is remembered any more.
    assert runtime.memory.status_of(UID, {}) == {}
    assert UID not in runtime.memory.admitted and not runtime.scheduler.has_passed(UID)
