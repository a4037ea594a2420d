"""A BatchPool steady below its target, through the reconciler with fake gateways: the
resize re-issued with backoff, a deleted image diagnosed, a stopped resize left alone
until the spec changes, attempts bounded."""

from __future__ import annotations

from typing import Any

from azure_fakes import FakeAccounts, FakeAzure, FakeCompute, FakePools, P, settings
from batch_image_operator.config import Settings
from batch_image_operator.models.ownership import Owner
from batch_image_operator.models.references import ImageInfo
from batch_image_operator.reconcilers.pools import PoolContext, PoolGateways, reconcile_pool

OWNER = Owner("c1", "BatchPool", "ns", "render", "uid-1")
POOL = f"{P}/rg-batch/providers/Microsoft.Batch/batchAccounts/acct/pools/render"
IMAGE = f"{P}/rg-images/providers/Microsoft.Compute/images/ubuntu"
SPEC: dict[str, Any] = {
    "account": {"resourceGroup": "rg-batch", "name": "acct"}, "vmSize": "Standard_D2s_v3",
    "nodeAgentSkuId": "batch.node.ubuntu 22.04", "image": {"managedImageRef": {"name": "ubuntu"}},
    "scale": {"fixed": {"targetDedicatedNodes": 400}}}
IMAGE_INFO = ImageInfo("ubuntu", "img-uid", True, False, IMAGE, None)


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
    ctx = PoolContext(**{"owner": OWNER, "namespace": "ns", "image": IMAGE_INFO,
                         "had_azure_pool": True, **kw})
    gateways = PoolGateways(FakePools(azure), FakeCompute(azure),  # type: ignore[arg-type]
                            FakeAccounts(azure))  # type: ignore[arg-type]
    return await reconcile_pool("render", SPEC, ctx, settings=s or settings(),
                                gateways=gateways)


def ready(out: Any) -> tuple[str, str]:
    cond = next(c for c in out.conditions if c.type == "Ready")
    return cond.status, cond.reason


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
