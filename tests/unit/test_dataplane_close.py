"""A shared Batch request whose callers were cancelled (a shutdown cutting passes short)
is cancelled when the identity closes, not left to fail on a closed session: one that
did raised out of the operator's exit (exit 1 after SIGTERM in a 5,000-pool run)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from batch_image_operator.azure.dataplane import BatchAccountGateway
from batch_image_operator.models.armid import parse_resource_id

ACCOUNT = parse_resource_id("/subscriptions/3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
                            "/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct")


class HangingBatch:
    """batch(sub).batch_account.get(...) that never answers."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.batch_account = self

    def batch(self, subscription: str) -> Any:
        return self

    async def get(self, resource_group: str, name: str) -> Any:
        self.started.set()
        await asyncio.Event().wait()


async def test_closing_cancels_a_shared_request_its_callers_left() -> None:
    clients = HangingBatch()
    gateway = BatchAccountGateway(clients, max_age=1.0)  # type: ignore[arg-type]
    caller = asyncio.create_task(gateway.account(ACCOUNT))
    await clients.started.wait()
    caller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await caller
    # The shared request outlives its caller (callers share it, shielded) ...
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert left and not any(t.done() for t in left)
    # ... until the gateway closes, before its clients do.
    await gateway.close()
    assert all(t.cancelled() for t in left)
