"""A Batch pool read back as Azure answers (JSON): the autoscale ceiling the spec declares,
what a PATCH carries (scale, start task, metadata) and only when it differs, immutable
fields either way round, and what steady at target means."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from test_models import SUB, pool_spec

from batch_image_operator.models.batchpool import parse_batch_pool
from batch_image_operator.planning.pools import (
    PoolAction,
    at_target,
    capped_formula,
    desired_pool_body,
    mutable_patch,
    plan_pool,
    resize_errors,
)

REF = {"id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/i"}
START = {"commandLine": "/bin/true", "waitForSuccess": True}


def spec(**over: Any):
    return parse_batch_pool("p", pool_spec(**over), default_subscription=SUB)


def echoed(s, **props: Any) -> dict[str, Any]:
    body = copy.deepcopy(desired_pool_body(s, REF))
    body["properties"].update({"allocationState": "Steady", "provisioningState": "Succeeded",
                               "currentDedicatedNodes": 2, "currentLowPriorityNodes": 0,
                               **props})
    return json.loads(json.dumps(body))


def auto(formula: str, **caps: int):
    return spec(scale={"autoScale": {"formula": formula, **caps}})


MARKETPLACE = {"marketplace": {"publisher": "p", "offer": "o", "sku": "s"}}


def test_the_declared_ceiling_ends_the_formula() -> None:
    open_ended = spec(image=MARKETPLACE,
                      scale={"autoScale": {"formula": "$TargetDedicatedNodes = 4"}})
    assert capped_formula(open_ended) == "$TargetDedicatedNodes = 4"  # no ceiling declared
    capped = capped_formula(auto("$TargetDedicatedNodes = 9;  ", maxDedicatedNodes=5))
    assert capped == ("$TargetDedicatedNodes = 9;\n"
                      "$TargetDedicatedNodes = min($TargetDedicatedNodes, 5);\n"
                      "$TargetLowPriorityNodes = min($TargetLowPriorityNodes, 0);")
    low = capped_formula(auto("$TargetLowPriorityNodes = 9", maxLowPriorityNodes=3))
    assert low.endswith("= 9;\n$TargetDedicatedNodes = min($TargetDedicatedNodes, 0);\n"
                        "$TargetLowPriorityNodes = min($TargetLowPriorityNodes, 3);")


def test_a_converged_pool_needs_no_patch_and_is_ready() -> None:
    s = spec(startTask=START, metadata=[{"name": "team", "value": "a"}], displayName="P")
    seen = echoed(s)
    assert mutable_patch(desired_pool_body(s, REF), seen) == {}
    assert plan_pool(s, REF, seen).action is PoolAction.READY


@pytest.mark.parametrize("nodes", [1, 3])  # below and above the spec's 2
def test_another_fixed_target_is_patched(nodes: int) -> None:
    s = spec()
    seen = echoed(s)
    seen["properties"]["scaleSettings"]["fixedScale"]["targetDedicatedNodes"] = nodes
    patch = mutable_patch(desired_pool_body(s, REF), seen)
    assert patch == {"scaleSettings": desired_pool_body(s, REF)["properties"]["scaleSettings"]}


def test_a_low_priority_target_azure_omits_is_zero() -> None:
    s = spec()
    seen = echoed(s)
    del seen["properties"]["scaleSettings"]["fixedScale"]["targetLowPriorityNodes"]
    assert mutable_patch(desired_pool_body(s, REF), seen) == {}


def test_start_task_added_changed_or_removed_is_patched() -> None:
    with_task, without = spec(startTask=START), spec()
    assert mutable_patch(desired_pool_body(with_task, REF), echoed(without)) == {
        "startTask": desired_pool_body(with_task, REF)["properties"]["startTask"]}
    assert mutable_patch(desired_pool_body(without, REF), echoed(with_task)) == {"startTask": {}}
    changed = echoed(with_task)
    changed["properties"]["startTask"]["commandLine"] = "/bin/false"
    assert "startTask" in mutable_patch(desired_pool_body(with_task, REF), changed)
    more = echoed(with_task)  # Azure's own defaults added to the task are no change
    more["properties"]["startTask"]["maxTaskRetryCount"] = 0
    assert mutable_patch(desired_pool_body(with_task, REF), more) == {}


def test_metadata_removed_in_the_spec_is_patched_away() -> None:
    s = spec()
    seen = echoed(spec(metadata=[{"name": "team", "value": "a"}]))
    assert mutable_patch(desired_pool_body(s, REF), seen) == {"metadata": []}


@pytest.mark.parametrize(("field", "value"), [
    ("vmSize", "STANDARD_A1"), ("vmSize", "standard_z9"),
    ("taskSlotsPerNode", 4)])
def test_immutable_fields_are_reported_either_way(field: str, value: Any) -> None:
    s = spec()
    got = plan_pool(s, REF, echoed(s, **{field: value}))
    assert got.action is PoolAction.IMMUTABLE and field in got.message


@pytest.mark.parametrize("sku", ["batch.node.aaa", "batch.node.zzz"])
def test_another_node_agent_is_immutable(sku: str) -> None:
    s = spec()
    seen = echoed(s)
    seen["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"][
        "nodeAgentSkuId"] = sku
    assert "nodeAgentSkuId" in plan_pool(s, REF, seen).message


@pytest.mark.parametrize("image", ["/a", "/z"])
def test_another_image_is_immutable(image: str) -> None:
    s = spec()
    seen = echoed(s)
    seen["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"][
        "imageReference"] = {"id": image}
    assert "image" in plan_pool(s, REF, seen).message


@pytest.mark.parametrize("state", ["Resizing", "Stopping", "steady-ish"])
def test_only_steady_at_target_is_at_target(state: str) -> None:
    s = spec()
    assert at_target(s, echoed(s))
    assert not at_target(s, echoed(s, allocationState=state))
    assert not at_target(s, echoed(s, currentLowPriorityNodes=1))
    assert not at_target(s, echoed(s, currentDedicatedNodes=None))


def test_a_pool_azure_is_deleting_is_waited_for() -> None:
    s = spec()
    assert plan_pool(s, REF, echoed(s, provisioningState="Deleting")).action is PoolAction.WAIT


def test_an_autoscale_pool_carries_its_capped_formula_and_is_patched_when_it_changes() -> None:
    s = auto("$TargetDedicatedNodes = 9", maxDedicatedNodes=5)
    scale = desired_pool_body(s, REF)["properties"]["scaleSettings"]["autoScale"]
    assert scale["formula"] == capped_formula(s)
    seen = echoed(s)
    assert mutable_patch(desired_pool_body(s, REF), seen) == {}
    assert plan_pool(s, REF, seen).action is PoolAction.READY  # steady is its target
    seen["properties"]["scaleSettings"]["autoScale"]["formula"] = "$TargetDedicatedNodes = 1;"
    assert "scaleSettings" in mutable_patch(desired_pool_body(s, REF), seen)


def test_display_name_and_subnet_are_sent_only_when_set() -> None:
    subnet = (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/"
              "virtualNetworks/v/subnets/s")
    full = desired_pool_body(spec(displayName="Render", network={"subnetId": subnet}), REF)
    assert full["properties"]["displayName"] == "Render"
    assert full["properties"]["networkConfiguration"] == {"subnetId": subnet}
    bare = desired_pool_body(spec(), REF)["properties"]
    assert "displayName" not in bare and "networkConfiguration" not in bare


def test_what_azure_leaves_out_reads_as_its_default() -> None:
    s = spec(scale={"fixed": {"targetDedicatedNodes": 0, "targetLowPriorityNodes": 1,
                              "resizeTimeout": "PT20M"}})
    seen = echoed(s, currentLowPriorityNodes=1)
    fixed = seen["properties"]["scaleSettings"]["fixedScale"]
    del fixed["targetDedicatedNodes"]
    del seen["properties"]["currentDedicatedNodes"], seen["properties"]["taskSlotsPerNode"]
    assert mutable_patch(desired_pool_body(s, REF), seen) == {}
    assert plan_pool(s, REF, seen).action is PoolAction.READY


def test_a_task_slot_count_below_the_spec_is_immutable_too() -> None:
    s = spec(taskSlotsPerNode=4)
    assert "taskSlotsPerNode" in plan_pool(s, REF, echoed(s, taskSlotsPerNode=1)).message


@pytest.mark.parametrize("count", [0, 2])
def test_a_start_task_with_other_settings_is_patched(count: int) -> None:
    s = spec(startTask={**START, "environmentSettings": [{"name": "A", "value": "1"}]})
    seen = echoed(s)
    seen["properties"]["startTask"]["environmentSettings"] = [
        {"name": "A", "value": "1"}] * count
    assert "startTask" in mutable_patch(desired_pool_body(s, REF), seen)


def test_more_or_fewer_nodes_than_the_target_are_not_at_target() -> None:
    s = spec(scale={"fixed": {"targetDedicatedNodes": 2, "targetLowPriorityNodes": 1}})
    assert at_target(s, echoed(s, currentLowPriorityNodes=1))
    assert not at_target(s, echoed(s, currentDedicatedNodes=3, currentLowPriorityNodes=1))
    assert not at_target(s, echoed(s, currentLowPriorityNodes=0))


def test_resize_errors_are_read_from_azures_answer() -> None:
    s = spec()
    seen = echoed(s, resizeOperationStatus={"errors": [
        {"code": "AllocationTimedout", "message": "capped", "details": []}]})
    assert resize_errors(seen) == [{"code": "AllocationTimedout", "message": "capped"}]
    assert resize_errors(echoed(s)) == []


def test_a_start_task_waits_for_success_unless_told_otherwise() -> None:
    task = desired_pool_body(spec(startTask={"commandLine": "/bin/true"}), REF)
    assert task["properties"]["startTask"]["waitForSuccess"] is True


def test_a_changed_command_line_is_patched_whichever_way_it_sorts() -> None:
    s = spec(startTask=START)
    seen = echoed(s)
    seen["properties"]["startTask"]["commandLine"] = "/bin/zzz"
    assert "startTask" in mutable_patch(desired_pool_body(s, REF), seen)


def test_a_changed_resize_timeout_or_evaluation_interval_is_patched() -> None:
    fixed = spec(scale={"fixed": {"targetDedicatedNodes": 2, "resizeTimeout": "PT20M"}})
    seen = echoed(fixed)
    seen["properties"]["scaleSettings"]["fixedScale"]["resizeTimeout"] = "PT30M"
    assert "scaleSettings" in mutable_patch(desired_pool_body(fixed, REF), seen)
    s = spec(scale={"autoScale": {"formula": "$TargetDedicatedNodes = 1",
                                  "maxDedicatedNodes": 1, "evaluationInterval": "PT10M"}})
    seen = echoed(s)
    seen["properties"]["scaleSettings"]["autoScale"]["evaluationInterval"] = "PT30M"
    assert "scaleSettings" in mutable_patch(desired_pool_body(s, REF), seen)


def test_a_new_scale_waits_while_the_pool_is_stopping_a_resize() -> None:
    s = spec()
    seen = echoed(s, allocationState="Stopping")
    seen["properties"]["scaleSettings"]["fixedScale"]["targetDedicatedNodes"] = 5
    assert plan_pool(s, REF, seen).action is PoolAction.WAIT


def test_a_large_pool_at_its_target_is_at_target() -> None:
    s = spec(scale={"fixed": {"targetDedicatedNodes": 1000, "targetLowPriorityNodes": 300}})
    assert at_target(s, echoed(s, currentDedicatedNodes=int("1000"),
                               currentLowPriorityNodes=int("300")))
