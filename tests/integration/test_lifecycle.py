"""The whole lifecycle, operator in-process, against kubesim and azuresim over HTTP."""

from __future__ import annotations

import copy

import pytest
from azure.core.exceptions import ResourceNotFoundError

from helpers.system import CRs, azure_sdk, condition, has_condition, load_example, running_operator
from simlaunch import Emulator

IMAGE, POOL = "ubuntu-hpc", "render-pool"


def manifests() -> tuple[dict, dict]:
    docs = {d["kind"]: d for d in load_example("snapshots")}
    return copy.deepcopy(docs["ManagedImage"]), copy.deepcopy(docs["BatchPool"])


def test_image_pool_blocked_deletion_and_cleanup(kubesim: Emulator, azuresim: Emulator,
                                                 crs: CRs) -> None:
    image, pool = manifests()
    compute, batch = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        # The pool comes first: it must wait for its image, not fail.
        crs.create(pool)
        waiting = crs.wait("batchpools", POOL,
                           has_condition("ImageResolved", "False", "ImageNotFound"))
        assert condition(waiting, "Ready")["status"] == "False"
        crs.create(image)

        ready_image = crs.wait("managedimages", IMAGE, has_condition("Ready"))
        azure_image = compute.images.get("rg-batch-images", IMAGE)
        assert ready_image["status"]["imageId"].lower() == azure_image.id.lower()
        assert azure_image.storage_profile.os_disk.snapshot.id.endswith("/ubuntu-hpc-os")
        assert [d.lun for d in azure_image.storage_profile.data_disks] == [0]

        ready_pool = crs.wait("batchpools", POOL, has_condition("Ready"))
        status = ready_pool["status"]
        assert status["allocationState"] == "Steady"
        assert status["currentDedicatedNodes"] == 4
        # Node counts come from the Batch data plane (the account endpoint).
        assert status["nodeCounts"]["idle"] == 4
        assert status["nodeCounts"].get("unusable", 0) == 0
        assert status["imageId"].lower() == azure_image.id.lower()
        azure_pool = batch.pool.get("rg-batch", "batchdemo", POOL)
        assert azure_pool.deployment_configuration.virtual_machine_configuration \
            .image_reference.id.lower() == azure_image.id.lower()
        crs.wait("managedimages", IMAGE, lambda o: o["status"].get("usedBy") == [POOL])

        # Deleting the image while the pool uses it is refused...
        crs.delete("managedimages", IMAGE)
        blocked = crs.wait("managedimages", IMAGE, has_condition("DeletionBlocked"))
        assert POOL in condition(blocked, "DeletionBlocked")["message"]
        assert blocked["metadata"]["finalizers"]
        assert crs.wait_event(IMAGE, "DeletionBlocked")["type"] == "Warning"
        assert compute.images.get("rg-batch-images", IMAGE).id  # still in Azure

        # ...and completes by itself once the pool (and its Azure pool) are gone.
        crs.delete("batchpools", POOL)
        crs.wait_deleted("batchpools", POOL)
        with pytest.raises(ResourceNotFoundError):
            batch.pool.get("rg-batch", "batchdemo", POOL)
        crs.wait_deleted("managedimages", IMAGE)
        with pytest.raises(ResourceNotFoundError):
            compute.images.get("rg-batch-images", IMAGE)
        # Exactly one blocked warning, not one per retry.
        assert len([e for e in crs.events(IMAGE) if e["reason"] == "DeletionBlocked"]) == 1


def test_invalid_spec_gets_a_condition_and_no_azure_write(kubesim: Emulator,
                                                          azuresim: Emulator, crs: CRs) -> None:
    image, _ = manifests()
    image["metadata"]["name"] = "bad-image"
    # Passes the CRD schema (a well-formed id) but names a foreign provider path the
    # operator must refuse before any Azure call.
    image["spec"]["source"]["snapshots"]["osDisk"]["snapshotId"] = (
        "/subscriptions/3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8/resourceGroups/rg/providers/"
        "Microsoft.Compute/snapshots/..")
    compute, _ = azure_sdk(azuresim.env)
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        bad = crs.wait("managedimages", "bad-image", has_condition("Ready", "False", "InvalidSpec"))
        assert "snapshotId" in condition(bad, "SourceValid")["message"]
        assert crs.wait_event("bad-image", "InvalidSpec")["type"] == "Warning"
    assert [i.name for i in compute.images.list()] == []


def pool_passes(metrics: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith('batchimage_reconciles_total{kind="BatchPool"'))


@pytest.mark.parametrize("azuresim_speed", [("3", "0.3")])
def test_a_pool_sleeps_until_its_image_is_ready(kubesim: Emulator, azuresim: Emulator,
                                                crs: CRs, azuresim_speed: tuple[str, str]
                                                ) -> None:
    """A pool applied before its image does not poll for it (a thousand such pools would
    be a thousand passes per poll interval): the image's changes wake it, at once."""
    image, pool = manifests()
    with running_operator(kubesim.url, azuresim.env, BIO_DRIFT_INTERVAL="300") as op:
        crs.create(pool)
        crs.wait("batchpools", POOL, has_condition("ImageResolved", "False", "ImageNotFound"))
        crs.create(image)
        crs.wait("managedimages", IMAGE, has_condition("Ready"))
        # The image took 3 s to build; at a 0.3 s poll interval, polling made ~10 passes.
        waiting = pool_passes(op.metrics())
        crs.wait("batchpools", POOL, has_condition("Ready"), timeout=20)
    assert waiting <= 4, f"{waiting} passes while waiting for the image"


def test_no_bookkeeping_annotations(kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    """The operator keeps Kopf's bookkeeping in memory: the objects users and Argo CD see
    carry only their own annotations and our finalizer."""
    image, pool = manifests()
    pool["metadata"]["annotations"] = {"team": "render"}
    with running_operator(kubesim.url, azuresim.env):
        crs.create(image)
        crs.create(pool)
        crs.wait("batchpools", POOL, has_condition("Ready"))
        # An edit is still noticed without the last-handled-configuration annotation.
        crs.patch("batchpools", POOL, {"spec": {"scale": {"fixed": {
            "targetDedicatedNodes": 2}}}})
        done = crs.wait("batchpools", POOL, lambda o: has_condition("Ready")(o) and o.get(
            "status", {}).get("currentDedicatedNodes") == 2)
        image_obj = crs.wait("managedimages", IMAGE, has_condition("Ready"))
    for obj in (done, image_obj):
        annotations = obj["metadata"].get("annotations") or {}
        assert not [k for k in annotations if k.startswith("batchimage.dev/")], annotations
        assert obj["metadata"]["finalizers"] == ["batchimage.dev/finalizer"]
    assert done["metadata"]["annotations"] == {"team": "render"}
