"""azuresim enforces the role its principal holds (`--role-file`, the role-definition JSON
of docs/azure-role.json): what the role does not grant is refused with Azure's own 403."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.batch import BatchClient
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient

from azuresim.arm.ids import parse
from azuresim.rbac import RoleFileError, arm_action, batch_action, parse_role
from helpers.system import ROOT, SEED, SUB, azure_sdk
from simlaunch import run_azuresim

ROLE = ROOT / "docs" / "azure-role.json"
FAST = ("--lro-seconds", "0.2", "--allocation-seconds", "0.5")
RG = f"/subscriptions/{SUB}/resourceGroups/rg-batch-images"


def role_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ROLE.read_text())
    return doc


@pytest.mark.parametrize("method,path,action", [
    ("PUT", f"{RG}/providers/Microsoft.Compute/galleries/g", "Microsoft.Compute/galleries/write"),
    ("GET", f"{RG}/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0",
     "Microsoft.Compute/galleries/images/versions/read"),
    ("DELETE", f"{RG}/providers/Microsoft.Compute/images/i", "Microsoft.Compute/images/delete"),
    ("PATCH", f"{RG}/providers/Microsoft.Batch/batchAccounts/a/pools/p",
     "Microsoft.Batch/batchAccounts/pools/write"),
    ("POST", f"{RG}/providers/Microsoft.Batch/batchAccounts/a/pools/p/stopResize",
     "Microsoft.Batch/batchAccounts/pools/stopResize/action"),
    ("GET", f"{RG}/providers/Microsoft.Batch/batchAccounts/a/pools",
     "Microsoft.Batch/batchAccounts/pools/read"),
    ("GET", RG, "Microsoft.Resources/subscriptions/resourceGroups/read"),
])
def test_requests_map_to_the_actions_azure_checks(method: str, path: str, action: str) -> None:
    route = parse(path)
    assert route is not None and arm_action(method, route) == action


def test_data_plane_pool_calls_need_the_pool_actions() -> None:
    assert batch_action("GET", "nodecounts") == "Microsoft.Batch/batchAccounts/pools/read"
    assert batch_action("POST", "pools/p/resize") == "Microsoft.Batch/batchAccounts/pools/write"
    assert batch_action("GET", "supportedimages") == "Microsoft.Batch/batchAccounts/read"


def test_wildcards_and_not_actions_match_as_in_azure() -> None:
    role = parse_role({"properties": {"roleName": "r", "permissions": [{
        "actions": ["Microsoft.Compute/*/read", "Microsoft.Batch/batchAccounts/pools/*"],
        "notActions": ["Microsoft.Batch/batchAccounts/pools/delete"]}]}})
    assert role.allows("microsoft.compute/galleries/images/read")
    assert not role.allows("Microsoft.Compute/galleries/write")
    assert role.allows("Microsoft.Batch/batchAccounts/pools/write")
    assert not role.allows("Microsoft.Batch/batchAccounts/pools/delete")


def test_the_documented_role_parses_and_a_role_granting_nothing_is_refused() -> None:
    assert parse_role(role_doc()).allows("Microsoft.Compute/galleries/write")
    with pytest.raises(RoleFileError):
        parse_role({"Name": "empty", "Actions": []})


def test_a_bad_role_file_stops_the_emulator_before_ready(tmp_path: Path) -> None:
    bad = tmp_path / "role.json"
    bad.write_text('{"Name": "x", "Actions": "Microsoft.Compute/*"}')
    proc = subprocess.run([sys.executable, "-m", "azuresim", "--env-file",
                           str(tmp_path / "env"), "--role-file", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Actions" not in proc.stdout
    assert "must be a list" in proc.stderr


def test_what_the_role_lacks_is_refused_with_azures_authorization_failed(tmp_path: Path) -> None:
    doc = copy.deepcopy(role_doc())
    doc["Actions"].remove("Microsoft.Compute/galleries/write")
    doc["Actions"].remove("Microsoft.Batch/batchAccounts/pools/read")
    role = tmp_path / "role.json"
    role.write_text(json.dumps(doc))
    with run_azuresim(tmp_path / "az", "--seed", str(SEED), "--subscription-id", SUB,
                      "--role-file", str(role), *FAST) as emu:
        compute, batch = azure_sdk(emu.env)
        assert isinstance(compute, ComputeManagementClient)
        # Granted: reads of what the seed holds.
        assert compute.snapshots.get("rg-batch-images", "ubuntu-hpc-os").name == "ubuntu-hpc-os"
        account = batch.batch_account.get("rg-batch", "batchdemo")
        # Not granted: creating a gallery.
        with pytest.raises(HttpResponseError) as refused:
            compute.galleries.begin_create_or_update(
                "rg-batch-images", "batchimages", {"location": "westeurope"}).result()
        assert refused.value.status_code == 403
        assert refused.value.error is not None
        assert refused.value.error.code == "AuthorizationFailed"
        assert (f"does not have authorization to perform action "
                f"'Microsoft.Compute/galleries/write' over scope '{RG}/providers/"
                "Microsoft.Compute/galleries/batchimages' or the scope is invalid"
                ) in refused.value.error.message
        # The Batch data plane checks the pool actions too.
        env = emu.env
        cred = ClientSecretCredential(
            env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"],
            authority=env["AZURE_AUTHORITY_HOST"], connection_verify=env["AZURE_CA_BUNDLE"],
            disable_instance_discovery=True)
        data = BatchClient(endpoint=f"https://{account.account_endpoint}", credential=cred,
                           connection_verify=emu.env["AZURE_CA_BUNDLE"])
        with pytest.raises(HttpResponseError) as denied:
            list(data.list_pools())
        assert denied.value.status_code == 403
        body = denied.value.response.json()  # type: ignore[union-attr]
        assert body["code"] == "AuthorizationFailure"
        assert body["message"]["value"].startswith(
            "This request is not authorized to perform this operation.")
        counters = requests.get(f"{emu.admin_url}/requests", verify=emu.ca_bundle,
                                timeout=10).json()["counters"]
        assert counters.get("galleries.create") == 1  # refused, and nothing created
        assert requests.get(f"{emu.admin_url}/resources", verify=emu.ca_bundle,
                            timeout=10).text.count("Microsoft.Compute/galleries") == 0


def test_without_a_role_file_everything_is_allowed(tmp_path: Path) -> None:
    with run_azuresim(tmp_path / "az", "--seed", str(SEED), "--subscription-id", SUB,
                      *FAST) as emu:
        compute, _ = azure_sdk(emu.env)
        compute.galleries.begin_create_or_update(
            "rg-batch-images", "batchimages", {"location": "westeurope"}).result()
