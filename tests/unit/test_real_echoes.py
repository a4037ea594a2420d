"""Diff-before-write against what Azure really answers: each echo recorded from real
traffic (Batch upper-cases vmSize, adds a Marketplace version and the deallocation
option; galleries rewrite region names and add defaults) costs no write."""

from test_models import SUB, image_spec, pool_spec
from test_planning import IMAGE_REF, observed_pool

from batch_image_operator.models.batchpool import parse_batch_pool
from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.gallery import GalleryAction, plan_gallery, version_body
from batch_image_operator.planning.pools import PoolAction, desired_pool_body, plan_pool

MARKETPLACE = {"publisher": "canonical", "offer": "0001-com-ubuntu-server-jammy",
               "sku": "22_04-lts"}


def test_vm_size_echoed_in_upper_case_is_no_change():
    spec = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    observed = observed_pool(spec)
    observed["properties"]["vmSize"] = "STANDARD_D2S_V3"
    assert plan_pool(spec, IMAGE_REF, observed).action is PoolAction.READY


def test_marketplace_reference_echoed_with_latest_is_no_change():
    spec = parse_batch_pool("p", pool_spec(image={"marketplace": MARKETPLACE}),
                            default_subscription=SUB)
    ref = {**MARKETPLACE, "version": "latest"}
    observed = desired_pool_body(spec, MARKETPLACE)  # as sent: no version
    observed["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"][
        "imageReference"] = ref                      # as echoed: version latest
    observed["properties"].update(allocationState="Steady", currentDedicatedNodes=2,
                                  currentLowPriorityNodes=0)
    assert plan_pool(spec, {**MARKETPLACE, "version": "latest"}, observed).action \
        is PoolAction.READY


def test_resize_status_with_requeue_added_is_no_change():
    spec = parse_batch_pool("p", pool_spec(), default_subscription=SUB)
    observed = observed_pool(spec, resizeOperationStatus={
        "targetDedicatedNodes": 2, "targetLowPriorityNodes": 0, "resizeTimeout": "PT20M",
        "nodeDeallocationOption": "Requeue", "startTime": "2026-01-01T00:00:00Z"})
    assert plan_pool(spec, IMAGE_REF, observed).action is PoolAction.READY


def _gallery_spec():
    return parse_managed_image("img", image_spec(gallery={
        "galleryName": "gal", "imageDefinition": "def", "version": "1.0.0",
        "identifier": {"publisher": "p", "offer": "o", "sku": "s"},
        "targetRegions": [{"name": "eastus2", "replicaCount": 2}]}), default_subscription=SUB)


def test_gallery_version_echoed_with_display_names_and_defaults_is_published():
    spec = _gallery_spec()
    image_id = str(spec.image_id)
    version = version_body(spec, image_id)
    version["properties"]["provisioningState"] = "Succeeded"
    version["properties"]["publishingProfile"] = {
        "targetRegions": [
            {"name": "West Europe", "regionalReplicaCount": 1,
             "storageAccountType": "Standard_LRS"},
            {"name": "East US 2", "regionalReplicaCount": 2,
             "storageAccountType": "Standard_LRS"}],
        "replicaCount": 1, "storageAccountType": "Standard_LRS", "excludeFromLatest": False}
    version["properties"]["replicationStatus"] = {"aggregatedState": "Completed", "summary": [
        {"region": "West Europe", "state": "Completed", "progress": 100},
        {"region": "East US 2", "state": "Completed", "progress": 100}]}
    definition = {"properties": {"osType": "Linux", "osState": "Generalized",
                                 "architecture": "x64", "hyperVGeneration": "V1",
                                 "provisioningState": "Succeeded"}}
    plan = plan_gallery(spec, gallery={"properties": {}}, definition=definition,
                        version=version, image_id=image_id, os_type="Linux")
    assert plan.action is GalleryAction.PUBLISHED
    assert "East US 2 Completed 100%" in plan.message
