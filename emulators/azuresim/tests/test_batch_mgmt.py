"""Batch accounts and pools through azure-mgmt-batch: allocation, resize, stop, delete."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.mgmt.batch import models as bm
from azure.mgmt.batch.aio import BatchManagementClient as AsyncBatchManagementClient

from azuresim_support import Azure, unique
from batchutil import make_account, make_image, pool_body, wait_steady


def test_batch_account(azure: Azure, rg: str) -> None:
    name = make_account(azure, rg)
    account = azure.batch_mgmt().batch_account.get(rg, name)
    assert account.provisioning_state == "Succeeded"
    assert account.pool_allocation_mode == "BatchService"
    endpoint = account.account_endpoint
    assert "://" not in endpoint
    if azure.is_sim:
        # The emulator's scheme (see its README): one listener, a path per account.
        assert endpoint.startswith(azure.url.removeprefix("https://") + "/batch/")
    with pytest.raises(ResourceNotFoundError):
        azure.batch_mgmt().batch_account.get(rg, "nosuchaccount")


def test_pool_allocates_to_target(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    image_id = make_image(azure.compute(), rg)
    batch = azure.batch_mgmt()
    created = batch.pool.create(rg, account, "p1", pool_body(image_id, dedicated=4, low=2))
    assert created.allocation_state == "Resizing"
    assert created.provisioning_state == "Succeeded"
    status = created.resize_operation_status
    assert (status.target_dedicated_nodes, status.target_low_priority_nodes) == (4, 2)
    assert status.resize_timeout == dt.timedelta(minutes=15)
    assert status.start_time is not None
    assert (
        created.deployment_configuration.virtual_machine_configuration.image_reference.id
        == image_id
    )

    steady = wait_steady(batch, rg, account, "p1")
    assert (steady.current_dedicated_nodes, steady.current_low_priority_nodes) == (4, 2)
    assert not steady.resize_operation_status.errors
    assert steady.etag and steady.etag != created.etag

    # PATCH the scale settings: a new resize, down this time.
    patch = bm.Pool(
        scale_settings=bm.ScaleSettings(
            fixed_scale=bm.FixedScaleSettings(
                target_dedicated_nodes=1, resize_timeout=dt.timedelta(minutes=20)
            )
        )
    )
    updated = batch.pool.update(rg, account, "p1", patch)
    assert updated.allocation_state == "Resizing"
    assert updated.resize_operation_status.target_dedicated_nodes == 1
    steady = wait_steady(batch, rg, account, "p1")
    assert (steady.current_dedicated_nodes, steady.current_low_priority_nodes) == (1, 0)
    assert steady.scale_settings.fixed_scale.resize_timeout == dt.timedelta(minutes=20)


def test_resize_timeout_formats_and_minimum(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    token = azure.arm_token()
    base = (
        f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Batch"
        f"/batchAccounts/{account}/pools"
    )
    body = pool_body(None, dedicated=1).as_dict()
    for name, timeout in (("a", "PT15M"), ("b", "PT15M00S")):
        body["properties"]["scaleSettings"]["fixedScale"]["resizeTimeout"] = timeout
        status, got, headers = azure.raw(
            "PUT", f"{base}/{name}?api-version=2025-06-01", token, body
        )
        assert status == 200, got
        assert got["properties"]["resizeOperationStatus"]["resizeTimeout"] == "PT15M"
        assert headers["ETag"] == got["etag"]
    body["properties"]["scaleSettings"]["fixedScale"]["resizeTimeout"] = "PT1M"
    status, got, _ = azure.raw("PUT", f"{base}/c?api-version=2025-06-01", token, body)
    assert (status, got["error"]["code"]) == (400, "InvalidPropertyValue")


def test_stop_resize(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    azure.admin("POST", "/speed", {"allocationSeconds": 60})
    try:
        batch.pool.create(rg, account, "p", pool_body(None, dedicated=10))
        stopped = batch.pool.stop_resize(rg, account, "p")
        assert stopped.allocation_state == "Stopping"
    finally:
        azure.admin("POST", "/speed", {"allocationSeconds": 0.5})
    steady = wait_steady(batch, rg, account, "p")
    assert steady.current_dedicated_nodes < 10
    assert steady.resize_operation_status.target_dedicated_nodes == 10


def test_resize_while_resizing_conflicts(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    azure.admin("POST", "/speed", {"allocationSeconds": 60})
    try:
        batch.pool.create(rg, account, "p", pool_body(None, dedicated=10))
        with pytest.raises(HttpResponseError) as info:
            batch.pool.update(rg, account, "p", pool_body(None, dedicated=3))
        assert (info.value.status_code, info.value.error.code) == (409, "PoolNotSteady")
    finally:
        azure.admin("POST", "/speed", {"allocationSeconds": 0.5})
        azure.admin("POST", "/clock/advance", {"seconds": 60})


def test_pool_create_if_none_match(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    created = batch.pool.create(
        rg, account, "p", pool_body(None), match_condition=MatchConditions.IfMissing
    )
    with pytest.raises(ResourceExistsError):
        batch.pool.create(
            rg, account, "p", pool_body(None), match_condition=MatchConditions.IfMissing
        )
    # If-Match with a stale ETag is refused; with the current one it applies.
    stale = created.etag
    current = batch.pool.update(rg, account, "p", bm.Pool(display_name="renamed"))
    assert current.etag != stale and current.display_name == "renamed"
    with pytest.raises(ResourceModifiedError):
        batch.pool.update(
            rg,
            account,
            "p",
            bm.Pool(display_name="x"),
            etag=stale,
            match_condition=MatchConditions.IfNotModified,
        )
    done = batch.pool.update(
        rg,
        account,
        "p",
        bm.Pool(display_name="y"),
        etag=current.etag,
        match_condition=MatchConditions.IfNotModified,
    )
    assert done.display_name == "y"


def test_pool_validation(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    no_size = pool_body(None)
    no_size.vm_size = None
    with pytest.raises(HttpResponseError) as info:
        batch.pool.create(rg, account, "p", no_size)
    assert info.value.status_code == 400 and "vmSize" in info.value.error.message
    missing_image = (
        f"/subscriptions/{azure.sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/gone"
    )
    with pytest.raises(HttpResponseError) as info:
        batch.pool.create(rg, account, "p", pool_body(missing_image))
    assert info.value.error.code == "InvalidPropertyValue"
    no_sku = pool_body(None)
    no_sku.deployment_configuration.virtual_machine_configuration.node_agent_sku_id = None
    with pytest.raises(HttpResponseError) as info:
        batch.pool.create(rg, account, "p", no_sku)
    assert "nodeAgentSkuId" in info.value.error.message
    with pytest.raises(ResourceNotFoundError):
        batch.pool.get(rg, account, "p")


def test_pool_list_pages_and_delete(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    batch = azure.batch_mgmt()
    names = sorted(unique("p") for _ in range(5))
    for name in names:
        batch.pool.create(rg, account, name, pool_body(None))
    azure.admin("POST", "/reset-counters")
    listed = [p.name for p in batch.pool.list_by_batch_account(rg, account, maxresults=2)]
    assert listed == names
    assert azure.admin("GET", "/requests")["counters"]["pools.list"] == 3

    azure.admin("POST", "/speed", {"lroSeconds": 600})
    try:
        poller = batch.pool.begin_delete(rg, account, names[0])
        assert batch.pool.get(rg, account, names[0]).provisioning_state == "Deleting"
        with pytest.raises(HttpResponseError) as info:
            batch.pool.update(rg, account, names[0], pool_body(None, dedicated=1))
        assert (info.value.status_code, info.value.error.code) == (409, "PoolBeingDeleted")
    finally:
        azure.admin("POST", "/speed", {"lroSeconds": 0.2})
    azure.admin("POST", "/clock/advance", {"seconds": 600})
    poller.result()
    with pytest.raises(ResourceNotFoundError):
        batch.pool.get(rg, account, names[0])
    assert [p.name for p in batch.pool.list_by_batch_account(rg, account)] == names[1:]


async def test_pool_async(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    async with (
        azure.async_credential() as cred,
        AsyncBatchManagementClient(cred, azure.sub, **azure.mgmt_kwargs()) as batch,
    ):
        created = await batch.pool.create(rg, account, "p", pool_body(None, dedicated=2))
        assert created.allocation_state == "Resizing"
        poller = await batch.pool.begin_delete(rg, account, "p")
        await poller.result()
        with pytest.raises(ResourceNotFoundError):
            await batch.pool.get(rg, account, "p")
