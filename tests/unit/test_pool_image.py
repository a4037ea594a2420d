"""Which image a BatchPool boots from, the lineage and demand it is counted under, the
status it mirrors, and how long a re-issued resize waits (planning/, pure)."""

from __future__ import annotations

from typing import Any

import pytest

from batch_image_operator.models.batchpool import BatchPoolSpec, parse_batch_pool
from batch_image_operator.models.reasons import Reason
from batch_image_operator.models.references import ImageInfo
from batch_image_operator.planning.poolimage import (
    demand,
    image_resource_id,
    lineage,
    mirrored_status,
    resolve_image,
)
from batch_image_operator.planning.resizes import resize_backoff
from helpers.azure_fakes import SUB, P

IMAGE = f"{P}/rg-images/providers/Microsoft.Compute/images/Ubuntu"
VERSION = f"{P}/rg-images/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0"
SNAP = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/OS"


def pool(image: dict[str, Any], **scale: Any) -> BatchPoolSpec:
    return parse_batch_pool("render", {
        "account": {"resourceGroup": "rg-batch", "name": "acct"}, "vmSize": "Standard_D2s_v3",
        "nodeAgentSkuId": "batch.node.ubuntu 22.04", "image": image,
        "scale": scale or {"fixed": {"targetDedicatedNodes": 3, "targetLowPriorityNodes": 2}}},
        default_subscription=SUB)


BY_REF = {"managedImageRef": {"name": "ubuntu"}}
BY_ID = {"id": IMAGE}
MARKETPLACE = {"marketplace": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04"}}


def image(ready: bool = True, deleting: bool = False, version: str | None = None) -> ImageInfo:
    return ImageInfo("ubuntu", "img-uid", ready, deleting, IMAGE, version, (SNAP,))


@pytest.mark.parametrize(("found", "reason"), [
    (None, Reason.IMAGE_NOT_FOUND),
    (image(deleting=True), Reason.IMAGE_DELETING),
    (image(ready=False), Reason.IMAGE_NOT_READY),
])
def test_a_managed_image_not_usable_yet_gives_no_reference(found: ImageInfo | None,
                                                           reason: Reason) -> None:
    ref, cond = resolve_image(pool(BY_REF), found)
    assert ref is None
    assert (cond.type, cond.status, cond.reason) == ("ImageResolved", "False", reason)
    assert "ubuntu" in cond.message


def test_a_ready_managed_image_resolves_to_its_gallery_version_when_published() -> None:
    assert resolve_image(pool(BY_REF), image())[0] == {"id": IMAGE}
    ref, cond = resolve_image(pool(BY_REF), image(version=VERSION))
    assert ref == {"id": VERSION}
    assert (cond.status, cond.reason, cond.message) == ("True", Reason.IMAGE_READY, VERSION)


def test_an_image_id_and_a_marketplace_image_resolve_without_waiting() -> None:
    ref, cond = resolve_image(pool(BY_ID), None)
    assert ref == {"id": IMAGE} and cond.reason == Reason.IMAGE_ID
    ref, cond = resolve_image(pool(MARKETPLACE), None)
    assert ref is not None and ref["publisher"] == "canonical" and "id" not in ref
    assert cond.reason == Reason.MARKETPLACE and cond.message.startswith("canonical:ubuntu:")


def test_the_policy_gate_sees_only_a_well_formed_custom_image_id() -> None:
    assert str(image_resource_id({"id": IMAGE})).lower() == IMAGE.lower()
    assert image_resource_id({"publisher": "canonical"}) is None
    assert image_resource_id(None) is None
    assert image_resource_id({"id": "/subscriptions/x/../../etc"}) is None


def test_lineage_counts_custom_images_only_case_blind() -> None:
    assert lineage(pool(BY_REF), image()) == {IMAGE.lower(), SNAP.lower()}
    assert lineage(pool(BY_REF), None) == frozenset()
    assert lineage(pool(BY_ID), None) == {IMAGE.lower()}
    assert lineage(pool(MARKETPLACE), None) == frozenset()


def test_demand_is_the_fixed_target_or_the_autoscale_ceiling() -> None:
    fixed = demand(pool(BY_ID), "ns", "render", "u1", None)
    assert (fixed.namespace, fixed.dedicated, fixed.low_priority) == ("ns", 3, 2)
    auto = demand(pool(BY_ID, autoScale={"formula": "$TargetDedicatedNodes = 1;",
                                         "maxDedicatedNodes": 40}), None, "render", "u1", None)
    assert (auto.namespace, auto.dedicated, auto.low_priority) == ("", 40, 0)


def test_the_status_mirrors_what_azure_reports_including_the_image_it_boots() -> None:
    spec = pool(BY_REF)
    assert mirrored_status(spec, None, {"id": IMAGE}) == {"poolId": "render", "imageId": IMAGE}
    observed = {"id": "/pool-id", "properties": {
        "provisioningState": "Succeeded", "allocationState": "Steady",
        "currentDedicatedNodes": 3, "deploymentConfiguration": {
            "virtualMachineConfiguration": {"imageReference": {"id": VERSION}}}}}
    status = mirrored_status(spec, observed, {"id": IMAGE})
    assert status["imageId"] == VERSION  # what Azure boots, not what was asked
    assert (status["resourceId"], status["allocationState"], status["currentDedicatedNodes"],
            status["currentLowPriorityNodes"], status["resizeErrors"]) == (
        "/pool-id", "Steady", 3, 0, [])


def test_resize_backoff_doubles_then_stops_at_its_cap() -> None:
    waits = [resize_backoff(attempt, 30.0) for attempt in range(1, 9)]
    assert waits == [0.0, 30.0, 60.0, 120.0, 240.0, 480.0, 480.0, 480.0]
