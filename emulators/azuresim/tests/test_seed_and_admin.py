"""--seed files, the admin API and (tier 2) --state persistence and fault injection."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from azuresim_support import FAST, Azure, unique
from batchutil import make_account, pool_body
from simlaunch import run_azuresim

P = "/subscriptions/{subscriptionId}/resourceGroups"
SEED = f"""
resources:
  - id: {P}/seeded
    location: westeurope
    tags: {{owner: tests}}
  - id: {P}/implied/providers/Microsoft.Compute/snapshots/os
    location: westeurope
    properties:
      creationData: {{createOption: Import, sourceUri: "https://a.blob.core.windows.net/v/os.vhd"}}
  - id: {P}/seeded/providers/Microsoft.Batch/batchAccounts/seedacct
    location: westeurope
"""


def test_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    with run_azuresim(tmp_path / "sim", *FAST, "--seed", str(seed)) as emu:
        azure = Azure(emu.env, emu)
        snap = azure.compute().snapshots.get("implied", "os")
        assert snap.id.startswith(f"/subscriptions/{azure.sub}/resourceGroups/implied/")
        assert snap.provisioning_state == "Succeeded"
        account = azure.batch_mgmt().batch_account.get("seeded", "seedacct")
        assert account.account_endpoint.startswith("127.0.0.1:")
        status, group, _ = azure.raw(
            "GET",
            f"/subscriptions/{azure.sub}/resourcegroups/seeded?api-version=2021-04-01",
            azure.arm_token(),
        )
        assert status == 200 and group["tags"] == {"owner": "tests"}
        status, _, _ = azure.raw(
            "GET",
            f"/subscriptions/{azure.sub}/resourcegroups/implied?api-version=2021-04-01",
            azure.arm_token(),
        )
        assert status == 200


def test_invalid_seed_fails_start(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    snap = f"{P}/g/providers/Microsoft.Compute/snapshots/none"
    seed.write_text(
        "resources:\n"
        f"  - id: {P}/g/providers/Microsoft.Compute/images/i\n"
        "    location: westeurope\n"
        "    properties:\n"
        "      storageProfile:\n"
        "        osDisk:\n"
        "          osType: Linux\n"
        "          osState: Generalized\n"
        f"          snapshot: {{id: '{snap}'}}\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "azuresim",
            "--port",
            "0",
            "--env-file",
            str(tmp_path / "env"),
            "--seed",
            str(seed),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "AZURESIM READY" not in proc.stdout
    assert "not found" in proc.stderr


def test_admin_counters_log_and_resources(azure: Azure, rg: str) -> None:
    azure.admin("POST", "/reset-counters")
    compute = azure.compute()
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(rg, "absent")
    data = azure.admin("GET", "/requests")
    # The credential's discovery and token requests are counted too, under aad.*.
    assert {k: v for k, v in data["counters"].items() if not k.startswith("aad.")} == {
        "images.get": 1
    }
    assert data["counters"]["aad.token"] == 1
    last = data["requests"][-1]
    assert (last["method"], last["status"]) == ("GET", 404)
    assert last["path"].endswith("/images/absent")
    dump = azure.admin("GET", "/resources")["resources"]
    assert any(r["name"] == rg for r in dump)
    assert all("sys" not in r for r in dump)


def test_speed_reports_settings(azure: Azure) -> None:
    speed = azure.admin("POST", "/speed", {})
    assert speed["lroSeconds"] == 0.2 and speed["allocationSeconds"] == 0.5


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with run_azuresim(tmp_path / "a", *FAST, "--state", str(state)) as emu:
        azure = Azure(emu.env, emu)
        rg = azure.create_rg("persisted")
        account = make_account(azure, rg)
        azure.batch_mgmt().pool.create(rg, account, "p", pool_body(None, dedicated=2))
        old_token = azure.arm_token()
    assert state.exists()
    with run_azuresim(tmp_path / "b", *FAST, "--state", str(state)) as emu:
        azure = Azure(emu.env, emu)
        # A token cached by a client before the restart is still accepted.
        status, _, _ = azure.raw(
            "GET",
            f"/subscriptions/{azure.sub}/resourcegroups/{rg}?api-version=2021-04-01",
            old_token,
        )
        assert status == 200
        pool = azure.batch_mgmt().pool.get(rg, account, "p")
        assert pool.resize_operation_status.target_dedicated_nodes == 2
        # The endpoint follows the new port.
        endpoint = azure.batch_mgmt().batch_account.get(rg, account).account_endpoint
        assert endpoint.startswith(azure.url.removeprefix("https://"))


def test_fault_injection_status_and_retry_after(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    azure.admin(
        "POST",
        "/faults",
        {
            "method": "GET",
            "pathRegex": f"/resourceGroups/{rg}/.*/images/x$",
            "status": 503,
            "count": 1,
        },
    )
    azure.admin("POST", "/reset-counters")
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(rg, "x")  # 503 first, then the retry reaches the real 404
    log = azure.admin("GET", "/requests")["requests"]
    assert [r["status"] for r in log if r["operation"] == "images.get"] == [503, 404]

    azure.admin(
        "POST",
        "/faults",
        {
            "method": "*",
            "pathRegex": f"/resourceGroups/{rg}/",
            "status": 429,
            "count": 5,
            "retryAfter": 1,
        },
    )
    with pytest.raises(HttpResponseError) as info:
        compute.images.get(rg, "x")
    assert info.value.status_code == 429
    assert info.value.error.code == "TooManyRequests"
    azure.admin("DELETE", "/faults")
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(rg, "x")


def test_fault_injection_latency(azure: Azure, rg: str) -> None:
    compute = azure.compute()
    azure.admin(
        "POST",
        "/faults",
        {"method": "GET", "pathRegex": f"/resourceGroups/{rg}/", "latencyMs": 400},
    )
    started = time.monotonic()
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(rg, "x")
    assert time.monotonic() - started >= 0.4
    assert azure.admin("GET", "/faults")["faults"][0]["count"] == 0
    azure.admin("DELETE", "/faults")


def test_fault_injection_connection_reset(azure: Azure, rg: str) -> None:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    azure.admin(
        "POST", "/faults", {"pathRegex": f"/resourceGroups/{rg}/", "reset": True, "count": 10}
    )
    try:
        with pytest.raises((ServiceRequestError, ServiceResponseError)):
            azure.compute().images.get(rg, "x")
    finally:
        azure.admin("DELETE", "/faults")


def test_unknown_subscription(azure: Azure) -> None:
    status, body, _ = azure.raw(
        "GET",
        f"/subscriptions/{unique('')}0000-0000-0000-0000-000000000000/resourcegroups?api-version=1",
        azure.arm_token(),
    )
    assert (status, body["error"]["code"]) == (404, "SubscriptionNotFound")
