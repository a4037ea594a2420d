"""The BatchPool reconciler against small fake gateways: create, update, drift, delete,
refusals by the gate, the limits and the owner mark — and what each sends to Azure."""

from __future__ import annotations

import copy
from typing import Any

from batch_image_operator.config import Settings
from batch_image_operator.models.ownership import Owner
from batch_image_operator.models.references import ImageInfo
from batch_image_operator.planning.limits import Admission, LimitVerdict
from batch_image_operator.reconcilers.kind import Gateways, delete, reconcile
from batch_image_operator.reconcilers.pools import BATCH_POOL, PoolContext
from helpers.azure_fakes import FakeAccounts, FakeAzure, FakeCompute, FakePools, P, settings

OWNER = Owner("c1", "BatchPool", "ns", "render", "uid-1")
POOL = f"{P}/rg-batch/providers/Microsoft.Batch/batchAccounts/acct/pools/render"
IMAGE = f"{P}/rg-images/providers/Microsoft.Compute/images/ubuntu"
SPEC: dict[str, Any] = {
    "account": {"resourceGroup": "rg-batch", "name": "acct"}, "vmSize": "Standard_D2s_v3",
    "nodeAgentSkuId": "batch.node.ubuntu 22.04", "image": {"managedImageRef": {"name": "ubuntu"}},
    "scale": {"fixed": {"targetDedicatedNodes": 2}}}
READY_IMAGE = ImageInfo("ubuntu", "img-uid", True, False, IMAGE, None)


def gateways(azure: FakeAzure) -> Gateways:
    return Gateways(FakeCompute(azure), FakePools(azure),  # type: ignore[arg-type]
                    FakeAccounts(azure))  # type: ignore[arg-type]


def ctx(**kw: Any) -> PoolContext:
    return PoolContext(**{"owner": OWNER, "namespace": "ns", "image": READY_IMAGE, **kw})


def reason(outcome: Any, ctype: str = "Ready") -> str:
    return next(c.reason for c in outcome.conditions if c.type == ctype)


async def run(azure: FakeAzure, spec: dict[str, Any] | None = None, **kw: Any) -> Any:
    s = kw.pop("s", settings())
    return await reconcile(BATCH_POOL, "render", spec or SPEC, ctx(**kw), settings=s,
                                gateways=gateways(azure))


async def test_create_stamps_the_mark_then_a_converged_pool_costs_no_write() -> None:
    azure = FakeAzure()
    out = await run(azure)
    assert azure.writes() == [("create", POOL)]
    metadata = azure.resources[POOL.lower()]["properties"]["metadata"]
    assert {"name": "batchimage.dev-uid", "value": "uid-1"} in metadata
    assert out.status["admittedNodes"] == {"dedicated": 2, "lowPriority": 0}
    azure.resources[POOL.lower()]["properties"].update(
        allocationState="Steady", currentDedicatedNodes=2)
    azure.calls.clear()
    out = await run(azure, had_azure_pool=True)
    assert azure.writes() == [] and reason(out) == "Steady"


async def test_update_patches_only_what_differs() -> None:
    azure = FakeAzure()
    await run(azure)
    azure.resources[POOL.lower()]["properties"]["allocationState"] = "Steady"
    azure.calls.clear()
    spec = copy.deepcopy(SPEC)
    spec["scale"]["fixed"]["targetDedicatedNodes"] = 3
    await run(azure, spec, had_azure_pool=True)
    assert azure.writes() == [("update", POOL)]


async def test_a_pool_without_our_mark_is_never_written() -> None:
    azure = FakeAzure()
    await run(azure)  # the same pool, then made unmarked: as if made by hand
    azure.resources[POOL.lower()]["properties"].update(allocationState="Steady", metadata=[])
    azure.calls.clear()
    out = await run(azure)
    assert reason(out) == "ExistsNotOwned" and azure.writes() == []
    assert out.status["admittedNodes"] is None  # it claims no nodes
    adopted = await run(azure, adopt=True)
    assert ("update", POOL) in azure.writes()
    assert any(e.reason == "Adopting" for e in adopted.events)


async def test_another_objects_pool_is_never_written_even_with_adopt() -> None:
    azure = FakeAzure()
    other = Owner("c1", "BatchPool", "other-ns", "x", "uid-9")
    azure.put(POOL, {"properties": {"metadata": other.metadata()}})
    out = await run(azure, adopt=True)
    assert reason(out) == "OwnedByAnother" and azure.writes() == []
    assert "other-ns" not in str(out.conditions)


