"""Helpers for the crash and fault suites: the operator as a real subprocess, azuresim's
request log with the emulator's own timestamps, and Azure inventories via the SDK."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from helpers.system import azure_sdk, load_example
from simlaunch import Emulator, spawn_operator, stop

WRITES = {"PUT", "PATCH", "POST", "DELETE"}
IMAGE_GROUP = "rg-batch-images"
Obj = dict[str, Any]


def example() -> tuple[Obj, Obj]:
    docs = {d["kind"]: d for d in load_example("snapshots")}
    return copy.deepcopy(docs["ManagedImage"]), copy.deepcopy(docs["BatchPool"])


class OperatorProcess:
    """``python -m batch_image_operator`` as a subprocess; killable with SIGKILL by PID."""

    def __init__(self, workdir: Path, kube: Emulator, azure: Emulator, **overrides: str) -> None:
        self.workdir, self.kube, self.azure = workdir, kube, azure
        self.env = {**os.environ, **azure.env, "KUBECONFIG": str(kube.kubeconfig),
                    "BIO_POLL_INTERVAL": "0.3", "BIO_BLOCKED_RETRY": "0.3",
                    "BIO_DRIFT_INTERVAL": "30", "BIO_RESIZE_BACKOFF": "0.2",
                    "BIO_METRICS_PORT": "off", "BIO_HEALTH_PORT": "off", **overrides}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        self.proc = spawn_operator(self.env, self.workdir / f"operator-{self.starts}.log")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=20)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.workdir.glob("operator-*.log")))


@contextlib.contextmanager
def operator_process(workdir: Path, kube: Emulator, azure: Emulator,
                     **overrides: str) -> Iterator[OperatorProcess]:
    op = OperatorProcess(workdir, kube, azure, **overrides)
    op.start()
    try:
        yield op
    finally:
        op.stop()


# --- azuresim's log of requests, with its own timestamps ---------------------------------

_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) azuresim\.server INFO "
                   r"(GET|PUT|PATCH|POST|DELETE|HEAD) (\S+) -> (\d+)")


@dataclass(frozen=True)
class Logged:
    at: float
    method: str
    path: str      # without the query
    status: int


def timed_requests(azure: Emulator) -> list[Logged]:
    """Every request azuresim logged on stderr (``<asctime> azuresim.server INFO M P -> S``).

    The admin request log (`/_azuresim/requests`) carries no timestamps and keeps only the
    last 500 entries, so timing assertions read the emulator's own stderr log instead.
    """
    path = azure.files["env"].parent / "azuresim.log"
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if m:
            at = time.mktime(datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").timetuple())
            out.append(Logged(at + int(m[2]) / 1000, m[3], m[4].split("?", 1)[0], int(m[5])))
    return out


def azure_only(log: list[Obj]) -> list[Obj]:
    """ARM and Batch data-plane entries of the admin request log (no AAD)."""
    return [e for e in log if e["path"].startswith(("/subscriptions/", "/batch/"))]


# --- Azure inventory through the SDK ------------------------------------------------------

def inventory(env: Mapping[str, str]) -> dict[str, list[str]]:
    compute, batch = azure_sdk(env)
    return {
        "images": sorted(i.name for i in compute.images.list()),
        "snapshots": sorted(s.name for s in compute.snapshots.list()),
        "pools": sorted(p.name for p in batch.pool.list_by_batch_account("rg-batch",
                                                                           "batchdemo")),
        # By group: azuresim's subscription-wide gallery list answers 500 (see
        # test_emulator_gaps.py).
        "galleryVersions": sorted(
            f"{g.name}/{d.name}/{v.name}"
            for g in compute.galleries.list_by_resource_group(IMAGE_GROUP)
            for d in compute.gallery_images.list_by_gallery(IMAGE_GROUP, g.name)
            for v in compute.gallery_image_versions.list_by_gallery_image(
                IMAGE_GROUP, g.name, d.name)),
    }
