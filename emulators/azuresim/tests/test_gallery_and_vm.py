"""Tier 2 Compute surfaces: galleries with replication, VMs and disks as image sources."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import models as cm
from test_compute import image

from azuresim_support import LOCATION, Azure
from batchutil import make_account, make_image, pool_body, wait_steady


def test_gallery_version_replicates_then_backs_a_pool(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    image_id = make_image(compute, rg)
    azure.admin("POST", "/speed", {"lroSeconds": 600})
    try:
        compute.galleries.begin_create_or_update(rg, "gal", cm.Gallery(location=LOCATION))
        azure.admin("POST", "/clock/advance", {"seconds": 600})
        gallery_poller = compute.gallery_images.begin_create_or_update(
            rg,
            "gal",
            "def",
            cm.GalleryImage(
                location=LOCATION,
                os_type="Linux",
                os_state="Generalized",
                identifier=cm.GalleryImageIdentifier(publisher="acme", offer="batch", sku="gpu"),
            ),
        )
        azure.admin("POST", "/clock/advance", {"seconds": 600})
        gallery_poller.result()
        compute.gallery_image_versions.begin_create_or_update(
            rg,
            "gal",
            "def",
            "1.0.0",
            cm.GalleryImageVersion(
                location=LOCATION,
                storage_profile=cm.GalleryImageVersionStorageProfile(
                    source=cm.GalleryArtifactVersionFullSource(id=image_id)
                ),
                publishing_profile=cm.GalleryImageVersionPublishingProfile(
                    target_regions=[cm.TargetRegion(name="northeurope", regional_replica_count=1)]
                ),
            ),
        )
        azure.admin("POST", "/clock/advance", {"seconds": 300})
        half = compute.gallery_image_versions.get(
            rg, "gal", "def", "1.0.0", expand="ReplicationStatus"
        )
    finally:
        azure.admin("POST", "/speed", {"lroSeconds": 0.2})
    status = half.replication_status
    assert half.provisioning_state == "Creating"
    assert status.aggregated_state == "InProgress"
    # Galleries echo regions by display name, as recorded Azure traffic shows.
    assert [(s.region, s.state) for s in status.summary] == [("North Europe", "Replicating")]
    assert 40 <= status.summary[0].progress <= 60
    azure.admin("POST", "/clock/advance", {"seconds": 300})
    done = compute.gallery_image_versions.get(rg, "gal", "def", "1.0.0", expand="ReplicationStatus")
    assert done.provisioning_state == "Succeeded"
    assert done.replication_status.aggregated_state == "Completed"
    assert done.replication_status.summary[0].progress == 100

    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    batch.pool.create(rg, account, "p", pool_body(done.id, dedicated=2))
    assert wait_steady(batch, rg, account, "p").current_dedicated_nodes == 2
    # The version shares node limits with the managed image it was published from.
    with pytest.raises(HttpResponseError):
        batch.pool.create(rg, account, "q", pool_body(image_id, dedicated=2499))

    listed = compute.gallery_image_versions.list_by_gallery_image(rg, "gal", "def")
    assert [v.name for v in listed] == ["1.0.0"]
    with pytest.raises(HttpResponseError) as info:
        compute.galleries.begin_delete(rg, "gal")
    assert info.value.status_code == 409
    missing = image_id.replace("/images/img", "/images/gone")
    with pytest.raises(HttpResponseError) as info:
        compute.gallery_image_versions.begin_create_or_update(
            rg,
            "gal",
            "def",
            "2.0.0",
            cm.GalleryImageVersion(
                location=LOCATION,
                storage_profile=cm.GalleryImageVersionStorageProfile(
                    source=cm.GalleryArtifactVersionFullSource(id=missing)
                ),
            ),
        )
    assert info.value.error.code == "NotFound"


def test_image_from_vm_disk_snapshots(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    vm = compute.virtual_machines.begin_create_or_update(
        rg,
        "builder",
        cm.VirtualMachine(
            location=LOCATION,
            hardware_profile=cm.HardwareProfile(vm_size="Standard_D2s_v3"),
            storage_profile=cm.StorageProfile(
                image_reference=cm.ImageReference(
                    publisher="canonical",
                    offer="0001-com-ubuntu-server-jammy",
                    sku="22_04-lts",
                    version="latest",
                ),
                os_disk=cm.OSDisk(create_option="FromImage", os_type="Linux"),
                data_disks=[cm.DataDisk(lun=0, create_option="Empty", disk_size_gb=64)],
            ),
        ),
    ).result()
    assert vm.provisioning_state == "Succeeded"
    os_disk_id = vm.storage_profile.os_disk.managed_disk.id
    data_disk_id = vm.storage_profile.data_disks[0].managed_disk.id
    os_disk = compute.disks.get(rg, os_disk_id.rsplit("/", 1)[1])
    assert os_disk.disk_state == "Attached" and os_disk.managed_by == vm.id

    snaps = [
        compute.snapshots.begin_create_or_update(
            rg,
            name,
            cm.Snapshot(
                location=LOCATION,
                creation_data=cm.CreationData(create_option="Copy", source_resource_id=disk),
            ),
        ).result()
        for name, disk in (("os", os_disk_id), ("data", data_disk_id))
    ]
    built = compute.images.begin_create_or_update(
        rg, "img", image(snaps[0].id, (snaps[1].id,))
    ).result()
    assert built.provisioning_state == "Succeeded"

    direct = compute.images.begin_create_or_update(
        rg,
        "direct",
        cm.Image(location=LOCATION, source_virtual_machine=cm.SubResource(id=vm.id)),
    ).result()
    assert direct.storage_profile.os_disk.managed_disk.id == os_disk_id

    missing = os_disk_id.rsplit("/", 1)[0] + "/nope"
    with pytest.raises(HttpResponseError) as info:
        compute.snapshots.begin_create_or_update(
            rg,
            "bad",
            cm.Snapshot(
                location=LOCATION,
                creation_data=cm.CreationData(create_option="Copy", source_resource_id=missing),
            ),
        )
    assert info.value.error.code == "NotFound"
    compute.virtual_machines.begin_delete(rg, "builder").result()
    assert compute.disks.get(rg, os_disk_id.rsplit("/", 1)[1]).disk_state == "Unattached"
