"""CPU per watch event of Kopf's processing with this operator's handlers registered.

`make bench` resolves changes of about 10 % at best (the machine's speed drifts); a
change to what runs on every event (an index handler more or less) is a few percent of
the whole. This feeds Kopf's own `process_resource_event` the echo of a pool's status
write (the most common event in a burst: three of a pool's five) for ``--pools`` pools,
``--rounds`` times, in one process without any server, and prints the CPU per event.
Run it for two trees one after the other, a few times each, and compare the minima.

    python bench/kopf_events.py [--pools 300] [--rounds 8]

The create handler's request for a pass is replaced by a no-op (no pass, no Azure); the
pools carry the finalizer already, so Kopf patches nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import kopf
from kopf._cogs.structs import references
from kopf._core.actions import lifecycles
from kopf._core.engines import indexing
from kopf._core.reactor import inventory, processing

from batch_image_operator.config import Settings
from batch_image_operator.handlers.kopfconfig import FINALIZER, configure_kopf
from batch_image_operator.handlers.registration import register
from batch_image_operator.runner.scheduled import ScheduledPasses

SUBSCRIPTION = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
POOLS = references.Resource(group="batchimage.dev", version="v1alpha1", plural="batchpools",
                            kind="BatchPool", namespaced=True,
                            verbs=["list", "watch", "patch"])


def pool(i: int, revision: int) -> dict[str, Any]:
    """Pool ``i`` as a watch event carries it after status write number ``revision``."""
    return {"apiVersion": "batchimage.dev/v1alpha1", "kind": "BatchPool",
            "metadata": {"name": f"pool-{i}", "namespace": "default", "uid": f"uid-{i}",
                         "generation": 1, "resourceVersion": str(revision),
                         "creationTimestamp": "2026-12-03T14:00:00Z",
                         "finalizers": [FINALIZER],
                         "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
            "spec": {"vmSize": "Standard_D2s_v3",
                     "image": {"managedImageRef": {"name": f"image-{i % 50}"}},
                     "account": {"name": "batchdemo", "resourceGroup": "rg-batch"},
                     "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1}}},
            "status": {"poolId": f"pool-{i}", "observedGeneration": 1,
                       "conditions": [{"type": "Ready", "status": "False",
                                       "reason": "Resizing",
                                       "message": f"creating pool ({revision})",
                                       "lastTransitionTime": "2026-12-03T14:00:00Z",
                                       "observedGeneration": 1}]}}


async def measure(pools: int, rounds: int) -> tuple[list[float], indexing.OperatorIndexers]:
    """Microseconds of CPU per event, one figure per round; and Kopf's indexes after."""
    registry = kopf.OperatorRegistry()
    runtime = register(registry, Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
                                                   "BIO_ALLOWLIST_FILE": "unrestricted"}),
                       {}, kube_login=lambda **_: None)
    settings = kopf.OperatorSettings()
    configure_kopf(settings, runtime)
    indexers = indexing.OperatorIndexers()
    indexers.ensure(registry._indexing.get_all_handlers())
    memories = inventory.ResourceMemories()
    memobase = kopf.Memo()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def feed(revision: int) -> None:
        for i in range(pools):
            await processing.process_resource_event(
                lifecycle=lifecycles.all_at_once, indexers=indexers, registry=registry,
                settings=settings, memories=memories, memobase=memobase, resource=POOLS,
                raw_event={"type": "MODIFIED", "object": pool(i, revision)},
                event_queue=queue)
        while not queue.empty():  # Kopf's k8s-event posts, never sent here
            queue.get_nowait()

    await feed(1)  # first sight: the create handler runs once per pool
    await feed(2)
    figures = []
    for r in range(rounds):
        started = time.process_time()
        await feed(3 + r)
        figures.append((time.process_time() - started) / pools * 1e6)
    return figures, indexers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pools", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    # No pass is run: only Kopf's processing and the handlers it calls are measured.
    ScheduledPasses.request = lambda *a, **k: None  # type: ignore[method-assign]
    figures, _ = asyncio.run(measure(args.pools, args.rounds))
    figures.sort()
    print(f"CPU per status-echo event: min {figures[0]:.1f} us, "
          f"median {figures[len(figures) // 2]:.1f} us ({args.pools} pools, "
          f"{args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