async def test_the_gate_refuses_before_any_call() -> None:
    azure = FakeAzure()
    out = await run(azure, s=settings(groups=["rg-images"]))
    assert reason(out) == "NotAllowed" and azure.calls == []
    spec = copy.deepcopy(SPEC)
    spec["network"] = {"subnetId": f"{P}/rg-hub/providers/Microsoft.Network/virtualNetworks/"
                                   "v/subnets/s"}
    out = await run(azure, spec, s=settings(groups=["rg-images", "rg-batch"]))
    assert reason(out) == "NotAllowed" and "rg-hub" in out.message and azure.calls == []


async def test_a_refused_admission_calls_nothing() -> None:
    azure = FakeAzure()
    refuse = Admission(LimitVerdict(False, "custom-image limit exceeded: 3000/2500"))
    out = await run(azure, claim=lambda me, ids: refuse)
    assert reason(out) == "LimitExceeded" and azure.calls == []
    quota = Admission(LimitVerdict(True, ""), "namespace ns may have at most 1")
    out = await run(azure, claim=lambda me, ids: quota)
    assert reason(out) == "QuotaExceeded" and azure.calls == []


async def test_a_vanished_azure_pool_is_reported_and_recreated() -> None:
    azure = FakeAzure()
    out = await run(azure, had_azure_pool=True)
    assert any(e.reason == "AzurePoolDisappeared" and e.type == "Warning" for e in out.events)
    assert reason(out) == "Recreating" and azure.writes() == [("create", POOL)]


async def test_deletion_in_every_direction() -> None:
    s = settings()
    # Ours: deleted.
    azure = FakeAzure()
    await run(azure)
    out = await delete(BATCH_POOL, "render", SPEC, ctx(), settings=s,
                                        gateways=Gateways(pools=FakePools(azure)))  # type: ignore[arg-type]
    assert ("delete", POOL) in azure.writes() and not out.done
    # Gone: done.
    out = await delete(BATCH_POOL, "render", SPEC, ctx(), settings=s,
                                        gateways=Gateways(pools=FakePools(azure)))  # type: ignore[arg-type]
    assert out.done
    # Not ours: done, left in Azure, a warning.
    azure = FakeAzure()
    azure.put(POOL, {"properties": {"metadata": []}})
    out = await delete(BATCH_POOL, "render", SPEC, ctx(), settings=s,
                                        gateways=Gateways(pools=FakePools(azure)))  # type: ignore[arg-type]
    assert out.done and azure.writes() == [] and out.events[0].reason == "LeftInAzure"
    # Outside the allow-list: done, no call at all.
    azure = FakeAzure()
    out = await delete(BATCH_POOL, "render", SPEC, ctx(),
                                        settings=settings(groups=["rg-images"]),
                                        gateways=Gateways(pools=FakePools(azure)))  # type: ignore[arg-type]
    assert out.done and azure.calls == []
    # Retain: done, no call at all.
    retained = {**SPEC, "deletionPolicy": "Retain"}
    out = await delete(BATCH_POOL, "render", retained, ctx(), settings=s,
                                        gateways=Gateways(pools=FakePools(azure)))  # type: ignore[arg-type]
    assert out.done and azure.calls == []


# --- A pool steady below its target: the resize re-issued with backoff, a deleted image
# diagnosed, a stopped resize left alone until the spec changes, attempts bounded.

SHORT_SPEC: dict[str, Any] = {**SPEC, "scale": {"fixed": {"targetDedicatedNodes": 400}}}


async def short_pool(errors: list[dict[str, str]] | None = None,
                     image_exists: bool = True) -> FakeAzure:
    """The pool as Azure holds it after its first resize stopped at 300 of 400 nodes."""
    azure = FakeAzure()
    await pass_(azure)
    azure.resources[POOL.lower()]["properties"].update(
        allocationState="Steady", currentDedicatedNodes=300,
        resizeOperationStatus={"errors": errors or []})
    if image_exists:
        azure.put(IMAGE, {"location": "westeurope"})
    azure.calls.clear()
    return azure


async def pass_(azure: FakeAzure, s: Settings | None = None, **kw: Any) -> Any:
    return await run(azure, SHORT_SPEC, s=s or settings(), had_azure_pool=True, **kw)


def ready(out: Any) -> tuple[str, str]:
    return next(c.status for c in out.conditions if c.type == "Ready"), reason(out)


