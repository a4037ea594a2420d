"""What a BatchPool takes from the ManagedImage it names: ids derived from the image's
spec, never from its status; status only says Ready, and only for the derived id."""

from __future__ import annotations

from typing import Any

from batch_image_operator.planning.references import image_info

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
P = f"/subscriptions/{SUB}/resourceGroups"
IMAGE = f"{P}/rg-images/providers/Microsoft.Compute/images/img"
OS_SNAP = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/os"
DATA_SNAP = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/data"
VERSION = f"{P}/rg-gal/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0"
READY = [{"type": "Ready", "status": "True"}]


def spec(**source: Any) -> dict[str, Any]:
    return {"resourceGroup": "rg-images", "location": "westeurope", "source": source or {
        "snapshots": {"osDisk": {"snapshotId": OS_SNAP, "osType": "Linux"},
                      "dataDisks": [{"lun": 0, "snapshotId": DATA_SNAP}]}}}


def info(raw: dict[str, Any], status: dict[str, Any], meta: dict[str, Any] | None = None):
    return image_info("img", meta or {"uid": "u-1"}, raw, status, default_subscription=SUB)


def test_a_ready_image_gives_its_derived_id_uid_and_snapshots() -> None:
    got = info(spec(), {"conditions": READY, "imageId": IMAGE.upper()})
    assert (got.uid, got.ready, got.deleting) == ("u-1", True, False)
    assert got.image_id == IMAGE and got.effective_id == IMAGE
    assert got.snapshot_ids == (OS_SNAP, DATA_SNAP)


def test_status_naming_another_image_is_not_ready() -> None:
    for group in ("rg-evil", "rg-zz"):  # sorting before and after the derived id
        other = f"{P}/{group}/providers/Microsoft.Compute/images/img"
        got = info(spec(), {"conditions": READY, "imageId": other})
        assert not got.ready and got.image_id == IMAGE
    assert not info(spec(), {"conditions": [{"type": "Ready", "status": "False"}],
                             "imageId": IMAGE}).ready


def test_a_deleting_image_says_so() -> None:
    got = info(spec(), {}, {"uid": "u-1", "deletionTimestamp": "2026-12-02T00:00:00Z"})
    assert got.deleting and not info(spec(), {}).deleting


def test_an_invalid_spec_names_no_id() -> None:
    got = info({"resourceGroup": "rg-images"}, {"conditions": READY, "imageId": IMAGE},
               {"uid": "u-1", "deletionTimestamp": "x"})
    assert (got.name, got.uid, got.ready, got.deleting) == ("img", "u-1", False, True)
    assert got.image_id is None and got.effective_id is None and got.snapshot_ids == ()


def test_the_gallery_version_is_taken_only_when_status_names_the_derived_one() -> None:
    raw = {**spec(), "gallery": {"resourceGroup": "rg-gal", "galleryName": "g",
                                 "imageDefinition": "d", "version": "1.0.0"}}
    published = info(raw, {"conditions": READY, "imageId": IMAGE,
                           "galleryImageVersionId": VERSION.lower()})
    assert published.gallery_image_version_id == VERSION
    assert published.effective_id == VERSION
    for forged_version in ("0.0.1", "6.6.6"):  # sorting before and after the derived one
        forged = info(raw, {"conditions": READY, "imageId": IMAGE,
                            "galleryImageVersionId": VERSION.replace("1.0.0", forged_version)})
        assert forged.gallery_image_version_id is None and forged.effective_id == IMAGE
    assert info(spec(), {"galleryImageVersionId": VERSION}).gallery_image_version_id is None


def test_captured_snapshots_are_taken_from_status_only_when_derived() -> None:
    raw = spec(virtualMachine={
        "id": f"{P}/rg-images/providers/Microsoft.Compute/virtualMachines/vm"})
    captured = f"{P}/rg-images/providers/Microsoft.Compute/snapshots/img-lun3"
    got = info(raw, {"snapshotIds": [captured.upper(), OS_SNAP, f"{P}/rg-evil/x"]})
    assert got.snapshot_ids == (captured,)
