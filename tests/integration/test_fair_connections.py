"""Another namespace's Azure request does not wait behind a burst for a connection.

The Azure slots let more passes call at once than the identity has connections, so
requests queue for a connection. aiohttp's pool serves that queue first come first
served: under the 1,000-pool bench, a probe namespace's PUT waited 0.7 s (median) in
it. Here 2 connections, Azure slowed to 300 ms a call, namespace `burst` sends 6 reads
at once, then namespace `probe` one: real SDK clients, real TLS, azuresim.
"""

from __future__ import annotations

import asyncio

from batch_image_operator.config import Settings
from batch_image_operator.fairshare import FairShare
from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.runner.runtime import Runtime
from helpers.system import azure_admin
from simlaunch import Emulator

BURST = 6


async def completion_order(env: dict[str, str]) -> list[str]:
    runtime = Runtime(Settings.from_env(env), env)
    await runtime.start()
    # The passes' own Azure slots, as runner/run.py takes them: plenty, so every request
    # is sent to the connection pool at once and queues there.
    passes = FairShare(100)
    done: list[str] = []
    try:
        assert runtime.identities.default is not None
        pools = runtime.identities.default.gateways.pools
        assert pools is not None
        sub = env["AZURE_SUBSCRIPTION_ID"]

        async def read(namespace: str, name: str) -> None:
            rid = parse_resource_id(f"/subscriptions/{sub}/resourceGroups/rg-batch/providers/"
                                    f"Microsoft.Batch/batchAccounts/batchdemo/pools/{name}")
            async with passes.slot(namespace):
                assert await pools.get(rid) is None
            done.append(namespace)

        await read("warm", "token")  # the token is fetched once, before the burst
        done.clear()
        burst = [asyncio.create_task(read("burst", f"b-{i}")) for i in range(BURST)]
        # No I/O before the pool now (the token is cached): a few loop turns queue them.
        for _ in range(50):
            await asyncio.sleep(0)
        probe = asyncio.create_task(read("probe", "p"))
        await asyncio.gather(*burst, probe)
        return done
    finally:
        await runtime.stop()


def test_another_namespaces_request_takes_one_of_the_next_freed_connections(
        azuresim: Emulator) -> None:
    azure_admin(azuresim, "POST", "/faults", {
        "method": "GET", "pathRegex": "/pools/", "count": 100, "latencyMs": 300})
    env = {**azuresim.env, "BIO_AZURE_CONNECTIONS": "2", "BIO_METRICS_PORT": "off"}
    order = asyncio.run(completion_order(env))
    # 2 in flight, 4 of the burst queued, then the probe: first come first served it
    # came back last (7th); in turn, with the second wave (3rd or 4th).
    assert order.index("probe") <= 3, order
