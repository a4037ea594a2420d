"""The private Kopf (and aiohttp) details this operator relies on, checked against the
installed versions: a Kopf upgrade that changes one fails here, not in production.

- handlers/kopfconfig.py `_DemoteRoutine` matches Kopf's log texts: a deliberate retry
  ("failed temporarily: waiting: ..."), a handler's "succeeded." and a cause's "is
  processed: 1 succeeded; 0 failed.". Produced here by Kopf's own executor, not typed in.
- runner/persistence.py subclasses Kopf's storages: its overrides must keep Kopf's
  keyword names (Kopf calls them by keyword), it calls the private
  `_detect_marked_prefixes`, it inherits `touch` (the one write left), and it assumes
  every key Kopf writes lives under our prefix.
- metrics.py reads the bound port from aiohttp's private `TCPSite._server`.
"""

from __future__ import annotations

import ast
import asyncio
import datetime
import inspect
import logging
import textwrap
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from aiohttp import web
from kopf._core.actions import execution
from kopf._core.reactor import processing

from batch_image_operator import GROUP
from batch_image_operator.handlers import kopf_reactor
from batch_image_operator.handlers.kopfconfig import _DemoteRoutine
from batch_image_operator.runner.persistence import (
    MemoryDiffBaseStorage,
    MemoryProgressStorage,
)
from batch_image_operator.runner.run import WAITING


class _FirstAttempt:
    """A handler's state as Kopf's executor reads it: first try, no time spent."""

    retries = 0
    runtime = datetime.timedelta(0)
    awakened = True
    started = None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kopf_objects() -> Iterator[_Records]:
    """Kopf's per-object logger at INFO (the operator's default), with our filter."""
    logger = logging.getLogger("kopf.objects")
    level, demote, records = logger.level, _DemoteRoutine(), _Records()
    logger.setLevel(logging.INFO)
    logger.addFilter(demote)
    logger.addHandler(records)
    try:
        yield records
    finally:
        logger.removeHandler(records)
        logger.removeFilter(demote)
        logger.setLevel(level)


async def _run_handler(handler_id: str, fn: Any) -> execution.Outcome:
    handler = execution.Handler(id=handler_id, fn=fn, param=None, errors=None,
                                timeout=None, retries=None, backoff=None)
    return await execution.execute_handler_once(
        settings=kopf.OperatorSettings(), handler=handler,
        cause=execution.Cause(logger=logging.getLogger("kopf.objects")),
        state=_FirstAttempt())  # type: ignore[arg-type]


async def test_kopfs_retry_line_for_our_wait_is_demoted(kopf_objects: _Records) -> None:
    async def waiting(**_: Any) -> None:
        raise kopf.TemporaryError(WAITING + "in use by pool render", delay=5)

    outcome = await _run_handler("delete_managedimage", waiting)
    assert not outcome.final and outcome.delay == 5  # Kopf still retries it
    assert kopf_objects.records == []


async def test_a_real_failure_is_still_logged_as_an_error(kopf_objects: _Records) -> None:
    async def failing(**_: Any) -> None:
        raise kopf.TemporaryError("writing status: 503")

    await _run_handler("delete_managedimage", failing)
    assert [(r.levelno, r.getMessage()) for r in kopf_objects.records] == [
        (logging.ERROR, "Handler 'delete_managedimage' failed temporarily: writing status: 503")]


@pytest.mark.parametrize("handler_id", ["reconcile_batchpool", "reconcile_managedimage",
                                        "delete_batchpool", "wake_pools"])
async def test_kopfs_succeeded_line_for_our_handlers_is_demoted(
        kopf_objects: _Records, handler_id: str) -> None:
    async def done(**_: Any) -> None:
        return None

    assert (await _run_handler(handler_id, done)).final
    assert kopf_objects.records == []


def test_kopfs_processed_line_has_the_shape_the_filter_matches() -> None:
    # Written deep inside the reactor's cause processing; its template is the contract.
    source = inspect.getsource(processing)
    assert 'f"{title.capitalize()} is processed: "' in source
    assert 'f"{counters.success} succeeded; "' in source
    assert 'f"{counters.failure} failed.")' in source


