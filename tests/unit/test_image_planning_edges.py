"""An existing Azure image read back as Azure answers (JSON): what counts as a change
Azure cannot make (source, location, generation, either way round), what a failed build
or a finished deletion looks like, and the bodies of VM and VHD images with tags."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from test_models import SUB, image_spec

from batch_image_operator.models.errors import SpecInvalid
from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.images import (
    DeletionAction,
    ImageAction,
    desired_image_body,
    plan_deletion,
    plan_image,
)

RG = f"/subscriptions/{SUB}/resourceGroups/rg/providers"
STORAGE = f"{RG}/Microsoft.Storage/storageAccounts/acct"


def spec(**over: Any):
    return parse_managed_image("img", image_spec(**over), default_subscription=SUB)


def as_azure(body: dict[str, Any], state: str = "Succeeded", **props: Any) -> dict[str, Any]:
    seen = copy.deepcopy(body)
    seen["properties"].update({"provisioningState": state, **props})
    return json.loads(json.dumps(seen))


@pytest.mark.parametrize("other", ["aaa", "zzz"])  # sorting before and after the spec's
def test_another_os_snapshot_in_azure_is_an_immutable_source_change(other: str) -> None:
    s = spec()
    seen = as_azure(desired_image_body(s))
    seen["properties"]["storageProfile"]["osDisk"]["snapshot"]["id"] = \
        f"{RG}/Microsoft.Compute/snapshots/{other}"
    got = plan_image(s, seen)
    assert got.action is ImageAction.IMMUTABLE and "source" in got.message


@pytest.mark.parametrize("location", ["eastus", "westus2"])  # before and after westeurope
def test_another_location_in_azure_is_immutable(location: str) -> None:
    s = spec()
    got = plan_image(s, as_azure({**desired_image_body(s), "location": location}))
    assert got.action is ImageAction.IMMUTABLE and "location" in got.message


@pytest.mark.parametrize(("want", "have"), [("V2", "V1"), ("V1", "V2")])
def test_another_generation_in_azure_is_immutable(want: str, have: str) -> None:
    s = spec(hyperVGeneration=want)
    got = plan_image(s, as_azure(desired_image_body(s), hyperVGeneration=have))
    assert got.action is ImageAction.IMMUTABLE and "hyperVGeneration" in got.message


def test_the_same_image_read_back_is_ready_even_without_a_generation() -> None:
    s = spec(hyperVGeneration="V2")
    assert plan_image(s, as_azure(desired_image_body(s))).action is ImageAction.READY
    bare = as_azure(desired_image_body(s))
    del bare["properties"]["hyperVGeneration"]
    assert plan_image(s, bare).action is ImageAction.READY


def test_a_failed_build_is_failed_and_a_canceled_one_is_not() -> None:
    s = spec()
    assert plan_image(s, as_azure(desired_image_body(s), "Failed")).action is ImageAction.FAILED
    assert plan_image(s, as_azure(desired_image_body(s), "Canceled")).action is not \
        ImageAction.FAILED


def test_a_vhd_in_another_blob_is_an_immutable_source_change() -> None:
    vhd = {"vhd": {"blobUri": "https://acct.blob.core.windows.net/c/a.vhd", "osType": "Linux",
                   "storageAccountId": STORAGE}}
    s = spec(source=vhd)
    seen = as_azure(desired_image_body(s))
    seen["properties"]["storageProfile"]["osDisk"]["blobUri"] = \
        "https://acct.blob.core.windows.net/c/b.vhd"
    assert plan_image(s, seen).action is ImageAction.IMMUTABLE


def test_vm_and_vhd_images_carry_their_source_and_tags() -> None:
    vm_id = f"{RG}/Microsoft.Compute/virtualMachines/vm"
    direct = spec(source={"virtualMachine": {"id": vm_id, "capture": "Direct"}},
                  tags={"team": "a"})
    body = desired_image_body(direct)
    assert body["properties"]["sourceVirtualMachine"]["id"] == vm_id
    assert body["tags"] == {"team": "a"}
    vhd = spec(source={"vhd": {"blobUri": "https://acct.blob.core.windows.net/c/a.vhd",
                               "osType": "Linux", "storageAccountId": STORAGE}},
               tags={"team": "a"})
    vhd_body = desired_image_body(vhd)
    assert vhd_body["properties"]["storageProfile"]["osDisk"]["blobUri"].endswith("/a.vhd")
    assert vhd_body["tags"] == {"team": "a"}
    assert "tags" not in desired_image_body(spec(source={"virtualMachine": {
        "id": vm_id, "capture": "Direct"}}))


def test_deletion_follows_the_policy_as_read_from_json_and_azures_state() -> None:
    retain = json.loads('"Retain"')
    assert plan_deletion(policy=retain, users=[], observed={}) is DeletionAction.RETAIN
    for state in ("Succeeded", "Failed"):
        assert plan_deletion(policy="Delete", users=[], observed={
            "properties": {"provisioningState": state}}) is DeletionAction.DELETE
    assert plan_deletion(policy="Delete", users=[], observed={
        "properties": {"provisioningState": "Deleting"}}) is DeletionAction.WAIT


def test_vhd_data_disks_need_a_lun_each_and_reach_azure_by_lun() -> None:
    blob = "https://acct.blob.core.windows.net/c/{}.vhd"
    disks = [{"lun": 1, "blobUri": blob.format("d1")}, {"lun": 1, "blobUri": blob.format("d2")}]
    with pytest.raises(SpecInvalid) as raised:
        spec(source={"vhd": {"blobUri": blob.format("os"), "osType": "Linux",
                             "storageAccountId": STORAGE, "dataDisks": disks}})
    assert "spec.source.vhd.dataDisks[1].lun: Duplicate value: 1" in str(raised.value)
    disks[1]["lun"] = 2
    body = desired_image_body(spec(source={"vhd": {
        "blobUri": blob.format("os"), "osType": "Linux", "storageAccountId": STORAGE,
        "dataDisks": disks}}))
    assert body["properties"]["storageProfile"]["dataDisks"] == [
        {"lun": 1, "blobUri": blob.format("d1")}, {"lun": 2, "blobUri": blob.format("d2")}]
