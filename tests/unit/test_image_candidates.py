"""What a ManagedImage's deletion may look at, and what an existing image was built from
(planning/images.py, pure): status is never an authority for an id to delete."""

from __future__ import annotations

from typing import Any

from batch_image_operator.models.managedimage import ManagedImageSpec, parse_managed_image
from batch_image_operator.planning.images import (
    captured_source,
    owned_candidates,
    recorded_snapshots,
)
from helpers.azure_fakes import SUB, P

RG = f"{P}/rg-images/providers/Microsoft.Compute"
SNAP = f"{RG}/snapshots/os"
VM = f"{RG}/virtualMachines/builder"
GALLERY = {"galleryName": "g", "imageDefinition": "d", "version": "1.0.0",
           "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}


def image(source: dict[str, Any], **extra: Any) -> ManagedImageSpec:
    return parse_managed_image("ubuntu", {"resourceGroup": "rg-images", "location": "westeurope",
                                          "source": source, **extra},
                               default_subscription=SUB)


CAPTURE = {"virtualMachine": {"id": VM}}
SNAPSHOTS = {"snapshots": {"osDisk": {"snapshotId": SNAP, "osType": "Linux"}}}


def test_only_snapshots_this_spec_would_capture_are_taken_from_status() -> None:
    own, lun3 = f"{RG}/snapshots/ubuntu-os", f"{RG}/snapshots/UBUNTU-LUN3"
    status = {"snapshotIds": [own, SNAP, f"{RG}/snapshots/other-os", lun3]}
    assert recorded_snapshots(image(CAPTURE), status) == [own, lun3]
    # A snapshot source the user named is theirs: never a capture of ours.
    assert recorded_snapshots(image(SNAPSHOTS), status) == []
    assert recorded_snapshots(image(CAPTURE), {}) == []


def test_deletion_candidates_are_newest_first_and_never_the_users_sources() -> None:
    spec = image(CAPTURE, gallery=GALLERY)
    own = f"{RG}/snapshots/ubuntu-os"
    found = [str(r).lower() for r in owned_candidates(spec, {"snapshotIds": [own, SNAP]})]
    assert found == [f"{RG}/galleries/g/images/d/versions/1.0.0".lower(),
                     f"{RG}/images/ubuntu".lower(), own.lower()]
    assert [str(r).lower() for r in owned_candidates(image(SNAPSHOTS), {
        "snapshotIds": [SNAP]})] == [f"{RG}/images/ubuntu".lower()]


def test_the_source_of_an_existing_image_is_read_from_its_storage_profile() -> None:
    data = f"{RG}/snapshots/data0"
    observed = {"properties": {"storageProfile": {
        "osDisk": {"snapshot": {"id": SNAP}, "osType": "Windows"},
        "dataDisks": [{"lun": 2, "snapshot": {"id": data}}]}}}
    source = captured_source(image(SNAPSHOTS), observed)
    assert source is not None
    assert (str(source.os_source).lower(), source.os_type, source.os_state) == (
        SNAP.lower(), "Windows", "Generalized")
    assert [(d.lun, str(d.source).lower()) for d in source.data_disks] == [(2, data.lower())]


def test_an_image_not_built_from_snapshots_has_no_snapshot_source() -> None:
    assert captured_source(image(SNAPSHOTS), {"properties": {"storageProfile": {
        "osDisk": {"blobUri": "https://a.blob.core.windows.net/c/os.vhd"}}}}) is None
    assert captured_source(image(SNAPSHOTS), {}) is None
