"""The guide's custom-image rules: image must outlive its pools, per-resize cap, node limits."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.batch import BatchClient
from azure.core.exceptions import HttpResponseError
from azure.mgmt.batch import models as bm
from test_compute import image

from azuresim_support import Azure
from batchutil import make_account, make_image, pool_body, wait_steady

ALLOCATION_FAILED = (
    "There was an error encountered while performing the last resize on the pool. "
    "Please try resizing the pool again. Code: AllocationFailed"
)


def resize(dedicated: int, low: int = 0) -> bm.Pool:
    return bm.Pool(
        scale_settings=bm.ScaleSettings(
            fixed_scale=bm.FixedScaleSettings(
                target_dedicated_nodes=dedicated,
                target_low_priority_nodes=low,
                resize_timeout=dt.timedelta(minutes=20),
            )
        )
    )


def test_deleted_image_fails_the_next_grow(azure: Azure, rg: str) -> None:
    compute, batch = azure.compute(), azure.batch_mgmt()
    account = make_account(azure, rg)
    image_id = make_image(compute, rg)
    batch.pool.create(rg, account, "p", pool_body(image_id, dedicated=2))
    wait_steady(batch, rg, account, "p")
    compute.images.begin_delete(rg, "img").result()

    assert batch.pool.update(rg, account, "p", resize(5)).allocation_state == "Resizing"
    pool = wait_steady(batch, rg, account, "p")
    assert pool.current_dedicated_nodes == 2
    errors = pool.resize_operation_status.errors
    assert [(e.code, e.message) for e in errors] == [("AllocationFailed", ALLOCATION_FAILED)]

    endpoint = batch.batch_account.get(rg, account).account_endpoint
    data = BatchClient("https://" + endpoint, azure.credential(), connection_verify=azure.ca)
    assert [e.code for e in data.get_pool("p").resize_errors] == ["AllocationFailed"]

    # Shrinking needs no image.
    batch.pool.update(rg, account, "p", resize(1))
    pool = wait_steady(batch, rg, account, "p")
    assert pool.current_dedicated_nodes == 1 and not pool.resize_operation_status.errors

    # Rebuild the image under the same id and ask again: the resize now succeeds.
    snap = compute.snapshots.get(rg, "img-os")
    compute.images.begin_create_or_update(rg, "img", image(snap.id)).result()
    batch.pool.update(rg, account, "p", resize(5))
    pool = wait_steady(batch, rg, account, "p")
    assert pool.current_dedicated_nodes == 5
    assert not pool.resize_operation_status.errors


def test_large_custom_image_resize_needs_several_attempts(azure: Azure, rg: str) -> None:
    batch = azure.batch_mgmt()
    account = make_account(azure, rg)
    image_id = make_image(azure.compute(), rg)
    azure.admin("POST", "/speed", {"customImageResizeCap": 5})
    try:
        batch.pool.create(rg, account, "p", pool_body(image_id, dedicated=12))
        seen = []
        for _ in range(3):
            pool = wait_steady(batch, rg, account, "p")
            seen.append((pool.current_dedicated_nodes, bool(pool.resize_operation_status.errors)))
            if pool.current_dedicated_nodes < 12:
                batch.pool.update(rg, account, "p", resize(12))
    finally:
        azure.admin("POST", "/speed", {"customImageResizeCap": 300})
    assert seen == [(5, True), (10, True), (12, False)]


def test_marketplace_pools_are_not_capped(azure: Azure, rg: str) -> None:
    batch = azure.batch_mgmt()
    account = make_account(azure, rg)
    azure.admin("POST", "/speed", {"customImageResizeCap": 5})
    try:
        batch.pool.create(rg, account, "p", pool_body(None, dedicated=12))
        pool = wait_steady(batch, rg, account, "p")
    finally:
        azure.admin("POST", "/speed", {"customImageResizeCap": 300})
    assert pool.current_dedicated_nodes == 12


def test_node_limits_summed_over_image_lineage(azure: Azure, rg: str) -> None:
    compute, batch = azure.compute(), azure.batch_mgmt()
    account = make_account(azure, rg)
    first = make_image(compute, rg, "first")
    snap = compute.snapshots.get(rg, "first-os")
    # A second image built from the same snapshot shares the first one's limits.
    sibling = compute.images.begin_create_or_update(rg, "sibling", image(snap.id)).result().id
    batch.pool.create(rg, account, "a", pool_body(first, dedicated=2000))
    with pytest.raises(HttpResponseError) as info:
        batch.pool.create(rg, account, "b", pool_body(sibling, dedicated=600))
    assert info.value.status_code == 400 and "2500" in info.value.error.message
    batch.pool.create(rg, account, "b", pool_body(sibling, dedicated=500))
    with pytest.raises(HttpResponseError):
        batch.pool.create(rg, account, "c", pool_body(first, low=1001))
    # An unrelated image has its own budget.
    other = make_image(compute, rg, "other")
    batch.pool.create(rg, account, "d", pool_body(other, dedicated=2500))
    # Deleting a pool returns its nodes to the lineage's budget.
    batch.pool.begin_delete(rg, account, "b").result()
    batch.pool.create(rg, account, "e", pool_body(sibling, dedicated=500))
