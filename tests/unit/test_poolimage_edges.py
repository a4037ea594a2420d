"""The status a BatchPool mirrors of Azure when Azure says little: no image chosen yet,
a Marketplace image, node counts absent or null (planning/poolimage.py, pure)."""

from __future__ import annotations

from typing import Any

from batch_image_operator.models.batchpool import parse_batch_pool
from batch_image_operator.planning.poolimage import mirrored_status

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
SPEC = parse_batch_pool("render", {
    "account": {"resourceGroup": "rg-batch", "name": "acct"}, "vmSize": "Standard_D2s_v3",
    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
    "image": {"marketplace": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04"}},
    "scale": {"fixed": {"targetDedicatedNodes": 3}}}, default_subscription=SUB)


def test_no_image_id_is_mirrored_before_one_is_resolved_or_for_a_marketplace_image() -> None:
    assert mirrored_status(SPEC, None, None) == {"poolId": "render"}
    assert mirrored_status(SPEC, None, {"publisher": "canonical"}) == {"poolId": "render"}


def test_node_counts_azure_leaves_out_or_nulls_are_zero() -> None:
    for props in ({"allocationState": "Resizing"},
                  {"currentDedicatedNodes": None, "currentLowPriorityNodes": None}):
        observed: dict[str, Any] = {"properties": props}
        status = mirrored_status(SPEC, observed, None)
        assert (status["currentDedicatedNodes"], status["currentLowPriorityNodes"]) == (0, 0)
        assert status["resourceId"] == str(SPEC.resource_id)
