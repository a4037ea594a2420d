"""ManagedImage sources: the guide's VM preparation rules, Direct capture, rebuilds from
captured snapshots, and gallery versions removed with the image."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import models as cm

from helpers.system import (
    SUB,
    CRs,
    azure_admin,
    azure_requests,
    azure_sdk,
    condition,
    has_condition,
    load_example,
    running_operator,
)
from simlaunch import Emulator

RG = "rg-batch-images"
JAMMY = {"publisher": "canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts",
         "version": "latest"}


def make_vm(azuresim: Emulator, name: str, *, location: str = "westeurope",
            image: dict[str, str] | None = None, **extra: Any) -> str:
    compute, _ = azure_sdk(azuresim.env)
    os_disk = cm.OSDisk(create_option="FromImage", os_type="Linux",
                        encryption_settings=extra.pop("encryption", None))
    vm = cm.VirtualMachine(
        location=location,
        hardware_profile=cm.HardwareProfile(vm_size="Standard_D2s_v3"),
        storage_profile=cm.StorageProfile(image_reference=cm.ImageReference(**(image or JAMMY)),
                                          os_disk=os_disk),
        **extra)
    return compute.virtual_machines.begin_create_or_update(RG, name, vm).result().id


def vm_image(name: str, vm_id: str, capture: str = "Snapshot") -> dict:
    image = copy.deepcopy({d["kind"]: d for d in load_example("vm-capture")}["ManagedImage"])
    image["metadata"]["name"] = name
    image["spec"]["source"]["virtualMachine"] = {"id": vm_id, "capture": capture}
    return image


def no_writes(azuresim: Emulator) -> list[dict]:
    return [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if e["method"] in {"PUT", "PATCH", "DELETE", "POST"}
            and ("/images/" in e["path"] or "/snapshots/" in e["path"])]


@pytest.mark.parametrize(("case", "reason"), [
    ("plan", "PurchasePlan"),
    ("extension", "ExtensionsInstalled"),
    ("encrypted", "OsDiskEncrypted"),
    ("region", "RegionMismatch"),
    ("custom-base", "BaseImageNotMarketplace"),
])
def test_vm_that_breaks_a_rule_is_refused_before_any_write(
        case: str, reason: str, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    compute, _ = azure_sdk(azuresim.env)
    if case == "plan":
        vm_id = make_vm(azuresim, "vm-plan", plan=cm.Plan(
            name="hpc", publisher="thirdparty", product="hpc-os"))
    elif case == "extension":
        vm_id = make_vm(azuresim, "vm-ext")
        compute.virtual_machine_extensions.begin_create_or_update(
            RG, "vm-ext", "monitor", cm.VirtualMachineExtension(
                location="westeurope", properties=cm.VirtualMachineExtensionProperties(
                    publisher="Microsoft.Azure.Monitor", type="AzureMonitorLinuxAgent",
                    type_handler_version="1.0"))).result()
    elif case == "encrypted":
        vm_id = make_vm(azuresim, "vm-enc", encryption=cm.DiskEncryptionSettings(enabled=True))
    elif case == "region":
        vm_id = make_vm(azuresim, "vm-far", location="eastus")
    else:
        vm_id = make_vm(azuresim, "vm-custom", image={"id": (
            f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/images/x")})
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(vm_image("checked", vm_id))
        refused = crs.wait("managedimages", "checked",
                           has_condition("SourceValid", "False", reason))
        assert condition(refused, "Ready")["status"] == "False"
        assert crs.wait_event("checked", "SourceInvalid")["type"] == "Warning"
    assert no_writes(azuresim) == []


def test_unsupported_base_image_is_refused_when_a_pool_names_an_account(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    vm_id = make_vm(azuresim, "vm-odd", image={"publisher": "acme", "offer": "hpc-os",
                                               "sku": "1", "version": "latest"})
    pool = {d["kind"]: d for d in load_example("vm-capture")}["BatchPool"]
    pool = copy.deepcopy(pool)
    pool["spec"]["image"]["managedImageRef"]["name"] = "odd"
    with running_operator(kubesim.url, azuresim.env):
        crs.create(pool)  # gives the image a Batch account to ask for supported images
        crs.create(vm_image("odd", vm_id))
        refused = crs.wait("managedimages", "odd",
                           has_condition("SourceValid", "False", "UnsupportedBaseImage"))
        assert "acme:hpc-os:1" in condition(refused, "SourceValid")["message"]


def test_direct_capture_is_allowed_with_a_warning(kubesim: Emulator, azuresim: Emulator,
                                                  crs: CRs) -> None:
    vm_id = make_vm(azuresim, "vm-direct")
    compute, _ = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(vm_image("direct", vm_id, capture="Direct"))
        ready = crs.wait("managedimages", "direct", has_condition("Ready"))
        assert condition(ready, "SourceValid")["reason"] == "NotRecommended"
        assert compute.images.get(RG, "direct").source_virtual_machine.id.lower() == \
            vm_id.lower()
        crs.delete("managedimages", "direct")
        crs.wait_deleted("managedimages", "direct")
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(RG, "direct")


def test_captured_image_is_rebuilt_from_its_snapshots_after_the_vm_is_gone(
        kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    vm_id = make_vm(azuresim, "vm-once")
    compute, _ = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="0.5"):
        crs.create(vm_image("once", vm_id))
        first = crs.wait("managedimages", "once", has_condition("Ready"))
        compute.virtual_machines.begin_delete(RG, "vm-once").result()
        compute.images.begin_delete(RG, "once").result()
        # The drift check notices the image is gone and rebuilds it from the snapshots.
        crs.wait("managedimages", "once", lambda o: has_condition("Ready")(o) and
                 o["status"]["provisioningState"] == "Succeeded" and
                 compute.images.get(RG, "once").provisioning_state == "Succeeded")
        crs.delete("managedimages", "once")
        crs.wait_deleted("managedimages", "once")
    # Deleting the ManagedImage removes the snapshots the operator made, too.
    for snapshot_id in first["status"]["snapshotIds"]:
        with pytest.raises(ResourceNotFoundError):
            compute.snapshots.get(RG, snapshot_id.rsplit("/", 1)[1])


def test_gallery_version_is_deleted_with_the_image(kubesim: Emulator, azuresim: Emulator,
                                                   crs: CRs) -> None:
    image = copy.deepcopy({d["kind"]: d for d in load_example("gallery")}["ManagedImage"])
    compute, _ = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        crs.wait("managedimages", "ubuntu-gallery", has_condition("Published"))
        crs.delete("managedimages", "ubuntu-gallery")
        crs.wait_deleted("managedimages", "ubuntu-gallery")
    with pytest.raises(ResourceNotFoundError):
        compute.gallery_image_versions.get(RG, "batchimages", "ubuntu-hpc", "1.0.0")
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(RG, "ubuntu-gallery")
    # The gallery and definition are shared infrastructure: kept.
    assert compute.gallery_images.get(RG, "batchimages", "ubuntu-hpc").name == "ubuntu-hpc"


def failing_capture(azuresim: Emulator, name: str, failures: int) -> dict:
    """A capture ManagedImage whose OS-disk snapshot LRO ends Failed ``failures`` times."""
    vm_id = make_vm(azuresim, f"vm-{name}")
    azure_admin(azuresim, "POST", "/operation-failures",
                {"pathRegex": f"/snapshots/{name}-os$", "count": failures})
    return vm_image(name, vm_id)


def test_a_failed_capture_snapshot_is_taken_again(kubesim: Emulator, azuresim: Emulator,
                                                  crs: CRs) -> None:
    # The first snapshot of the VM's OS disk ends Failed (Azure's LRO can).
    image = failing_capture(azuresim, "flaky", 1)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        retaken = crs.wait_event("flaky", "SnapshotRetaken")
        assert "ended Failed" in retaken["message"] and retaken["type"] == "Warning"
        ready = crs.wait("managedimages", "flaky", has_condition("Ready"))
    assert condition(ready, "SourceValid")["reason"] == "SnapshotsCaptured"


def test_a_capture_snapshot_failing_every_time_is_reported(kubesim: Emulator,
                                                           azuresim: Emulator,
                                                           crs: CRs) -> None:
    image = failing_capture(azuresim, "broken", 100)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        failed = crs.wait("managedimages", "broken",
                          has_condition("SourceValid", "False", "SnapshotFailed"))
    assert "each of 3 attempts" in condition(failed, "SourceValid")["message"]
    puts = [e for e in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if e["method"] == "PUT" and e["path"].endswith("/snapshots/broken-os")]
    assert len(puts) == 3
