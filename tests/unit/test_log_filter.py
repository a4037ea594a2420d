"""Routine Kopf messages (an event handler's runs, our deliberate waits) stay out of a
normal log."""

from __future__ import annotations

import logging

import pytest

from batch_image_operator.handlers.kopfconfig import _DemoteRoutine


def record(level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, msg, None, None)


@pytest.mark.parametrize("level,msg", [
    (logging.INFO, "Handler 'wake_pools' succeeded."),
    (logging.ERROR, "Handler 'delete_managedimage' failed temporarily: waiting: in use"),
    # Kopf says "succeeded" even when Azure refused: our own lines say what happened.
    (logging.INFO, "Handler 'reconcile_batchpool' succeeded."),
    (logging.INFO, "Handler 'reconcile_managedimage' succeeded."),
    (logging.INFO, "Updating is processed: 1 succeeded; 0 failed."),
])
def test_routine_messages_are_dropped_unless_debugging(level: int, msg: str) -> None:
    logger = logging.getLogger("kopf.objects")
    before = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert _DemoteRoutine().filter(record(level, msg)) is False
        logger.setLevel(logging.DEBUG)
        kept = record(level, msg)
        assert _DemoteRoutine().filter(kept) is True and kept.levelname == "DEBUG"
    finally:
        logger.setLevel(before)


def test_other_messages_pass_unchanged() -> None:
    rec = record(logging.ERROR, "Handler 'reconcile_batchpool' failed with an exception.")
    assert _DemoteRoutine().filter(rec) is True and rec.levelno == logging.ERROR
