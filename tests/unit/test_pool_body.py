"""The Batch pool body a spec asks for (planning/pools.py) and the image facts pools read
from a ManagedImage (planning/references.py): pure."""

from __future__ import annotations

from typing import Any

from batch_image_operator.models.batchpool import parse_batch_pool
from batch_image_operator.planning.pools import capped_formula, desired_pool_body
from batch_image_operator.planning.references import image_info
from helpers.azure_fakes import SUB, P

IMAGE = f"{P}/rg-images/providers/Microsoft.Compute/images/ubuntu"
BASE: dict[str, Any] = {
    "account": {"resourceGroup": "rg-batch", "name": "acct"}, "vmSize": "Standard_D2s_v3",
    "nodeAgentSkuId": "batch.node.ubuntu 22.04", "image": {"id": IMAGE}}


def body(**spec: Any) -> dict[str, Any]:
    parsed = parse_batch_pool("render", {**BASE, **spec}, default_subscription=SUB)
    return desired_pool_body(parsed, {"id": IMAGE})["properties"]


def test_an_autoscale_formula_ends_with_the_declared_ceiling() -> None:
    scale = body(scale={"autoScale": {"formula": "$TargetDedicatedNodes = 10",
                                      "maxDedicatedNodes": 4}})["scaleSettings"]
    formula = scale["autoScale"]["formula"]
    assert formula.startswith("$TargetDedicatedNodes = 10;\n")
    # Batch applies statements in order: the cap, last, always wins.
    assert formula.endswith("$TargetDedicatedNodes = min($TargetDedicatedNodes, 4);\n"
                            "$TargetLowPriorityNodes = min($TargetLowPriorityNodes, 0);")
    uncapped = parse_batch_pool("render", {**BASE, "image": {"marketplace": {
        "publisher": "canonical", "offer": "ubuntu", "sku": "22_04"}},
        "scale": {"autoScale": {"formula": "$TargetDedicatedNodes = 1;"}}},
        default_subscription=SUB)
    assert capped_formula(uncapped) == "$TargetDedicatedNodes = 1;"


def test_a_start_task_runs_as_the_pools_auto_user_and_waits_by_default() -> None:
    task = body(scale={"fixed": {"targetDedicatedNodes": 1}}, startTask={
        "commandLine": "/bin/sh -c setup", "maxTaskRetryCount": 2,
        "environmentSettings": [{"name": "A", "value": "1"}],
        "resourceFiles": [{"httpUrl": "https://x.example/f", "filePath": "f"}]})["startTask"]
    assert task == {
        "commandLine": "/bin/sh -c setup", "waitForSuccess": True,
        "userIdentity": {"autoUser": {"scope": "Pool", "elevationLevel": "NonAdmin"}},
        "maxTaskRetryCount": 2, "environmentSettings": [{"name": "A", "value": "1"}],
        "resourceFiles": [{"httpUrl": "https://x.example/f", "filePath": "f"}]}
    assert "startTask" not in body(scale={"fixed": {"targetDedicatedNodes": 1}})


def meta(**extra: Any) -> dict[str, Any]:
    return {"uid": "img-uid", **extra}


READY = {"imageId": IMAGE, "conditions": [{"type": "Ready", "status": "True"}]}
SNAPSHOTS = {"resourceGroup": "rg-images", "location": "westeurope", "source": {
    "snapshots": {"osDisk": {"snapshotId": f"{P}/rg-images/providers/Microsoft.Compute/"
                                           "snapshots/os", "osType": "Linux"}}}}


def test_an_image_is_ready_for_pools_only_with_its_own_id_recorded() -> None:
    info = image_info("ubuntu", meta(), SNAPSHOTS, READY, default_subscription=SUB)
    assert (info.ready, info.deleting, info.effective_id) == (True, False, IMAGE)
    assert len(info.snapshot_ids) == 1  # counted in the same lineage as its snapshots
    forged = {**READY, "imageId": f"{P}/rg-other/providers/Microsoft.Compute/images/x"}
    assert not image_info("ubuntu", meta(), SNAPSHOTS, forged, default_subscription=SUB).ready
    deleting = image_info("ubuntu", meta(deletionTimestamp="2026-01-01T00:00:00Z"),
                          SNAPSHOTS, READY, default_subscription=SUB)
    assert deleting.deleting


def test_a_published_image_offers_its_gallery_version_and_captures_join_its_lineage() -> None:
    spec = {**SNAPSHOTS, "source": {"virtualMachine": {
        "id": f"{P}/rg-images/providers/Microsoft.Compute/virtualMachines/vm"}},
        "gallery": {"galleryName": "g", "imageDefinition": "d", "version": "1.0.0",
                    "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}}
    version = f"{P}/rg-images/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0"
    own = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/ubuntu-os"
    status = {**READY, "galleryImageVersionId": version,
              "snapshotIds": [own, f"{P}/rg-x/providers/Microsoft.Compute/snapshots/other"]}
    info = image_info("ubuntu", meta(), spec, status, default_subscription=SUB)
    assert info.effective_id is not None and info.effective_id.lower() == version.lower()
    assert [s.lower() for s in info.snapshot_ids] == [own.lower()]  # status is no authority


def test_an_invalid_image_spec_is_never_ready() -> None:
    info = image_info("ubuntu", meta(), {"location": "westeurope"}, READY,
                      default_subscription=SUB)
    assert (info.ready, info.image_id, info.uid) == (False, None, "img-uid")