@pytest.mark.parametrize(("ours", "kopfs"), [
    (MemoryDiffBaseStorage, kopf.DiffBaseStorage),
    (MemoryProgressStorage, kopf.ProgressStorage),
])
def test_our_storage_overrides_take_kopfs_keywords(ours: type, kopfs: type) -> None:
    overridden = [name for name in ("build", "fetch", "store", "purge", "touch", "clear")
                  if name in vars(ours)]
    assert overridden
    for name in overridden:
        mine = inspect.signature(getattr(ours, name)).parameters
        theirs = inspect.signature(getattr(kopfs, name)).parameters
        assert list(mine) == list(theirs), f"{ours.__name__}.{name}"


def test_kopf_detects_another_operators_marked_prefix() -> None:
    detect = MemoryDiffBaseStorage()._detect_marked_prefixes
    assert set(detect(["other.example/kopf-managed", "kopf.zalando.org/last",
                       "team/owner"])) == {"other.example", "kopf.zalando.org"}


def _body(annotations: dict[str, str]) -> kopf.Body:
    return kopf.Body({"apiVersion": f"{GROUP}/v1alpha1", "kind": "BatchPool",
                      "metadata": {"name": "p", "namespace": "default", "uid": "u1",
                                   "annotations": annotations},
                      "spec": {"vmSize": "a"}})


def test_kopfs_touch_writes_only_under_our_prefix_and_is_no_change_to_us() -> None:
    # The retry's touch is the one write Kopf still makes; it must reach the API server
    # (to come back as an event) and must not look like the user's edit.
    patch = kopf.Patch()
    MemoryProgressStorage(prefix=GROUP).touch(body=_body({}), patch=patch, value="now")
    written = dict(patch["metadata"]["annotations"])
    assert written and all(key.startswith(f"{GROUP}/") for key in written)
    diffbase = MemoryDiffBaseStorage()
    assert diffbase.build(body=_body(written)) == diffbase.build(body=_body({}))


async def test_aiohttp_site_exposes_its_bound_socket() -> None:
    runner = web.AppRunner(web.Application())
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        port = sockets[0].getsockname()[1]
        assert port > 0
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
    finally:
        await runner.cleanup()


def test_kopfs_spawn_is_still_the_one_replaced() -> None:
    """The replacement is Kopf's Scheduler.spawn minus its trailing yield: if Kopf's
    changes (an upgrade), this fails and kopf_reactor.py is to be revisited."""
    # Kopf's own, as the operator found it: the suites' operator replaces it process-wide.
    fn = ast.parse(textwrap.dedent(inspect.getsource(kopf_reactor.KOPF_OWN_SPAWN))).body[0]
    assert isinstance(fn, ast.AsyncFunctionDef)
    fn.body = fn.body[1:]  # the docstring
    assert ast.unparse(fn) == KOPF_SPAWN


KOPF_SPAWN = """\
async def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None=None) -> None:
    if self._closed:
        await cancel_coro(coro=coro, name=name)
        raise RuntimeError('Cannot add new coroutines to a closed and inactive scheduler.')
    async with self._condition:
        await self._pending_coros.put(SchedulerJob(coro=coro, name=name))
        self._condition.notify_all()
    await asyncio.sleep(0)"""


def test_kopfs_processing_is_still_the_one_wrapped() -> None:
    """handlers/kopf_reactor.py wraps processing.process_resource_event: Kopf must still
    look it up from the module when the operator starts, and its workers must still call
    it with the event and the indexing toggle as keywords. If an upgrade changes that,
    this fails and the take-up bound is to be revisited."""
    from kopf._core.reactor import queueing, running

    assert "functools.partial(processing.process_resource_event," in \
        inspect.getsource(running.spawn_tasks)
    worker = inspect.getsource(queueing.worker)
    assert "raw_event=raw_event," in worker and "operator_indexed=operator_indexed," in worker
    params = inspect.signature(kopf_reactor.KOPF_PROCESS).parameters
    assert params["raw_event"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert params["operator_indexed"].default is None
    # Once indexing is over, the watcher hands new workers no indexing toggle: the
    # events the bound applies to (a toggle still off means "not indexed yet": unbounded).
    assert "operator_indexed = None" in inspect.getsource(queueing.watcher)
    # Listed objects come as type None, watch creations as ADDED (what is bounded).
    assert "raw_input['type'] = None" in inspect.getsource(kopf._cogs.clients.watching)
