"""BatchPool spec validation at its edges: every bound accepted at the limit and refused
one past it, every malformed field named, nothing crashing on a wrong type (models/, pure).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from batch_image_operator.models.batchpool import (
    BatchPoolSpec,
    duration_seconds,
    parse_batch_pool,
)
from batch_image_operator.models.errors import SpecInvalid
from helpers.ids import HIGHER_SUB, LOWER_SUB, SUB

IMAGE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-img/providers/Microsoft.Compute/images/ubuntu"
MARKETPLACE = {"marketplace": {"publisher": "canonical", "offer": "ubuntu", "sku": "22_04"}}


def raw(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "account": {"resourceGroup": "rg-batch", "name": "batchacct"},
        "vmSize": "Standard_D2s_v3", "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "image": {"managedImageRef": {"name": "img"}},
        "scale": {"fixed": {"targetDedicatedNodes": 2}}}
    spec.update(over)
    return spec


def parse(**over: Any) -> BatchPoolSpec:
    return parse_batch_pool("render", raw(**over), default_subscription=SUB)


def refused(**over: Any) -> dict[str, str]:
    """The fields the spec is refused for, with their messages."""
    with pytest.raises(SpecInvalid) as err:
        parse(**over)
    return {e.field: e.message for e in err.value.errors}


def fixed(**targets: Any) -> dict[str, Any]:
    return {"fixed": targets}


def auto(**extra: Any) -> dict[str, Any]:
    return {"autoScale": {"formula": "$TargetDedicatedNodes = 1;", **extra}}


def test_the_ids_a_pool_is_known_by_in_azure() -> None:
    spec = parse(poolId="render-01")
    assert str(spec.resource_id) == (
        f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch"
        "/batchAccounts/batchacct/pools/render-01")
    assert str(spec.account_id) == (
        f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch"
        "/batchAccounts/batchacct")


def test_only_marketplace_images_are_not_custom() -> None:
    assert parse().custom_image is True
    assert parse(image={"id": IMAGE_ID}).custom_image is True
    assert parse(image=MARKETPLACE).custom_image is False


def test_a_marketplace_image_defaults_to_the_latest_version() -> None:
    assert parse(image=MARKETPLACE).image.marketplace == ("canonical", "ubuntu", "22_04", "latest")
    pinned = {"marketplace": {**MARKETPLACE["marketplace"], "version": "22.04.202611"}}
    assert parse(image=pinned).image.marketplace == ("canonical", "ubuntu", "22_04",
                                                     "22.04.202611")


@pytest.mark.parametrize("marketplace", [
    "canonical:ubuntu:22_04",
    {"publisher": "canonical", "offer": "ubuntu", "sku": 2204},
    {"publisher": "canonical", "offer": "", "sku": "22_04"},
])
def test_a_malformed_marketplace_image_is_refused(marketplace: Any) -> None:
    assert "spec.image.marketplace" in refused(image={"marketplace": marketplace})


def test_two_ways_of_naming_the_image_are_refused() -> None:
    both = {"managedImageRef": {"name": "img"}, **MARKETPLACE}
    assert refused(image=both)["spec.image"].startswith("exactly one of")


def test_an_image_id_is_used_as_given() -> None:
    assert str(parse(image={"id": IMAGE_ID}).image.image_id) == IMAGE_ID


@pytest.mark.parametrize("image_sub", [LOWER_SUB, HIGHER_SUB])
def test_an_image_in_another_subscription_than_the_account_is_refused(image_sub: str) -> None:
    image_id = IMAGE_ID.replace(SUB, image_sub)
    assert refused(image={"id": image_id})["spec.image.id"] == \
        "the image must be in the Batch account's subscription"


def test_a_malformed_vm_size_or_node_agent_is_refused() -> None:
    assert "spec.vmSize" in refused(vmSize="Standard D2s v3")
    assert "spec.vmSize" in refused(vmSize=2)
    assert "spec.nodeAgentSkuId" in refused(nodeAgentSkuId="")
    assert "spec.nodeAgentSkuId" in refused(nodeAgentSkuId=22)


def test_fixed_targets_default_to_zero() -> None:
    spec = parse(scale=fixed(targetLowPriorityNodes=4))
    assert spec.fixed is not None
    assert (spec.fixed.target_dedicated, spec.fixed.target_low_priority) == (0, 4)
    assert spec.node_demand == (0, 4)


@pytest.mark.parametrize(("key", "hi"), [("targetDedicatedNodes", 2500),
                                         ("targetLowPriorityNodes", 1000)])
def test_fixed_targets_are_bounded_by_the_batch_limits(key: str, hi: int) -> None:
    assert parse(scale=fixed(**{key: 0})).fixed is not None
    assert parse(scale=fixed(**{key: hi})).node_demand == \
        ((hi, 0) if key == "targetDedicatedNodes" else (0, hi))
    for bad in (-1, hi + 1, True, "3", 2.0):
        assert refused(scale=fixed(**{key: bad}))[f"spec.scale.fixed.{key}"] == \
            f"must be an integer between 0 and {hi}", bad


@pytest.mark.parametrize(("key", "hi"), [("maxDedicatedNodes", 2500),
                                         ("maxLowPriorityNodes", 1000)])
def test_autoscale_ceilings_are_bounded_by_the_batch_limits(key: str, hi: int) -> None:
    other = "maxLowPriorityNodes" if key == "maxDedicatedNodes" else "maxDedicatedNodes"
    assert parse(scale=auto(**{key: 0, other: 1})).auto_scale is not None
    at_limit = parse(scale=auto(**{key: hi})).node_demand
    assert at_limit == ((hi, 0) if key == "maxDedicatedNodes" else (0, hi))
    for bad in (-1, hi + 1):
        assert refused(scale=auto(**{key: bad}))[f"spec.scale.autoScale.{key}"] == \
            f"must be an integer between 0 and {hi}"


def test_task_slots_default_to_one_and_are_bounded() -> None:
    assert parse().task_slots_per_node == 1
    assert parse(taskSlotsPerNode=1).task_slots_per_node == 1
    assert parse(taskSlotsPerNode=256).task_slots_per_node == 256
    for bad in (0, 257):
        assert refused(taskSlotsPerNode=bad)["spec.taskSlotsPerNode"] == \
            "must be an integer between 1 and 256"


def test_durations_add_their_parts() -> None:
    assert duration_seconds("PT1M4S") == 64
    assert duration_seconds("PT1H1S") == 3601
    assert duration_seconds("PT90S") == 90


def test_the_resize_timeout_is_at_least_five_minutes() -> None:
    spec = parse(scale=fixed(targetDedicatedNodes=1, resizeTimeout="PT5M"))
    assert spec.fixed is not None and spec.fixed.resize_timeout == "PT5M"
    assert refused(scale=fixed(targetDedicatedNodes=1, resizeTimeout="PT4M59S"))[
        "spec.scale.fixed.resizeTimeout"] == "Batch requires at least 5 minutes"
    assert refused(scale=fixed(targetDedicatedNodes=1, resizeTimeout="PT4M"))[
        "spec.scale.fixed.resizeTimeout"] == "Batch requires at least 5 minutes"


def test_the_autoscale_evaluation_interval_is_at_least_five_minutes() -> None:
    spec = parse(scale=auto(maxDedicatedNodes=3, evaluationInterval="PT5M"))
    assert spec.auto_scale is not None and spec.auto_scale.evaluation_interval == "PT5M"
    assert refused(scale=auto(maxDedicatedNodes=3, evaluationInterval="PT299S"))[
        "spec.scale.autoScale.evaluationInterval"] == "Batch requires at least 5 minutes"


def test_an_autoscale_pool_demands_its_declared_ceiling() -> None:
    assert parse(scale=auto(maxLowPriorityNodes=7)).node_demand == (0, 7)
    assert parse(scale=auto(maxDedicatedNodes=9)).node_demand == (9, 0)
    assert parse(image=MARKETPLACE, scale=auto()).node_demand == (0, 0)


@pytest.mark.parametrize("image", [{"managedImageRef": {"name": "img"}}, {"id": IMAGE_ID}])
def test_an_autoscale_pool_on_a_custom_image_must_declare_its_ceiling(image: Any) -> None:
    assert "node ceiling" in refused(image=image, scale=auto())["spec.scale.autoScale"]
    assert parse(image=image, scale=auto(maxDedicatedNodes=3)).auto_scale is not None
    assert parse(image=image, scale=auto(maxLowPriorityNodes=3)).auto_scale is not None


def test_reserved_metadata_names_are_refused() -> None:
    problems = refused(metadata=[{"name": "batchimage.dev/owner", "value": "x"}])
    assert "reserved" in problems["spec.metadata"]
    assert parse(metadata=[{"name": "team", "value": "a"}]).metadata == (("team", "a"),)


def test_a_malformed_subnet_is_refused_with_its_field() -> None:
    assert "spec.network.subnetId" in refused(network={"subnetId": "/subscriptions/x/../y"})


@pytest.mark.parametrize("image", [{}, {"id": None, "marketplace": None}])
def test_no_image_named_is_refused(image: dict[str, Any]) -> None:
    assert refused(image=image)["spec.image"].startswith("exactly one of")


@pytest.mark.parametrize("ref", [{"name": ""}, {"name": 5}, {}, "img"])
def test_a_managed_image_ref_without_a_name_is_refused(ref: Any) -> None:
    assert refused(image={"managedImageRef": ref})["spec.image.managedImageRef.name"] == \
        "Required value"


@pytest.mark.parametrize("formula", ["", "   ", 5])
def test_an_autoscale_pool_without_a_formula_is_refused(formula: Any) -> None:
    scale = {"autoScale": {"formula": formula, "maxDedicatedNodes": 2}}
    assert refused(scale=scale)["spec.scale.autoScale.formula"] == "Required value"


def test_the_display_name_is_kept_only_when_it_is_text() -> None:
    assert parse(displayName="Render farm").display_name == "Render farm"
    assert parse(displayName=["Render"]).display_name is None
    assert parse().display_name is None


def test_an_empty_duration_from_the_api_is_refused() -> None:
    # Values arrive as parsed JSON: never the same string objects as the code's literals.
    empty = json.loads('"PT"')
    assert duration_seconds(empty) is None
    assert "spec.scale.fixed.resizeTimeout" in refused(
        scale=fixed(targetDedicatedNodes=1, resizeTimeout=empty))


@pytest.mark.parametrize(("scale", "field"), [
    ({"fixed": 3}, "spec.scale.fixed"),
    ({"autoScale": "$TargetDedicatedNodes=2"}, "spec.scale.autoScale")])
def test_a_scale_that_is_not_an_object_is_refused_not_counted_as_zero_nodes(
        scale: dict[str, Any], field: str) -> None:
    # Found by mutation testing: such a pool parsed with no scale, 0 nodes in its lineage.
    with pytest.raises(SpecInvalid) as err:
        parse_batch_pool("render", json.loads(json.dumps(raw(scale=scale))),
                         default_subscription=SUB)
    assert f"{field}: must be an object" in str(err.value)
