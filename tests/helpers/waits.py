"""The waits of every suite: event-driven where the server has a watch (``watch_until``),
else re-reading until a predicate holds (``eventually``). No bare sleeps in tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

Obj = dict[str, Any]


def watch_until(list_func: Callable[..., Any], *args: Any, name: str,
                ok: Callable[[Obj], bool] | None, timeout: float = 60) -> Obj | None:
    """Watch one object by name until ``ok(obj)`` (or, with ok=None, until it is deleted).

    No sleeps: the server's watch events drive the wait. Like any watch client it
    re-watches when the server ends a stream early.
    """
    deadline = time.monotonic() + timeout
    last: Obj | None = None
    while (left := deadline - time.monotonic()) > 0:
        since: dict[str, str] = {}
        if ok is None:
            # Watch from the list's version: a deletion between the list and the watch
            # is then replayed, not missed (a watch from "now" would wait out its timeout).
            listed, version = _listed(list_func, *args, name=name)
            if not listed:
                return None
            since = {"resource_version": version}
        w = k8s_watch.Watch()
        timer = threading.Timer(left, w.stop)
        timer.start()
        try:
            for event in w.stream(list_func, *args, field_selector=f"metadata.name={name}",
                                  timeout_seconds=max(1, int(left)), **since):
                obj = event["object"]
                last = obj if isinstance(obj, dict) else obj.to_dict()
                if ok is None and event["type"] == "DELETED":
                    return None
                if ok is not None and event["type"] != "DELETED" and ok(last):
                    return last
        except urllib3.exceptions.ProtocolError:
            continue
        except k8s.ApiException as exc:
            if exc.status != 410:  # 410 Expired: the version is too old, list again
                raise
            continue
        finally:
            timer.cancel()
            w.stop()
    raise TimeoutError(f"{name} never reached the expected state; last seen: {last}")


def _listed(list_func: Callable[..., Any], *args: Any, name: str) -> tuple[bool, str]:
    """Whether the object exists, and the list's resourceVersion to watch from."""
    result = list_func(*args, field_selector=f"metadata.name={name}")
    if isinstance(result, dict):
        return bool(result["items"]), str(result["metadata"]["resourceVersion"])
    return bool(result.items), str(result.metadata.resource_version)


def eventually(read: Callable[[], Any], ok: Callable[[Any], bool] = bool, timeout: float = 30,
               what: str | None = None) -> Any:
    """Re-read a value that has no watch (an emulator's request log, an SDK read) until
    ``ok(value)`` (by default: until it is truthy); the value. ``what`` names it in the
    timeout's message."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            said = f"timed out waiting for {what}" if what else "never satisfied"
            raise TimeoutError(f"{said}; last value: {value}")
        time.sleep(0.05)