async def test_a_short_pool_gets_its_resize_reissued_with_a_growing_wait() -> None:
    azure = await short_pool()
    s = settings()
    out = await pass_(azure, s, resize_attempts=1)
    assert azure.writes() == [("update", POOL)]
    assert ready(out) == ("False", "Resizing")
    assert out.status["resizeAttempts"] == 2
    assert out.next_resize_in == s.resize_backoff  # then doubling, up to its cap
    azure.calls.clear()
    out = await pass_(azure, s, resize_attempts=3)
    assert out.status["resizeAttempts"] == 4
    assert out.next_resize_in == s.resize_backoff * 4
    out = await pass_(azure, s, resize_attempts=8)
    assert out.next_resize_in == s.resize_backoff * 16


async def test_a_short_pool_waits_out_its_backoff_without_writing() -> None:
    azure = await short_pool()
    out = await pass_(azure, resize_attempts=2, resize_wait=42.0)
    assert azure.writes() == []
    assert ready(out) == ("False", "BelowTarget") and out.requeue == 42.0


async def test_attempts_are_bounded() -> None:
    azure = await short_pool()
    s = settings()
    out = await pass_(azure, s, resize_attempts=s.max_resize_attempts)
    assert azure.writes() == []
    assert ready(out) == ("False", "ResizeAttemptsExhausted")
    assert [e.type for e in out.events] == ["Warning"]


async def test_allocation_failed_on_a_deleted_image_is_diagnosed_and_wakes_the_image() -> None:
    azure = await short_pool([{"code": "AllocationFailed", "message": "image not found"}],
                             image_exists=False)
    out = await pass_(azure, resize_attempts=1)
    assert azure.writes() == []
    assert ready(out) == ("False", "ImageMissing")
    assert out.nudge == ["img-uid"]  # the ManagedImage rebuilds it without waiting


async def test_allocation_failed_with_the_image_present_is_just_retried() -> None:
    azure = await short_pool([{"code": "AllocationFailed", "message": "capacity"}])
    out = await pass_(azure, resize_attempts=1)
    assert azure.writes() == [("update", POOL)]
    assert ready(out) == ("False", "Resizing")


async def test_a_stopped_resize_is_left_alone_until_the_spec_changes() -> None:
    azure = await short_pool([{"code": "ResizeStopped", "message": "stopped by user"}])
    out = await pass_(azure, resize_attempts=1, generation=5)
    assert azure.writes() == []
    assert ready(out) == ("False", "ResizeStopped")
    assert out.status["resizeStoppedGeneration"] == 5
    out = await pass_(azure, resize_attempts=1, generation=6, stopped_generation=5)
    assert azure.writes() == [("update", POOL)]  # a newer spec: resize again
    assert out.status["resizeStoppedGeneration"] is None


async def test_a_stopped_resize_is_resized_again_when_the_annotation_asks() -> None:
    azure = await short_pool([{"code": "ResizeStopped", "message": "stopped by user"}])
    out = await pass_(azure, resize_attempts=4, generation=5, stopped_generation=5,
                      resize_again="0123456789abcdef")
    assert azure.writes() == [("update", POOL)]  # same generation, asked by annotation
    assert out.status["resizeAttempts"] == 2  # a fresh count
    assert out.status["resizeStoppedGeneration"] is None
    assert out.status["resizeAgainSeen"] == "0123456789abcdef"  # asked once, not again


async def test_a_resize_again_value_seen_while_nothing_is_stopped_is_used_up() -> None:
    # Asked while the pool is short for another reason: recorded, so a stop that comes
    # later is not undone by this old request.
    azure = await short_pool()
    out = await pass_(azure, resize_attempts=1, resize_again="0123456789abcdef")
    assert out.status["resizeAgainSeen"] == "0123456789abcdef"


async def test_a_resize_again_request_outlives_a_pass_busy_with_a_drift_fix() -> None:
    # The pool is stopped and its metadata drifted: the fix is a PATCH
    # without a resize, so the request waits for the pass that resizes.
    azure = await short_pool([{"code": "ResizeStopped", "message": "stopped by user"}])
    drifted = {**SHORT_SPEC, "metadata": [{"name": "team", "value": "render"}]}
    out = await run(azure, drifted, had_azure_pool=True, resize_attempts=1, generation=5,
                    stopped_generation=5, resize_again="0123456789abcdef")
    assert [w[0] for w in azure.writes()] == ["update"]
    assert "resizeAgainSeen" not in out.status
