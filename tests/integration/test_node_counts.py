"""Node counts for every pool of an account come from one paged data-plane listing."""

from __future__ import annotations

import asyncio

from batch_image_operator.config import Settings
from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.runner.runtime import Runtime
from helpers.system import SUB
from simlaunch import Emulator

ACCOUNT = (f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch"
           "/batchAccounts/batchdemo")
POOLS = 1001  # a page holds 1,000: the last pool is on the second page
MARKETPLACE = {"imageReference": {"publisher": "canonical",
                                  "offer": "0001-com-ubuntu-server-jammy",
                                  "sku": "22_04-lts", "version": "latest"},
               "nodeAgentSkuId": "batch.node.ubuntu 22.04"}


async def counts_of_last_pool(env: dict[str, str]) -> dict | None:
    runtime = Runtime(Settings.from_env(env), env)
    await runtime.start()
    try:
        assert runtime.identities.default is not None
        gateways = runtime.identities.default.gateways
        assert gateways.pools is not None
        rids = [parse_resource_id(f"{ACCOUNT}/pools/p{i:04d}") for i in range(POOLS)]
        body = {"properties": {
            "vmSize": "Standard_D2s_v3",
            "deploymentConfiguration": {"virtualMachineConfiguration": MARKETPLACE},
            "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}}}}
        await asyncio.gather(*(gateways.pools.create(rid, body) for rid in rids))
        assert gateways.accounts is not None
        return await gateways.accounts.node_counts(rids[-1])
    finally:
        await runtime.stop()


def test_the_last_page_of_node_counts_is_read(azuresim: Emulator) -> None:
    env = {**azuresim.env, "BIO_METRICS_PORT": "off"}
    counts = asyncio.run(counts_of_last_pool(env))
    assert counts is not None and counts["poolId"] == f"p{POOLS - 1:04d}"
    assert set(counts) >= {"dedicated", "lowPriority"}  # the REST names the planner reads
