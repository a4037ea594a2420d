"""Getting an image's source ready (reconcilers/sources.py) against a fake Compute
gateway: the guide's VM checks with no write when one fails, capture snapshots taken,
waited for, re-taken when Failed (bounded) and never taken over from someone else, a
rebuild from earlier captures, and given snapshots checked."""

from __future__ import annotations

from typing import Any

from batch_image_operator.models.managedimage import ManagedImageSpec, parse_managed_image
from batch_image_operator.models.ownership import Owner
from batch_image_operator.planning.sources import SNAPSHOT_ATTEMPT_TAG
from batch_image_operator.reconcilers.sources import Prepared, prepare_source
from helpers.azure_fakes import SUB, FakeAzure, FakeCompute, P

OWNER = Owner("c1", "ManagedImage", "ns", "ubuntu", "uid-1")
RG = f"{P}/rg-images/providers/Microsoft.Compute"
VM = f"{RG}/virtualMachines/builder"
OS_SNAP, LUN0_SNAP = f"{RG}/snapshots/ubuntu-os", f"{RG}/snapshots/ubuntu-lun0"
GIVEN = f"{RG}/snapshots/given-os"


def image(source: dict[str, Any]) -> ManagedImageSpec:
    return parse_managed_image("ubuntu", {"resourceGroup": "rg-images", "location": "westeurope",
                                          "source": source}, default_subscription=SUB)


CAPTURE = image({"virtualMachine": {"id": VM}})


def vm(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"location": "westeurope", "properties": {"storageProfile": {
        "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04"},
        "osDisk": {"osType": "Linux", "managedDisk": {"id": f"{RG}/disks/os"}},
        "dataDisks": [{"lun": 0, "managedDisk": {"id": f"{RG}/disks/data0"}}]}}}
    body.update(changes)
    return body


async def prepare(azure: FakeAzure, spec: ManagedImageSpec = CAPTURE,
                  recorded: tuple[str, ...] = (), adopt: bool = False) -> Prepared:
    return await prepare_source(spec, recorded_snapshots=recorded, accounts=(),
                                compute=FakeCompute(azure),  # type: ignore[arg-type]
                                batch=None, owner=OWNER, adopt=adopt)


async def test_a_vm_is_captured_disk_by_disk_then_built_from_its_snapshots() -> None:
    azure = FakeAzure()
    azure.put(VM, vm())
    first = await prepare(azure)
    assert sorted(azure.writes()) == [("put", LUN0_SNAP), ("put", OS_SNAP)]
    assert (first.ready, first.condition.reason, first.writes) == (False, "Capturing", 2)
    assert [e.reason for e in first.events] == ["Snapshotting", "Snapshotting"]
    assert azure.resources[OS_SNAP.lower()]["tags"] == OWNER.tags() | {
        "batchimage.dev-source-disk": "os"}
    azure.calls.clear()
    second = await prepare(azure)
    assert azure.writes() == []
    assert (second.ready, second.condition.reason) == (True, "SnapshotsCaptured")
    assert second.snapshots is not None
    assert str(second.snapshots.os_source).lower() == OS_SNAP.lower()
    assert [(d.lun, str(d.source).lower()) for d in second.snapshots.data_disks] == [
        (0, LUN0_SNAP.lower())]


async def test_a_vm_breaking_the_guides_rules_is_refused_with_no_write() -> None:
    azure = FakeAzure()
    azure.put(VM, vm(plan={"publisher": "p", "product": "x"}, location="northeurope"))
    out = await prepare(azure)
    assert azure.writes() == [] and not out.ready
    assert (out.condition.status, out.condition.reason) == ("False", "PurchasePlan")
    assert "northeurope" in out.condition.message  # every broken rule is named


async def test_a_missing_vm_is_reported() -> None:
    out = await prepare(FakeAzure())
    assert (out.ready, out.condition.reason) == (False, "SourceNotFound")


