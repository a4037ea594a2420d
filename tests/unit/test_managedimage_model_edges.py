"""ManagedImage spec validation at its edges: each source kind parsed, every bound accepted
at the limit and refused one past it, every problem named with its field, sources in
another subscription refused, the gallery's regions completed (models/, pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batch_image_operator.models.errors import SpecInvalid
from batch_image_operator.models.managedimage import (
    ManagedImageSpec,
    parse_managed_image,
)
from helpers.ids import HIGHER_SUB, LOWER_SUB, SUB

SNAP = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/"
VM = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/build"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
BLOB = "https://st.blob.core.windows.net/vhds/os.vhd"
SNAPSHOTS = {"snapshots": {"osDisk": {"snapshotId": SNAP + "os", "osType": "Linux"}}}
GALLERY = {"galleryName": "gallery", "imageDefinition": "ubuntu", "version": "1.0.0"}


def raw(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"resourceGroup": "rg", "location": "westeurope", "source": SNAPSHOTS}
    spec.update(over)
    return spec


def parse(**over: Any) -> ManagedImageSpec:
    # Through JSON, as the API server hands it over: no string is the code's own literal.
    return parse_managed_image("img", json.loads(json.dumps(raw(**over))),
                               default_subscription=SUB)


def refused(**over: Any) -> dict[str, str]:
    """The fields the spec is refused for, with their messages."""
    with pytest.raises(SpecInvalid) as err:
        parse(**over)
    return {e.field: e.message for e in err.value.errors}


def disks(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"snapshots": {**SNAPSHOTS["snapshots"], "dataDisks": list(entries)}}


def test_a_virtual_machine_source_is_parsed() -> None:
    spec = parse(source={"virtualMachine": {"id": VM}})
    assert spec.source_kind == "VirtualMachine"
    assert spec.virtual_machine is not None
    assert (str(spec.virtual_machine.vm_id), spec.virtual_machine.capture) == (VM, "Snapshot")
    assert spec.snapshots is None and spec.vhd is None
    direct = parse(source={"virtualMachine": {"id": VM, "capture": "Direct"}})
    assert direct.virtual_machine is not None and direct.virtual_machine.capture == "Direct"


def test_a_vhd_source_is_parsed() -> None:
    spec = parse(source={"vhd": {"storageAccountId": STORAGE, "blobUri": BLOB,
                                 "osType": "Linux"}})
    assert spec.source_kind == "Vhd"
    assert spec.vhd is not None and spec.vhd.os_source == BLOB
    assert spec.snapshots is None and spec.virtual_machine is None


def test_a_snapshot_source_is_parsed() -> None:
    spec = parse()
    assert spec.source_kind == "Snapshots"
    assert spec.snapshots is not None and spec.virtual_machine is None and spec.vhd is None


def test_a_virtual_machine_that_is_not_an_object_is_refused() -> None:
    assert refused(source={"virtualMachine": "build"})["spec.source.virtualMachine"] == \
        "must be an object"


def test_a_malformed_virtual_machine_id_is_refused_with_its_field() -> None:
    assert "spec.source.virtualMachine.id" in refused(
        source={"virtualMachine": {"id": SNAP + "os"}})


def test_two_sources_are_refused() -> None:
    both = {**SNAPSHOTS, "virtualMachine": {"id": VM}}
    assert refused(source=both)["spec.source"].startswith("exactly one of")


def test_data_disk_luns_are_bounded() -> None:
    spec = parse(source=disks({"lun": 0, "snapshotId": SNAP + "d0"},
                              {"lun": 63, "snapshotId": SNAP + "d63"}))
    assert spec.snapshots is not None
    assert [d.lun for d in spec.snapshots.data_disks] == [0, 63]
    for bad in (-1, 64, True, "1"):
        assert refused(source=disks({"lun": bad, "snapshotId": SNAP + "d"}))[
            "spec.source.snapshots.dataDisks[0].lun"] == "must be an integer between 0 and 63"


def test_every_bad_data_disk_is_reported() -> None:
    problems = refused(source=disks({"lun": 99, "snapshotId": SNAP + "d0"},
                                    {"lun": 1, "snapshotId": "not-an-id"},
                                    {"lun": 1, "snapshotId": SNAP + "d1"}))
    assert {"spec.source.snapshots.dataDisks[0].lun",
            "spec.source.snapshots.dataDisks[1].snapshotId",
            "spec.source.snapshots.dataDisks[2].lun"} <= set(problems)


def test_the_gallery_is_parsed_with_its_identifier() -> None:
    spec = parse(gallery={**GALLERY, "resourceGroup": "rg-gallery",
                          "identifier": {"publisher": "pub", "offer": "off", "sku": "sku"}})
    assert spec.gallery is not None
    assert (spec.gallery.resource_group, spec.gallery.gallery_name,
            spec.gallery.image_definition, spec.gallery.version) == \
        ("rg-gallery", "gallery", "ubuntu", "1.0.0")
    assert spec.gallery.identifier == ("pub", "off", "sku")
    assert parse(gallery=GALLERY).gallery.identifier is None  # type: ignore[union-attr]
    assert parse(gallery=GALLERY).gallery.resource_group == "rg"  # type: ignore[union-attr]


@pytest.mark.parametrize("key", ["galleryName", "imageDefinition", "version"])
def test_the_gallery_names_are_required_and_checked(key: str) -> None:
    missing = {k: v for k, v in GALLERY.items() if k != key}
    assert refused(gallery=missing)[f"spec.gallery.{key}"] == "Required value"
    assert refused(gallery={**GALLERY, key: "bad name!"})[f"spec.gallery.{key}"] == \
        "invalid value 'bad name!'"


def test_a_malformed_gallery_is_refused() -> None:
    assert refused(gallery="gallery")["spec.gallery"] == "must be an object"
    assert "spec.gallery.resourceGroup" in refused(gallery={**GALLERY, "resourceGroup": "a/b"})
    assert "spec.gallery.identifier" in refused(
        gallery={**GALLERY, "identifier": {"publisher": "pub", "offer": "off"}})


def regions(spec: ManagedImageSpec) -> list[tuple[str, int]]:
    assert spec.gallery is not None
    return [(r.name, r.replica_count) for r in spec.gallery.target_regions]


def test_the_images_own_region_comes_first_with_one_replica() -> None:
    two = [{"name": "northeurope", "replicaCount": 2}, {"name": "eastus"}]
    assert regions(parse(gallery={**GALLERY, "targetRegions": two})) == \
        [("westeurope", 1), ("northeurope", 2), ("eastus", 1)]
    assert regions(parse(location="eastus", gallery={**GALLERY, "targetRegions": [
        {"name": "westeurope"}]})) == [("eastus", 1), ("westeurope", 1)]
    assert regions(parse(gallery=GALLERY)) == [("westeurope", 1)]


def test_the_images_own_region_is_not_added_twice() -> None:
    own = [{"name": "northeurope"}, {"name": "westeurope", "replicaCount": 3}]
    assert regions(parse(gallery={**GALLERY, "targetRegions": own})) == \
        [("northeurope", 1), ("westeurope", 3)]


def test_replica_counts_are_bounded() -> None:
    ok = [{"name": "northeurope", "replicaCount": 1}, {"name": "eastus", "replicaCount": 100}]
    assert regions(parse(gallery={**GALLERY, "targetRegions": ok}))[1:] == \
        [("northeurope", 1), ("eastus", 100)]
    for bad in (0, 101, True, "2"):
        assert refused(gallery={**GALLERY, "targetRegions": [
            {"name": "eastus", "replicaCount": bad}]})[
            "spec.gallery.targetRegions[0].replicaCount"] == "1 to 100"


def test_every_bad_target_region_is_reported() -> None:
    problems = refused(gallery={**GALLERY, "targetRegions": [
        {"name": "West Europe"}, {"name": "eastus", "replicaCount": 0},
        {"name": 5}, {"name": "eastus2", "replicaCount": 500}]})
    assert {"spec.gallery.targetRegions[0].name", "spec.gallery.targetRegions[1].replicaCount",
            "spec.gallery.targetRegions[2].name",
            "spec.gallery.targetRegions[3].replicaCount"} <= set(problems)


def test_the_required_fields_are_named() -> None:
    spec = raw()
    del spec["resourceGroup"], spec["location"]
    with pytest.raises(SpecInvalid) as err:
        parse_managed_image("img", spec, default_subscription=SUB)
    problems = {e.field: e.message for e in err.value.errors}
    assert problems["spec.resourceGroup"] == problems["spec.location"] == "Required value"


@pytest.mark.parametrize(("over", "field"), [
    ({"subscriptionId": "not-a-guid"}, "spec.subscriptionId"),
    ({"imageName": "-starts-with-a-dash"}, "spec.imageName"),
    ({"location": "West Europe"}, "spec.location"),
    ({"location": 5}, "spec.location"),
    ({"tags": {"batchimage.dev/owner": "x"}}, "spec.tags"),
])
def test_a_malformed_field_is_refused_with_its_name(over: dict[str, Any], field: str) -> None:
    assert field in refused(**over)


@pytest.mark.parametrize("foreign", [LOWER_SUB, HIGHER_SUB])
@pytest.mark.parametrize(("source", "field"), [
    (disks({"lun": 0, "snapshotId": SNAP + "d0"}), "spec.source.snapshots"),
    ({"virtualMachine": {"id": VM}}, "spec.source.virtualMachine.id"),
    ({"vhd": {"storageAccountId": STORAGE, "blobUri": BLOB, "osType": "Linux"}},
     "spec.source.vhd.storageAccountId"),
])
def test_a_source_in_another_subscription_than_the_image_is_refused(
        foreign: str, source: dict[str, Any], field: str) -> None:
    assert parse(source=source).subscription_id == SUB
    message = refused(subscriptionId=foreign, source=source)[field]
    assert message.endswith(f"is in another subscription than the image ({foreign})")
