"""Builders for Batch pools and accounts shared by the Batch tests."""

from __future__ import annotations

import datetime as dt

from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.batch import models as bm
from azure.mgmt.compute import ComputeManagementClient
from test_compute import image, snapshot

from azuresim_support import LOCATION, Azure, unique


def make_account(azure: Azure, rg: str) -> str:
    name = unique("acct")
    azure.batch_mgmt().batch_account.begin_create(
        rg, name, bm.BatchAccountCreateParameters(location=LOCATION)
    ).result()
    return name


def make_image(compute: ComputeManagementClient, rg: str, name: str = "img") -> str:
    snap = compute.snapshots.begin_create_or_update(rg, f"{name}-os", snapshot()).result()
    return compute.images.begin_create_or_update(rg, name, image(snap.id)).result().id


def pool_body(
    image_id: str | None, dedicated: int = 0, low: int = 0, timeout: dt.timedelta | None = None
) -> bm.Pool:
    ref = (
        bm.ImageReference(id=image_id)
        if image_id
        else bm.ImageReference(
            publisher="canonical", offer="0001-com-ubuntu-server-jammy", sku="22_04-lts"
        )
    )
    return bm.Pool(
        vm_size="STANDARD_D2S_V3",
        deployment_configuration=bm.DeploymentConfiguration(
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=ref, node_agent_sku_id="batch.node.ubuntu 22.04"
            )
        ),
        scale_settings=bm.ScaleSettings(
            fixed_scale=bm.FixedScaleSettings(
                target_dedicated_nodes=dedicated,
                target_low_priority_nodes=low,
                resize_timeout=timeout or dt.timedelta(minutes=15),
            )
        ),
    )


def wait_steady(batch: BatchManagementClient, rg: str, account: str, pool: str) -> bm.Pool:
    from helpers.waits import eventually

    return eventually(
        lambda: (p := batch.pool.get(rg, account, pool)).allocation_state == "Steady" and p,
        timeout=20.0, what=f"pool {pool} steady",
    )