async def test_direct_capture_and_vhd_are_allowed_with_a_warning() -> None:
    azure = FakeAzure()
    azure.put(VM, vm())
    direct = await prepare(azure, image({"virtualMachine": {"id": VM, "capture": "Direct"}}))
    vhd = await prepare(azure, image({"vhd": {
        "storageAccountId": f"{P}/rg-images/providers/Microsoft.Storage/storageAccounts/st",
        "blobUri": "https://st.blob.core.windows.net/vhds/os.vhd", "osType": "Linux"}}))
    for out in (direct, vhd):
        assert out.ready and out.snapshots is None
        assert out.condition.reason == "NotRecommended"
        assert [(e.type, e.reason) for e in out.events] == [("Warning", "NotRecommended")]
    assert azure.writes() == []


async def test_a_failed_snapshot_is_retaken_a_bounded_number_of_times() -> None:
    azure = FakeAzure()
    azure.put(VM, vm())
    await prepare(azure)
    snap = azure.resources[OS_SNAP.lower()]
    snap["properties"]["provisioningState"] = "Failed"
    azure.calls.clear()
    out = await prepare(azure, recorded=(OS_SNAP, LUN0_SNAP))
    assert azure.writes() == [("put", OS_SNAP)]
    assert azure.resources[OS_SNAP.lower()]["tags"][SNAPSHOT_ATTEMPT_TAG] == "2"
    assert [(e.type, e.reason) for e in out.events] == [("Warning", "SnapshotRetaken")]
    azure.resources[OS_SNAP.lower()]["properties"]["provisioningState"] = "Failed"
    azure.resources[OS_SNAP.lower()]["tags"][SNAPSHOT_ATTEMPT_TAG] = "3"
    azure.calls.clear()
    out = await prepare(azure, recorded=(OS_SNAP, LUN0_SNAP))
    assert azure.writes() == []
    assert (out.condition.status, out.condition.reason) == ("False", "SnapshotFailed")


async def test_a_snapshot_name_taken_by_someone_else_is_never_overwritten() -> None:
    azure = FakeAzure()
    azure.put(VM, vm())
    azure.put(OS_SNAP, {"tags": {}, "properties": {"provisioningState": "Succeeded"}})
    out = await prepare(azure)
    assert azure.writes() == []
    assert (out.condition.status, out.condition.reason) == ("False", "ExistsNotOwned")
    adopted = await prepare(azure, adopt=True)  # taken again, so that it carries the mark
    assert ("put", OS_SNAP) in azure.writes() and not adopted.ready


async def test_a_lost_image_is_rebuilt_from_its_captures_even_with_the_vm_gone() -> None:
    azure = FakeAzure()
    azure.put(VM, vm())
    await prepare(azure)
    del azure.resources[VM.lower()]
    azure.calls.clear()
    out = await prepare(azure, recorded=(OS_SNAP, LUN0_SNAP))
    assert azure.writes() == []
    assert (out.ready, out.condition.reason) == (True, "SnapshotsFound")
    assert out.snapshots is not None and [d.lun for d in out.snapshots.data_disks] == [0]


async def test_given_snapshots_must_exist_in_the_images_region_and_be_usable() -> None:
    spec = image({"snapshots": {"osDisk": {"snapshotId": GIVEN, "osType": "Linux"}}})
    azure = FakeAzure()
    assert (await prepare(azure, spec)).condition.reason == "SnapshotNotFound"
    azure.put(GIVEN, {"location": "northeurope"})
    assert (await prepare(azure, spec)).condition.reason == "RegionMismatch"
    azure.put(GIVEN, {"location": "westeurope", "properties": {"provisioningState": "Failed"}})
    assert (await prepare(azure, spec)).condition.reason == "SnapshotFailed"
    azure.put(GIVEN, {"location": "westeurope", "properties": {"provisioningState": "Creating"}})
    waiting = await prepare(azure, spec)
    assert (waiting.ready, waiting.condition.reason) == (False, "WaitingForSnapshots")
    azure.put(GIVEN, {"location": "westeurope", "properties": {"provisioningState": "Succeeded"}})
    found = await prepare(azure, spec)
    assert (found.ready, found.condition.reason) == (True, "SnapshotsFound")
    assert azure.writes() == []  # a user's own snapshots are only read
