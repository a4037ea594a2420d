"""The Batch data plane through the unmodified azure-batch BatchClient, sync and async."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient
from azure.batch.aio import BatchClient as AsyncBatchClient
from azure.core.exceptions import ResourceNotFoundError

from azuresim_support import Azure
from batchutil import make_account, make_image, pool_body, wait_steady


def data_client(azure: Azure, rg: str, account: str) -> BatchClient:
    endpoint = azure.batch_mgmt().batch_account.get(rg, account).account_endpoint
    return BatchClient(
        endpoint="https://" + endpoint, credential=azure.credential(), connection_verify=azure.ca
    )


def test_pool_nodes_and_counts(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    image_id = make_image(azure.compute(), rg)
    mgmt = azure.batch_mgmt()
    mgmt.pool.create(rg, account, "p", pool_body(image_id, dedicated=5, low=2))
    mgmt.pool.create(rg, account, "empty", pool_body(None))
    wait_steady(mgmt, rg, account, "p")
    client = data_client(azure, rg, account)

    pool = client.get_pool("p")
    assert pool.id == "p"
    assert pool.allocation_state == "steady"
    assert (pool.current_dedicated_nodes, pool.current_low_priority_nodes) == (5, 2)
    assert pool.virtual_machine_configuration.image_reference.virtual_machine_image_id == image_id
    assert pool.virtual_machine_configuration.node_agent_sku_id == "batch.node.ubuntu 22.04"
    assert sorted(p.id for p in client.list_pools()) == ["empty", "p"]

    azure.admin("POST", "/reset-counters")
    nodes = list(client.list_nodes("p", max_results=2))
    assert len(nodes) == 7 and len({n.id for n in nodes}) == 7
    assert azure.admin("GET", "/requests")["counters"]["batch.nodes.list"] == 4
    assert sum(n.is_dedicated for n in nodes) == 5
    assert {n.state for n in nodes} == {"idle"}
    assert all(n.scheduling_state == "enabled" for n in nodes)

    counts = {c.pool_id: c for c in client.list_pool_node_counts()}
    assert counts["p"].dedicated.idle == 5 and counts["p"].dedicated.total == 5
    assert counts["p"].low_priority.total == 2
    assert counts["empty"].dedicated.total == 0


def test_nodes_start_while_resizing(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    mgmt = azure.batch_mgmt()
    azure.admin("POST", "/speed", {"allocationSeconds": 30})
    try:
        mgmt.pool.create(rg, account, "p", pool_body(None, dedicated=20))
        azure.admin("POST", "/clock/advance", {"seconds": 15})
        client = data_client(azure, rg, account)
        pool = client.get_pool("p")
        assert pool.allocation_state == "resizing"
        assert 0 < pool.current_dedicated_nodes < 20
        assert {n.state for n in client.list_nodes("p")} == {"starting"}
    finally:
        azure.admin("POST", "/speed", {"allocationSeconds": 0.5})
        azure.admin("POST", "/clock/advance", {"seconds": 30})
    assert data_client(azure, rg, account).get_pool("p").current_dedicated_nodes == 20


def test_supported_images(azure: Azure, rg: str) -> None:
    images = list(data_client(azure, rg, make_account(azure, rg)).list_supported_images())
    skus = {i.node_agent_sku_id for i in images}
    assert {"batch.node.ubuntu 22.04", "batch.node.windows amd64"} <= skus
    ubuntu = next(i for i in images if i.node_agent_sku_id == "batch.node.ubuntu 22.04")
    assert ubuntu.image_reference.publisher == "canonical"
    assert ubuntu.os_type == "linux"


def test_missing_pool_error_shape(azure: Azure, rg: str) -> None:
    client = data_client(azure, rg, make_account(azure, rg))
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_pool("absent")
    assert info.value.error.code == "PoolNotFound"


def test_data_plane_requires_batch_token(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    endpoint = azure.batch_mgmt().batch_account.get(rg, account).account_endpoint
    from azuresim_support import http

    url = f"https://{endpoint}/supportedimages?api-version=2025-06-01"
    status, body, headers = http("GET", url, azure.ca)
    assert status == 401 and body["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer ")
    assert body["message"]["lang"] == "en-US"
    status, body, _ = http(
        "GET", url, azure.ca, headers={"Authorization": f"Bearer {azure.arm_token()}"}
    )
    assert status == 403 and body["code"] == "AuthenticationFailed"


async def test_data_plane_async(azure: Azure, rg: str) -> None:
    account = make_account(azure, rg)
    mgmt = azure.batch_mgmt()
    mgmt.pool.create(rg, account, "p", pool_body(None, dedicated=3))
    wait_steady(mgmt, rg, account, "p")
    endpoint = mgmt.batch_account.get(rg, account).account_endpoint
    async with (
        azure.async_credential() as cred,
        AsyncBatchClient(
            endpoint="https://" + endpoint, credential=cred, connection_verify=azure.ca
        ) as client,
    ):
        pool = await client.get_pool("p")
        assert pool.current_dedicated_nodes == 3
        nodes = [n async for n in client.list_nodes("p", max_results=2)]
        assert len(nodes) == 3
        counts = [c async for c in client.list_pool_node_counts()]
        assert counts[0].dedicated.total == 3


def test_data_plane_resize_and_stop(azure: Azure, rg: str) -> None:
    from azure.batch.models import BatchPoolResizeOptions
    from azure.core.exceptions import ResourceExistsError

    account = make_account(azure, rg)
    mgmt = azure.batch_mgmt()
    mgmt.pool.create(rg, account, "p", pool_body(None, dedicated=1))
    wait_steady(mgmt, rg, account, "p")
    client = data_client(azure, rg, account)
    client.begin_resize_pool(
        "p", BatchPoolResizeOptions(target_dedicated_nodes=4), polling_interval=1
    ).result()
    assert client.get_pool("p").current_dedicated_nodes == 4
    assert mgmt.pool.get(rg, account, "p").scale_settings.fixed_scale.target_dedicated_nodes == 4

    azure.admin("POST", "/speed", {"allocationSeconds": 60})
    try:
        client.begin_resize_pool("p", BatchPoolResizeOptions(target_dedicated_nodes=9))
        with pytest.raises(ResourceExistsError) as info:
            client.begin_resize_pool("p", BatchPoolResizeOptions(target_dedicated_nodes=2))
        assert info.value.error.code == "PoolNotSteady"
        client.begin_stop_pool_resize("p", polling_interval=1).result()
    finally:
        azure.admin("POST", "/speed", {"allocationSeconds": 0.5})
    assert client.get_pool("p").allocation_state == "steady"
