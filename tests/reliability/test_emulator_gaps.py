"""Emulator behaviour the reliability suites needed (once missing, now emulated)."""

from __future__ import annotations

from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient

from simlaunch import Emulator


def test_galleries_list_by_subscription(azuresim: Emulator) -> None:
    env = azuresim.env
    cred = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"],
        authority=env["AZURE_AUTHORITY_HOST"], connection_verify=env["AZURE_CA_BUNDLE"],
        disable_instance_discovery=True)
    compute = ComputeManagementClient(
        cred, env["AZURE_SUBSCRIPTION_ID"], base_url=env["AZURE_RESOURCE_MANAGER_ENDPOINT"],
        connection_verify=env["AZURE_CA_BUNDLE"], polling_interval=0.2, retry_total=0)
    compute.galleries.begin_create_or_update(
        "rg-batch-images", "gal", {"location": "westeurope"}).result()
    assert [g.name for g in compute.galleries.list()] == ["gal"]
