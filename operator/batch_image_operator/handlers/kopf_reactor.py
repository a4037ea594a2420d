"""Two changes to Kopf's reactor, each measured under a 1,000-object burst.

**Its watcher no longer yields a loop turn per new object.** Kopf's watch loop reads one
stream per kind (all namespaces) and hands each event to the object's worker, spawning
the worker when the object has none. ``Scheduler.spawn`` ends with ``await
asyncio.sleep(0)``, which Kopf keeps for its own tests' determinism; in the watcher it
costs one full turn of the event loop for every object without a live worker. Under a
1,000-object burst a turn is every runnable task of the burst, so the stream fell
behind by a turn per object: another namespace's events (its finalizer echo, its edits)
were read 20-80 s after the API server sent them (measured in the bench, on a loaded
machine). Without the yield the watcher reads what is buffered at once, and the workers
start on the next turn all the same.

**New objects are taken up a bounded number at a time, per namespace in turn.** A new
object's first event (a watch ADDED: Kopf indexes it and patches its finalizer on) ran
in its own worker, and a burst's thousand workers all ran at once, first come first
served: another namespace's new object waited for every one of them started before
it, 0.5 s on a busy loop (probe timelines in `make bench`), and its first Azure write
came 1.1-2.2 s after its creation while Kopf took the burst up. Now at most
``at_once`` first events are processed at a time, granted per namespace in turn, and a
namespace with none under way gets one at once (fairshare.py): the burst's other
workers wait in their namespace's queue, off the event loop, and the other namespace's
object is taken up next. Only ADDED events after the initial listing are bounded:
listed objects (type None) are indexed before anything else runs, and a bound there
would wait on itself. A first event runs no Azure call (the passes run apart,
runner/scheduled.py), only Kopf's finalizer patch, which the Kubernetes connections
bound anyway (kube/session.py).

Both replace or wrap Kopf internals; ``tests/contract/test_kopf_contract.py`` fails if
Kopf's versions of them change, so an upgrade revisits this.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any

from kopf._cogs.aiokits import aiotasks
from kopf._core.reactor import processing

from ..fairshare import FairShare

# Kopf's own, kept for the contract test (install() replaces it process-wide).
KOPF_OWN_SPAWN = aiotasks.Scheduler.spawn


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


# Kopf's own, kept for the wrapper (and for the contract test).
KOPF_PROCESS = processing.process_resource_event
# A first event holds its slot through Kopf's finalizer patch, which waits for one of
# the BIO_KUBE_CONNECTIONS: four per connection keep them busy (64 by default; 32 and
# 64 both met the bench's fairness goal, 64 took the burst up no slower than unbounded).
TAKE_UP_PER_KUBE_CONNECTION = 4


def take_up_new_objects_in_turn(at_once: int) -> None:
    """Bound new objects' first events to ``at_once`` at a time, per namespace in turn
    (process-wide; installing again replaces the bound). One gate per event loop."""
    gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FairShare] = \
        weakref.WeakKeyDictionary()

    async def process(**kwargs: Any) -> str | None:
        raw_event = kwargs["raw_event"]
        indexed = kwargs.get("operator_indexed")
        if raw_event.get("type") != "ADDED" or (indexed is not None and not indexed.is_on()):
            return await KOPF_PROCESS(**kwargs)
        loop = asyncio.get_running_loop()
        gate = gates.get(loop)
        if gate is None:
            gate = gates[loop] = FairShare(at_once, first_at_once=True)
        namespace = ((raw_event.get("object") or {}).get("metadata") or {}).get("namespace")
        async with gate.slot(namespace, nested=False):
            return await KOPF_PROCESS(**kwargs)

    processing.process_resource_event = process  # type: ignore[assignment]


def install(kube_connections: int) -> None:
    """Both changes, as the operator runs: by __main__, and by the test suites'
    in-process operator, so the suites run Kopf's reactor as production does."""
    read_watch_streams_without_yielding()
    take_up_new_objects_in_turn(TAKE_UP_PER_KUBE_CONNECTION * kube_connections)
