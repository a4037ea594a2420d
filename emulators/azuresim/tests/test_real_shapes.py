"""Where azuresim answers as recorded real Azure traffic does, beyond the happy path:
snapshot LROs, stopped resizes, Batch and gallery echoes, pool DELETE, ARM throttling
and the realistic timing profile (each shape from the SDKs' recordings and the REST API
specs' examples)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from azure.mgmt.compute import models as cm
from test_batch_dataplane import data_client
from test_compute import snapshot

from azuresim_support import FAST, LOCATION, Azure, unique
from batchutil import make_account, make_image, pool_body, wait_steady
from helpers.waits import eventually
from simlaunch import run_azuresim

API = "api-version=2024-03-02"


def _snapshot_path(azure: Azure, rg: str, name: str) -> str:
    return (f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Compute/"
            f"snapshots/{name}?{API}")


def test_snapshot_put_is_a_long_running_operation(azure: Azure, rg: str) -> None:
    body = snapshot().as_dict()
    status, got, headers = azure.raw("PUT", _snapshot_path(azure, rg, "s1"), azure.arm_token(),
                                     body)
    assert status == 202
    assert got["properties"]["provisioningState"] == "Updating"
    assert headers["Azure-AsyncOperation"] and headers["Location"]
    assert int(headers["Retry-After"]) >= 1
    done = azure.compute().snapshots.begin_create_or_update(rg, "s2", snapshot()).result()
    assert done.provisioning_state == "Succeeded"


def test_a_snapshot_can_end_failed(azuresim_only: Azure, rg: str) -> None:
    azure = azuresim_only
    azure.admin("POST", "/operation-failures",
                {"pathRegex": f"/snapshots/{rg}-bad$", "count": 1})
    compute = azure.compute()
    poller = compute.snapshots.begin_create_or_update(rg, f"{rg}-bad", snapshot())
    with pytest.raises(Exception, match="InternalOperationError"):
        poller.result()
    assert compute.snapshots.get(rg, f"{rg}-bad").provisioning_state == "Failed"


def test_stopped_resize_reports_resize_stopped(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    azure.admin("POST", "/speed", {"allocationSeconds": 60})
    try:
        batch.pool.create(rg, account, "p", pool_body(None, dedicated=10))
        batch.pool.stop_resize(rg, account, "p")
    finally:
        azure.admin("POST", "/speed", {"allocationSeconds": 0.5})
    steady = wait_steady(batch, rg, account, "p")
    assert steady.scale_settings.fixed_scale.target_dedicated_nodes == 10
    errors = steady.resize_operation_status.errors
    assert [e.code for e in errors] == ["ResizeStopped"]
    assert "stop resize operation" in errors[0].message
    data = data_client(azure, rg, account).get_pool("p")
    assert [e.code for e in data.resize_errors or []] == ["ResizeStopped"]


def test_batch_echoes_normalise_the_request(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    body = pool_body(None, dedicated=1)
    body.vm_size = "Standard_D2s_v3"
    pool = azure.batch_mgmt().pool.create(rg, account, "p", body)
    assert pool.vm_size == "STANDARD_D2S_V3"
    ref = pool.deployment_configuration.virtual_machine_configuration.image_reference
    assert ref.version == "latest"
    assert pool.resize_operation_status.node_deallocation_option == "Requeue"


def test_gallery_echoes_display_names_and_defaults(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    image_id = make_image(compute, rg)
    compute.galleries.begin_create_or_update(rg, "gal", cm.Gallery(location=LOCATION)).result()
    definition = compute.gallery_images.begin_create_or_update(rg, "gal", "def", cm.GalleryImage(
        location=LOCATION, os_type="Linux", os_state="Generalized",
        identifier=cm.GalleryImageIdentifier(publisher="p", offer="o", sku="s"))).result()
    assert definition.architecture == "x64"
    version = compute.gallery_image_versions.begin_create_or_update(
        rg, "gal", "def", "1.0.0", cm.GalleryImageVersion(
            location=LOCATION,
            storage_profile=cm.GalleryImageVersionStorageProfile(
                source=cm.GalleryArtifactVersionFullSource(id=image_id)),
            publishing_profile=cm.GalleryImageVersionPublishingProfile(
                target_regions=[cm.TargetRegion(name="eastus2", regional_replica_count=1)]),
        )).result()
    profile = version.publishing_profile
    assert [r.name for r in profile.target_regions] == ["East US 2"]
    assert profile.storage_account_type == "Standard_LRS"
    got = compute.gallery_image_versions.get(rg, "gal", "def", "1.0.0",
                                             expand="ReplicationStatus")
    assert [s.region for s in got.replication_status.summary] == ["East US 2"]


def test_pool_delete_answers_with_a_location_only(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    batch.pool.create(rg, account, "p", pool_body(None, dedicated=0))
    path = (f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Batch/"
            f"batchAccounts/{account}/pools/p?api-version=2024-07-01")
    status, _, headers = azure.raw("DELETE", path, azure.arm_token())
    assert status == 202
    assert "Azure-AsyncOperation" not in headers
    assert re.search(rf"/batchAccounts/{account}/poolOperationResults/delete-p\?",
                     headers["Location"], re.IGNORECASE)
    assert int(headers["Retry-After"]) >= 1
    monitor = headers["Location"].removeprefix(azure.url)
    first, _, _ = azure.raw("GET", monitor, azure.arm_token())
    assert first in (200, 202)
    final = eventually(lambda: (r := azure.raw("GET", monitor, azure.arm_token()))[0] == 200
                       and r, timeout=20.0, what="pool delete to finish")
    assert final[1] is None  # an empty body
    batch.pool.create(rg, account, "q", pool_body(None, dedicated=0))
    batch.pool.begin_delete(rg, account, "q").result()  # the SDK poller follows Location


@pytest.fixture
def throttled(azuresim_only: Azure) -> Iterator[Azure]:
    azuresim_only.admin("POST", "/throttling", {
        "enabled": True, "reset": True, "reads": {"capacity": 3, "refillPerSecond": 0.5}})
    try:
        yield azuresim_only
    finally:
        azuresim_only.admin("POST", "/throttling", {
            "enabled": False, "reset": True, "reads": {"capacity": 250, "refillPerSecond": 25}})


def test_arm_throttles_each_principal_by_token_bucket(throttled: Azure, rg: str) -> None:
    azure, token = throttled, throttled.arm_token()
    path = f"/subscriptions/{azure.sub}/resourcegroups/{rg}?api-version=2021-04-01"
    remaining = []
    for _ in range(3):
        status, _, headers = azure.raw("GET", path, token)
        assert status == 200
        remaining.append(int(headers["x-ms-ratelimit-remaining-subscription-reads"]))
    assert remaining == [2, 1, 0]
    status, body, headers = azure.raw("GET", path, token)
    assert (status, body["error"]["code"]) == (429, "TooManyRequests")
    assert int(headers["Retry-After"]) >= 1
    # Writes have their own bucket, still full.
    status, _, headers = azure.raw("PUT", path, token, {"location": LOCATION})
    assert status == 200
    assert int(headers["x-ms-ratelimit-remaining-subscription-writes"]) >= 190
    assert throttled.admin("GET", "/throttling")["throttled"] == {"reads": 1}


def test_throttling_off_sends_no_rate_limit_headers(azure: Azure, rg: str) -> None:
    if not azure.is_sim:
        pytest.skip("real ARM always throttles")
    path = f"/subscriptions/{azure.sub}/resourcegroups/{rg}?api-version=2021-04-01"
    _, _, headers = azure.raw("GET", path, azure.arm_token())
    assert "x-ms-ratelimit-remaining-subscription-reads" not in headers


def test_realistic_profile_times_operations_as_azure_does(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    with run_azuresim(tmp_path_factory.mktemp("realistic"), *FAST, "--profile", "realistic",
                      "--factor", "0.05") as emu:
        azure = Azure(emu.env, emu)
        speed = azure.admin("GET", "/speed")
        assert (speed["profile"], speed["factor"]) == ("realistic", 0.05)
        assert speed["allocationSeconds"] == pytest.approx(9.0)
        assert azure.admin("GET", "/throttling")["enabled"] is True
        rg = azure.create_rg(unique("rg-"))
        started = time.monotonic()
        status, _, headers = azure.raw("PUT", _snapshot_path(azure, rg, "s"), azure.arm_token(),
                                       snapshot().as_dict())
        assert status == 202 and headers["Retry-After"] == "1"   # 2 s x 0.05, at least 1
        assert "x-ms-ratelimit-remaining-subscription-writes" in headers
        monitor = headers["Azure-AsyncOperation"].removeprefix(azure.url)
        eventually(lambda: azure.raw("GET", monitor, azure.arm_token())[1]["status"]
                   == "Succeeded", timeout=20.0, what="snapshot LRO")
        # About 20 s x 0.05.
        assert 0.9 <= time.monotonic() - started < 5
