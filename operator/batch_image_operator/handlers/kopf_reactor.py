"""One change to Kopf's reactor: its watcher no longer yields a loop turn per new object.

Kopf's watch loop reads one stream per kind (all namespaces) and hands each event to the
object's worker, spawning the worker when the object has none. ``Scheduler.spawn`` ends
with ``await asyncio.sleep(0)``, which Kopf keeps for its own tests' determinism; in the
watcher it costs one full turn of the event loop for every object without a live worker.
Under a 1,000-object burst a turn is every runnable task of the burst, so the stream fell
behind by a turn per object: another namespace's events (its finalizer echo, its edits)
were read 20-80 s after the API server sent them (measured in the bench, on a loaded
machine). Without the yield the watcher reads what is buffered at once, and the workers
start on the next turn all the same.

The replacement does what Kopf's does, minus the yield; ``tests/contract/test_kopf_contract.py``
fails if Kopf's version of it changes, so an upgrade revisits this.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from kopf._cogs.aiokits import aiotasks


async def _spawn(self: aiotasks.Scheduler, coro: Coroutine[Any, Any, Any], *,
                 name: str | None = None) -> None:
    if self._closed:
        await aiotasks.cancel_coro(coro=coro, name=name)
        raise RuntimeError("Cannot add new coroutines to a closed and inactive scheduler.")
    async with self._condition:
        await self._pending_coros.put(aiotasks.SchedulerJob(coro=coro, name=name))
        self._condition.notify_all()  # -> Kopf's task_spawner()


def read_watch_streams_without_yielding() -> None:
    """Install the yield-free spawn (process-wide; idempotent)."""
    aiotasks.Scheduler.spawn = _spawn  # type: ignore[method-assign]
