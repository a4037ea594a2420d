"""The operator's Azure calls share a small pool of reused TLS connections.

A thousand pools polled at once must not mean a thousand TLS connections: each costs a
handshake and about 256 KiB of buffers. Counted from the kernel's own table of
established connections to azuresim (every client end of those belongs to this test).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from batch_image_operator.config import Settings
from batch_image_operator.models.armid import parse_resource_id
from batch_image_operator.runner.runtime import Runtime
from simlaunch import Emulator


def established_to(port: int) -> int:
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                remote_port, state = int(fields[2].rsplit(":", 1)[1], 16), fields[3]
                if remote_port == port and state == "01":
                    count += 1
    return count


async def concurrent_reads(env: dict[str, str], reads: int) -> int:
    runtime = Runtime(Settings.from_env(env), env)
    await runtime.start()
    try:
        assert runtime.identities.default is not None
        compute = runtime.identities.default.gateways.compute
        sub = env["AZURE_SUBSCRIPTION_ID"]
        ids = [parse_resource_id(f"/subscriptions/{sub}/resourceGroups/rg-batch-images/"
                                 f"providers/Microsoft.Compute/images/absent-{i}")
               for i in range(reads)]
        found = await asyncio.gather(*(compute.get(rid) for rid in ids))
        assert found == [None] * reads
        return established_to(urlsplit(env["AZURE_RESOURCE_MANAGER_ENDPOINT"]).port or 443)
    finally:
        await runtime.stop()


def test_concurrent_azure_calls_reuse_a_bounded_pool_of_connections(
        azuresim: Emulator) -> None:
    # The emulator's CA comes in through AZURE_CA_BUNDLE, as it does for a private cloud.
    env = {**azuresim.env, "BIO_AZURE_CONNECTIONS": "8", "BIO_METRICS_PORT": "off"}
    open_connections = asyncio.run(concurrent_reads(env, 200))
    # 8 for ARM, plus azure-identity's own one to the token endpoint (same emulator).
    assert 1 <= open_connections <= 8 + 1, open_connections
