"""The ManagedImage reconciler against small fake gateways: build, drift, publish,
delete, refusals by the gate and the owner mark — and what each sends to Azure."""

from __future__ import annotations

import copy
from typing import Any

from batch_image_operator.models.ownership import Owner
from batch_image_operator.reconcilers.images import MANAGED_IMAGE, ImageContext
from batch_image_operator.reconcilers.kind import Gateways, delete, reconcile
from helpers.azure_fakes import FakeAccounts, FakeAzure, FakeCompute, P, settings

OWNER = Owner("c1", "ManagedImage", "ns", "ubuntu", "uid-1")
IMAGE = f"{P}/rg-images/providers/Microsoft.Compute/images/ubuntu"
SNAP = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/os"
VERSION = f"{P}/rg-images/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0"
SPEC: dict[str, Any] = {"resourceGroup": "rg-images", "location": "westeurope", "source": {
    "snapshots": {"osDisk": {"snapshotId": SNAP, "osType": "Linux"}}}}
GALLERY = {"galleryName": "g", "imageDefinition": "d", "version": "1.0.0",
           "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}


def azure_with_snapshot() -> FakeAzure:
    azure = FakeAzure()
    azure.put(SNAP, {"location": "westeurope",
                     "properties": {"provisioningState": "Succeeded"}})
    return azure


def gateways(azure: FakeAzure) -> Gateways:
    return Gateways(compute=FakeCompute(azure),  # type: ignore[arg-type]
                    accounts=FakeAccounts(azure))  # type: ignore[arg-type]


def ctx(**kw: Any) -> ImageContext:
    return ImageContext(**{"owner": OWNER, "namespace": "ns", **kw})


def reason(outcome: Any, ctype: str = "Ready") -> str:
    return next(c.reason for c in outcome.conditions if c.type == ctype)


async def run(azure: FakeAzure, spec: dict[str, Any] | None = None, **kw: Any) -> Any:
    s = kw.pop("s", settings())
    return await reconcile(MANAGED_IMAGE, "ubuntu", spec or SPEC, ctx(**kw), settings=s,
                                 gateways=gateways(azure))


async def test_build_stamps_the_mark_then_drift_costs_no_write() -> None:
    azure = azure_with_snapshot()
    await run(azure)
    assert azure.writes() == [("put", IMAGE)]
    assert azure.resources[IMAGE.lower()]["tags"]["batchimage.dev-uid"] == "uid-1"
    azure.calls.clear()
    out = await run(azure)
    assert reason(out) == "ImageReady" and azure.writes() == []


async def test_user_tags_change_by_one_put_keeping_the_mark() -> None:
    azure = azure_with_snapshot()
    await run(azure)
    azure.calls.clear()
    await run(azure, {**SPEC, "tags": {"team": "hpc"}})
    assert azure.writes() == [("put", IMAGE)]
    tags = azure.resources[IMAGE.lower()]["tags"]
    assert tags["team"] == "hpc" and tags["batchimage.dev-uid"] == "uid-1"


async def test_an_image_without_our_mark_is_never_written_or_deleted() -> None:
    azure = azure_with_snapshot()
    azure.put(IMAGE, {"location": "westeurope", "tags": {"owner": "payroll"},
                      "properties": {"provisioningState": "Succeeded"}})
    out = await run(azure)
    assert reason(out) == "ExistsNotOwned" and azure.writes() == []
    out = await delete(MANAGED_IMAGE, "ubuntu", SPEC, ctx(), settings=settings(),
                                         gateways=gateways(azure))
    assert out.done and azure.writes() == []
    assert [e.reason for e in out.events] == ["LeftInAzure"]


async def test_a_gallery_version_of_another_object_is_not_republished_or_deleted() -> None:
    azure = azure_with_snapshot()
    spec = {**SPEC, "gallery": GALLERY}
    for _ in range(4):  # image, gallery, definition, version
        await run(azure, spec)
    assert reason(await run(azure, spec)) == "Published"
    other = Owner("c1", "ManagedImage", "ns", "other", "uid-2")
    azure.resources[VERSION.lower()]["tags"] = other.tags()
    azure.calls.clear()
    out = await run(azure, spec)
    assert reason(out, "Published") == "OwnedByAnother" and azure.writes() == []
    out = await delete(MANAGED_IMAGE, "ubuntu", spec, ctx(), settings=settings(),
                                         gateways=gateways(azure))
    # The version is left; the image (ours) is deleted.
    assert azure.writes() == [("delete", IMAGE)]
    assert VERSION.lower() in azure.resources


async def test_the_gate_refuses_before_any_call_on_every_path() -> None:
    azure = azure_with_snapshot()
    spec = {**SPEC, "gallery": {**GALLERY, "resourceGroup": "rg-secure"}}
    s = settings(groups=["rg-images"])
    out = await run(azure, spec, s=s)
    assert reason(out) == "NotAllowed" and azure.calls == []
    out = await delete(MANAGED_IMAGE, "ubuntu", spec, ctx(), settings=s,
                                         gateways=gateways(azure))
    assert out.done and azure.calls == []


async def test_deletion_waits_for_users_then_removes_what_it_made() -> None:
    azure = azure_with_snapshot()
    await run(azure)
    azure.calls.clear()
    blocked = await delete(
        MANAGED_IMAGE, "ubuntu", SPEC, ctx(users=["render", "2 BatchPool(s) in other namespaces"]),
        settings=settings(), gateways=gateways(azure))
    assert reason(blocked, "DeletionBlocked") == "InUse" and azure.writes() == []
    first = await delete(MANAGED_IMAGE, "ubuntu", SPEC, ctx(), settings=settings(),
                                           gateways=gateways(azure))
    assert azure.writes() == [("delete", IMAGE)] and not first.done
    done = await delete(MANAGED_IMAGE, "ubuntu", SPEC, ctx(), settings=settings(),
                                          gateways=gateways(azure))
    assert done.done
    assert SNAP.lower() in azure.resources  # a source the user gave is never deleted


async def test_the_guard_goes_by_the_users_not_by_a_usedby_held_back() -> None:
    # `usedBy` changes are coalesced: a pool that just joined may not be shown yet. The
    # deletion is refused for it all the same, and the status then shows it.
    azure = azure_with_snapshot()
    await run(azure)
    azure.calls.clear()
    blocked = await delete(
        MANAGED_IMAGE, "ubuntu", SPEC, ctx(users=["render", "new-pool"], used_by=["render"]),
        settings=settings(), gateways=gateways(azure))
    assert reason(blocked, "DeletionBlocked") == "InUse" and azure.writes() == []
    assert "new-pool" in blocked.message and blocked.status["usedBy"] == ["render", "new-pool"]
    # A pass shows what it is given to show (the coalesced list), not the newest.
    out = await run(azure, users=["render", "new-pool"], used_by=["render"])
    assert out.status["usedBy"] == ["render"]


async def test_captured_snapshots_named_in_status_are_checked_before_deletion() -> None:
    vm = f"{P}/rg-images/providers/Microsoft.Compute/virtualMachines/builder"
    spec = copy.deepcopy(SPEC)
    spec["source"] = {"virtualMachine": {"id": vm}}
    own = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/ubuntu-os"
    foreign = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/ubuntu-lun0"
    azure = FakeAzure()
    azure.put(own, {"tags": OWNER.tags()})
    azure.put(foreign, {"tags": {}})  # has a derived name, but not our mark
    status = {"snapshotIds": [own, foreign, SNAP]}  # SNAP: not a derived name at all
    out = await delete(MANAGED_IMAGE, "ubuntu", spec, ctx(status=status),
                                         settings=settings(), gateways=gateways(azure))
    assert azure.writes() == [("delete", own)]
    assert not out.done
    out = await delete(MANAGED_IMAGE, "ubuntu", spec, ctx(status=status),
                                         settings=settings(), gateways=gateways(azure))
    assert out.done and [e.reason for e in out.events] == ["LeftInAzure"]
    assert foreign.lower() in azure.resources
    assert ("get", SNAP) not in azure.calls
