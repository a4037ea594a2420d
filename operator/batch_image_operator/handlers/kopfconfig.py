"""How Kopf itself is set up: the finalizer, in-memory bookkeeping, what it logs."""

from __future__ import annotations

import logging

import kopf

from .. import GROUP
from ..runner.run import WAITING
from ..runner.runtime import Runtime

FINALIZER = f"{GROUP}/finalizer"
WAKE_POOLS = "wake_pools"


class _DemoteRoutine(logging.Filter):
    """Kopf logs every deliberate retry as an error (and posts it as an Error event) and
    every run of an event handler at info. Our waits (blocked deletion, Azure still
    deleting) are normal and already shown by a condition and one event, and a line per
    image event drowns everything else: both go to debug. So does Kopf's "succeeded" for
    our reconcile handlers: it says so even when Azure refused the request, and
    runner/logs.py writes what the pass really found.

    The texts matched are Kopf's (tests/contract checks them against the installed Kopf).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        waiting = record.levelno >= logging.ERROR and f"failed temporarily: {WAITING}" in msg
        routine = record.levelno == logging.INFO and (
            msg in _SUCCEEDED or msg.endswith(" is processed: 1 succeeded; 0 failed."))
        if waiting or routine:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            # The level was checked before this filter ran: drop it unless debugging.
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_SUCCEEDED = frozenset(f"Handler '{h}' succeeded." for h in (
    WAKE_POOLS, "reconcile_managedimage", "reconcile_batchpool", "delete_managedimage",
    "delete_batchpool"))


def configure_kopf(settings: kopf.OperatorSettings, runtime: Runtime) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = runtime.progress
    settings.persistence.diffbase_storage = runtime.diffbase
    # Our own events say what happened; Kopf's "handler succeeded" notes are noise.
    settings.posting.level = logging.WARNING
    logging.getLogger("kopf.objects").addFilter(_DemoteRoutine())
    # azure-core logs every request and its headers at INFO: noise, and a leak risk.
    logging.getLogger("azure").setLevel(logging.WARNING)
