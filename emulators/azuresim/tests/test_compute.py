"""Microsoft.Compute snapshots and managed images through azure-mgmt-compute, sync and async."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import models as cm
from azure.mgmt.compute.aio import ComputeManagementClient as AsyncComputeManagementClient

from azuresim_support import LOCATION, Azure, unique


def snapshot(location: str = LOCATION) -> cm.Snapshot:
    return cm.Snapshot(
        location=location,
        creation_data=cm.CreationData(
            create_option="Import", source_uri="https://acct.blob.core.windows.net/vhds/os.vhd"
        ),
    )


def image(os_snapshot: str, data_snapshots: tuple[str, ...] = (), **os: str) -> cm.Image:
    return cm.Image(
        location=LOCATION,
        hyper_v_generation="V2",
        storage_profile=cm.ImageStorageProfile(
            os_disk=cm.ImageOSDisk(
                os_type=os.get("os_type", "Linux"),
                os_state=os.get("os_state", "Generalized"),
                snapshot=cm.SubResource(id=os_snapshot),
            ),
            data_disks=[
                cm.ImageDataDisk(lun=lun, snapshot=cm.SubResource(id=sid))
                for lun, sid in enumerate(data_snapshots)
            ],
        ),
    )


def test_snapshot_create_and_get(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    created = compute.snapshots.begin_create_or_update(rg, "os", snapshot()).result()
    assert created.provisioning_state == "Succeeded"
    got = compute.snapshots.get(rg, "os")
    assert got.id == created.id
    assert (
        got.id == f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Compute"
        "/snapshots/os"
    )
    assert got.creation_data.create_option == "Import"


def test_image_lifecycle_sync(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    os_snap = compute.snapshots.begin_create_or_update(rg, "os", snapshot()).result()
    data_snap = compute.snapshots.begin_create_or_update(rg, "data", snapshot()).result()
    azure.admin("POST", "/reset-counters")

    # A slow build, so the image is observably Creating; then simulated time moves on.
    azure.admin("POST", "/speed", {"lroSeconds": 600})
    try:
        poller = compute.images.begin_create_or_update(
            rg, "img", image(os_snap.id, (data_snap.id,))
        )
        assert compute.images.get(rg, "img").provisioning_state == "Creating"
    finally:
        azure.admin("POST", "/speed", {"lroSeconds": 0.2})
    azure.admin("POST", "/clock/advance", {"seconds": 600})
    started = time.monotonic()
    result = poller.result()
    assert time.monotonic() - started < 5, "poller must follow Retry-After, not 30 s"
    assert result.provisioning_state == "Succeeded"
    assert result.storage_profile.os_disk.snapshot.id == os_snap.id
    assert [d.snapshot.id for d in result.storage_profile.data_disks] == [data_snap.id]
    assert result.hyper_v_generation == "V2"

    assert compute.images.get(rg, "img").provisioning_state == "Succeeded"
    tagged = compute.images.begin_update(rg, "img", cm.ImageUpdate(tags={"k": "v"})).result()
    assert tagged.tags == {"k": "v"} and tagged.provisioning_state == "Succeeded"
    assert [i.name for i in compute.images.list_by_resource_group(rg)] == ["img"]
    assert result.id in {i.id for i in compute.images.list()}
    counters = azure.admin("GET", "/requests")["counters"]
    assert counters["images.create"] == 1
    assert counters["operations.get"] >= 1

    started = time.monotonic()
    compute.images.begin_delete(rg, "img").result()
    assert time.monotonic() - started < 5
    with pytest.raises(ResourceNotFoundError) as info:
        compute.images.get(rg, "img")
    assert info.value.error.code == "ResourceNotFound"
    assert list(compute.images.list_by_resource_group(rg)) == []


async def test_image_lifecycle_async(azure: Azure, rg: str) -> None:
    async with (
        azure.async_credential() as cred,
        AsyncComputeManagementClient(cred, azure.sub, **azure.mgmt_kwargs()) as compute,
    ):
        poller = await compute.snapshots.begin_create_or_update(rg, "os", snapshot())
        os_snap = await poller.result()
        poller = await compute.images.begin_create_or_update(rg, "img", image(os_snap.id))
        created = await poller.result()
        assert created.provisioning_state == "Succeeded"
        assert (await compute.images.get(rg, "img")).id == created.id
        names = [i.name async for i in compute.images.list_by_resource_group(rg)]
        assert names == ["img"]
        poller = await compute.images.begin_delete(rg, "img")
        await poller.result()
        with pytest.raises(ResourceNotFoundError):
            await compute.images.get(rg, "img")


def test_image_with_missing_snapshot_is_refused(azure: Azure, rg: str) -> None:
    missing = (
        f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots/nope"
    )
    with pytest.raises(HttpResponseError) as info:
        azure.compute().images.begin_create_or_update(rg, "img", image(missing))
    assert info.value.status_code == 404
    assert info.value.error.code == "NotFound"
    assert "nope" in info.value.error.message
    with pytest.raises(ResourceNotFoundError):
        azure.compute().images.get(rg, "img")


def test_image_in_missing_resource_group_is_refused(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    os_snap = compute.snapshots.begin_create_or_update(rg, "os", snapshot()).result()
    with pytest.raises(HttpResponseError) as info:
        compute.images.begin_create_or_update(unique("absent-"), "img", image(os_snap.id))
    assert info.value.error.code == "ResourceGroupNotFound"


def test_image_needs_location_and_os_state(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    os_snap = compute.snapshots.begin_create_or_update(rg, "os", snapshot()).result()
    no_location = image(os_snap.id)
    no_location.location = None
    with pytest.raises(HttpResponseError) as info:
        compute.images.begin_create_or_update(rg, "img", no_location)
    assert info.value.error.code == "LocationRequired"
    no_state = image(os_snap.id)
    no_state.storage_profile.os_disk.os_state = None
    with pytest.raises(HttpResponseError) as info:
        compute.images.begin_create_or_update(rg, "img", no_state)
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidParameter")
    assert "osState" in info.value.error.message


def test_snapshot_in_missing_resource_group_and_get_missing(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    with pytest.raises(HttpResponseError) as info:
        compute.snapshots.begin_create_or_update(unique("absent-"), "os", snapshot())
    assert info.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError):
        compute.snapshots.get(rg, "absent")
