"""A VM as Azure reports it (JSON), checked against the guide's rules one at a time; its
managed disks and OS type read back; capture snapshot names and attempts (pure)."""

from __future__ import annotations

import copy
import json
from typing import Any

from test_models import SUB

from batch_image_operator.models.reasons import Reason
from batch_image_operator.planning.sources import (
    MAX_SNAPSHOT_ATTEMPTS,
    SNAPSHOT_ATTEMPT_TAG,
    SnapshotStep,
    check_vm,
    plan_snapshot,
    snapshot_body,
    snapshot_lun,
    snapshot_name,
    vm_disks,
    vm_os_type,
)

DISKS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks"
BASE = {"publisher": "canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts"}
SUPPORTED = [{"imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-"
                                 "jammy", "sku": "22_04-LTS"}}]


def vm(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"location": "westeurope", "properties": {"storageProfile": {
        "imageReference": dict(BASE),
        "osDisk": {"osType": "Linux", "managedDisk": {"id": f"{DISKS}/os"}},
        "dataDisks": [{"lun": 3, "managedDisk": {"id": f"{DISKS}/data3"}}]}}}
    for key, value in change.items():
        body[key] = value
    return json.loads(json.dumps(body))


def reasons(body: dict[str, Any], location: str = "westeurope",
            supported: list[dict[str, Any]] | None = SUPPORTED) -> list[Reason]:
    return [p.reason for p in check_vm(body, location=location, supported=supported)]


def storage(body: dict[str, Any]) -> dict[str, Any]:
    return body["properties"]["storageProfile"]


def test_a_vm_that_follows_the_guide_has_no_problem() -> None:
    assert reasons(vm()) == []
    assert reasons(vm(location="WestEurope")) == []  # Azure's region spelling varies in case
    assert reasons(vm(), supported=None) == []       # no Batch account to ask


def test_each_rule_is_reported_on_its_own() -> None:
    assert reasons(vm(plan={"publisher": "p", "product": "x", "name": "n"})) == \
        [Reason.PURCHASE_PLAN]
    assert reasons(vm(resources=[{"name": "mon", "type": "Microsoft.Compute/"
                                  "virtualMachines/extensions"}])) == \
        [Reason.EXTENSIONS_INSTALLED]
    for far in ("eastus", "westus2"):  # sorting before and after the VM's region
        assert reasons(vm(), location=far) == [Reason.REGION_MISMATCH]
    encrypted = vm()
    storage(encrypted)["osDisk"]["encryptionSettings"] = {"enabled": True}
    assert reasons(encrypted) == [Reason.OS_DISK_ENCRYPTED]
    unmanaged = vm()
    storage(unmanaged)["dataDisks"] = [{"lun": 0, "vhd": {"uri": "https://a/b.vhd"}}]
    assert reasons(unmanaged) == [Reason.UNMANAGED_DISKS]


def test_the_base_image_must_be_a_supported_marketplace_image() -> None:
    custom = vm()
    storage(custom)["imageReference"] = {"id": f"{DISKS}/../images/x"}
    assert reasons(custom) == [Reason.BASE_IMAGE_NOT_MARKETPLACE]
    no_reference = vm()
    del storage(no_reference)["imageReference"]
    assert reasons(no_reference) == [Reason.BASE_IMAGE_NOT_MARKETPLACE]
    for sku in ("20_04-lts", "24_04-lts"):  # sorting before and after the supported one
        other = vm()
        storage(other)["imageReference"]["sku"] = sku
        assert reasons(other) == [Reason.UNSUPPORTED_BASE_IMAGE]
        assert reasons(other, supported=None) == []


def test_managed_disks_and_os_type_are_read_back() -> None:
    body = vm()
    disks = vm_disks(body)
    assert [(d.lun, d.disk_id.name) for d in disks] == [(None, "os"), (3, "data3")]
    assert vm_disks(vm(properties={})) == []
    odd_os = vm()
    storage(odd_os)["osDisk"]["managedDisk"]["id"] = "not an id"
    assert [d.disk_id.name for d in vm_disks(odd_os)] == ["data3"]  # the rest still read
    windows = copy.deepcopy(body)
    storage(windows)["osDisk"]["osType"] = "Windows"
    assert (vm_os_type(body), vm_os_type(windows)) == ("Linux", "Windows")
    for odd in ("", "Zos", "Alpine"):  # unknown values sort either side of "windows"
        storage(windows)["osDisk"]["osType"] = odd
        assert vm_os_type(windows) == "Linux"


def test_snapshot_names_fit_azures_80_characters_and_give_their_lun_back() -> None:
    long = "i" * 90
    assert snapshot_name(long, None) == "i" * 77 + "-os"
    assert snapshot_name(long, 63) == "i" * 74 + "-lun63"
    assert snapshot_name("img", 7) == "img-lun7"
    assert [snapshot_lun(snapshot_name("img", lun)) for lun in (None, 0, 7, 63)] == \
        [None, 0, 7, 63]


def snap(state: str, attempt: str | None = None) -> dict[str, Any]:
    tags = {SNAPSHOT_ATTEMPT_TAG: attempt} if attempt is not None else {}
    return {"tags": tags, "properties": {"provisioningState": state}}


def test_attempts_ride_on_the_snapshot_and_are_bounded() -> None:
    assert MAX_SNAPSHOT_ATTEMPTS == 3
    first = plan_snapshot("s", None, taken_before=False)
    assert (first.step, first.attempt) == (SnapshotStep.TAKE, 1)
    assert plan_snapshot("s", snap("Succeeded"), taken_before=True).attempt == 1
    again = plan_snapshot("s", snap("Failed", "1"), taken_before=True)
    assert (again.step, again.attempt) == (SnapshotStep.TAKE, 2)
    assert "(attempt 2 of 3)" in again.message
    assert "(attempt 3 of 3)" in plan_snapshot("s", snap("Failed", "2"), taken_before=True).message
    for bad in ("0", "-2", "x"):  # a tag someone edited counts as the first attempt
        assert plan_snapshot("s", snap("Failed", bad), taken_before=True).attempt == 2
    assert plan_snapshot("s", snap("Failed", "3"), taken_before=True).step is SnapshotStep.FAILED
    assert plan_snapshot("s", snap("Failed", "4"), taken_before=True).step is SnapshotStep.FAILED


def test_a_retake_is_tagged_with_its_attempt_and_a_first_take_is_not() -> None:
    disk = vm_disks(vm())[0].disk_id
    assert SNAPSHOT_ATTEMPT_TAG not in snapshot_body(disk, "westeurope", {}, 1)["tags"]
    assert snapshot_body(disk, "westeurope", {}, 2)["tags"][SNAPSHOT_ATTEMPT_TAG] == "2"
