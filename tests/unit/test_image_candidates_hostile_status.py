"""A status entry that only case-folds onto one of this image's capture snapshots (here a
Kelvin sign for the K) is no id at all: the deletion candidates skip it and still go on
to the entries after it (planning/images.py, pure)."""

from __future__ import annotations

from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.images import owned_candidates
from helpers.azure_fakes import SUB, P

RG = f"{P}/rg-images/providers/Microsoft.Compute"


def test_a_status_id_that_only_case_folds_onto_ours_is_skipped_and_the_rest_kept() -> None:
    spec = parse_managed_image("kube", {
        "resourceGroup": "rg-images", "location": "westeurope",
        "source": {"virtualMachine": {"id": f"{RG}/virtualMachines/builder"}}},
        default_subscription=SUB)
    kelvin = f"{RG}/snapshots/\u212aube-os"  # lower() gives .../kube-os
    assert kelvin.lower() == f"{RG}/snapshots/kube-os".lower()
    lun3 = f"{RG}/snapshots/kube-lun3"
    found = [str(r).lower() for r in owned_candidates(spec, {"snapshotIds": [kelvin, lun3]})]
    assert found == [f"{RG}/images/kube".lower(), lun3.lower()]
