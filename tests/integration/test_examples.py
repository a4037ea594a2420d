"""Every scenario in examples/ is applied with the real kubectl and reaches Ready."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.system import (
    ROOT,
    CRs,
    azure_sdk,
    condition,
    has_condition,
    load_example,
    running_operator,
)
from simlaunch import Emulator

KUBECTL = str(Path(sys.executable).parent / "kubectl")
Check = Callable[[CRs, dict, dict, Emulator], None]


def kubectl_apply(kubesim: Emulator, example: str) -> None:
    proc = subprocess.run([KUBECTL, "--kubeconfig", str(kubesim.kubeconfig), "apply", "-f",
                           str(ROOT / "examples" / example)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


def check_snapshots(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    (image,) = images.values()
    assert condition(image, "SourceValid")["reason"] == "SnapshotsFound"


def check_vm_capture(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    image = images["hpc-captured"]
    assert condition(image, "SourceValid")["reason"] == "SnapshotsCaptured"
    names = [i.rsplit("/", 1)[1] for i in image["status"]["snapshotIds"]]
    assert names == ["hpc-captured-os", "hpc-captured-lun0"]
    compute, _ = azure_sdk(azuresim.env)
    built = compute.images.get("rg-batch-images", "hpc-captured")
    assert built.storage_profile.os_disk.snapshot.id.endswith("/hpc-captured-os")
    snap = compute.snapshots.get("rg-batch-images", "hpc-captured-lun0")
    assert snap.creation_data.create_option == "Copy"
    assert "/disks/hpc-builder" in snap.creation_data.source_resource_id


def check_vhd(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    assert condition(images["packer-vhd"], "SourceValid")["reason"] == "NotRecommended"
    assert crs.wait_event("packer-vhd", "NotRecommended")["type"] == "Warning"


def check_gallery(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    image = images["ubuntu-gallery"]
    version = image["status"]["galleryImageVersionId"]
    assert version.endswith("/galleries/batchimages/images/ubuntu-hpc/versions/1.0.0")
    assert condition(image, "Published")["status"] == "True"
    assert pools["gallery-pool"]["status"]["imageId"].lower() == version.lower()
    compute, _ = azure_sdk(azuresim.env)
    published = compute.gallery_image_versions.get(
        "rg-batch-images", "batchimages", "ubuntu-hpc", "1.0.0")
    regions = {r.name.lower().replace(" ", ""): r.regional_replica_count
               for r in published.publishing_profile.target_regions}
    assert regions == {"westeurope": 2, "northeurope": 1}


def check_autoscale(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    _, batch = azure_sdk(azuresim.env)
    pool = batch.pool.get("rg-batch", "batchdemo", "autoscale-pool")
    # The user's formula, then the declared ceiling (counted toward the lineage limit).
    formula = pool.scale_settings.auto_scale.formula
    assert formula.startswith("$TargetDedicatedNodes = 3;")
    assert formula.endswith("$TargetDedicatedNodes = min($TargetDedicatedNodes, 10);"
                            "\n$TargetLowPriorityNodes = min($TargetLowPriorityNodes, 0);")
    assert pool.start_task.command_line.startswith("/bin/bash")
    metadata = {m.name: m.value for m in pool.metadata}
    # The user's metadata, and the owner mark (docs/security.md).
    assert {k: v for k, v in metadata.items() if not k.startswith("batchimage.dev-")} == \
        {"team": "render"}
    assert metadata["batchimage.dev-name"] == "autoscale-pool"


def check_large_pool(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    status = pools["large-pool"]["status"]
    assert status["currentDedicatedNodes"] == 1000
    assert status["resizeAttempts"] >= 4  # at most 300 new custom-image nodes per resize


def check_shared_image(crs: CRs, images: dict, pools: dict, azuresim: Emulator) -> None:
    assert condition(pools["shared-b"], "WithinLimits")["status"] == "True"
    assert crs.wait_event("shared-b", "SharedImage")["type"] == "Warning"


SCENARIOS: dict[str, Check] = {
    "snapshots": check_snapshots,
    "vm-capture": check_vm_capture,
    "vhd": check_vhd,
    "gallery": check_gallery,
    "autoscale": check_autoscale,
    "large-pool": check_large_pool,
    "shared-image": check_shared_image,
}


def test_every_example_directory_has_a_scenario_test() -> None:
    dirs = {p.name for p in (ROOT / "examples").iterdir() if p.is_dir()}
    assert dirs == set(SCENARIOS)


@pytest.mark.parametrize("example", sorted(SCENARIOS))
def test_example(example: str, kubesim: Emulator, azuresim: Emulator, crs: CRs) -> None:
    docs = load_example(example)
    with running_operator(kubesim.url, azuresim.env, BIO_RESIZE_BACKOFF="0.2"):
        kubectl_apply(kubesim, example)
        images = {d["metadata"]["name"]: crs.wait("managedimages", d["metadata"]["name"],
                                                  has_condition("Ready"), timeout=90)
                  for d in docs if d["kind"] == "ManagedImage"}
        pools = {d["metadata"]["name"]: crs.wait("batchpools", d["metadata"]["name"],
                                                 has_condition("Ready"), timeout=120)
                 for d in docs if d["kind"] == "BatchPool"}
        SCENARIOS[example](crs, images, pools, azuresim)
