"""Start realkube as a subprocess for a test session, and say why it cannot start."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simlaunch import stop

from .cluster import BINARIES, READY_TIMEOUT, default_bin_dir, missing_binaries

__all__ = ["BINARIES", "RealKube", "default_bin_dir", "missing_binaries", "run_realkube",
           "unavailable_reason"]

READY_MARKER = "REALKUBE READY"


def unavailable_reason(bin_dir: Path | None = None) -> str | None:
    """One line saying why realkube cannot start here, or None when it can."""
    bin_dir = bin_dir or default_bin_dir()
    missing = missing_binaries(bin_dir)
    if missing:
        return (f"realkube is not built ({', '.join(missing)} missing in {bin_dir}): "
                "run `make realkube` (needs Go)")
    return None


@dataclass
class RealKube:
    url: str
    kubeconfig: Path
    process: subprocess.Popen[str]


@contextlib.contextmanager
def run_realkube(workdir: Path) -> Iterator[RealKube]:
    """``python -m realkube`` in a subprocess until its READY line; stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = workdir / "kubeconfig"
    log = (workdir / "realkube.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "realkube", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    log.close()
    found: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(READY_MARKER) and not found:
                found.append(line.split()[-1])
                done.set()
        done.set()  # EOF: it exited before becoming ready

    threading.Thread(target=reader, daemon=True).start()
    try:
        if not done.wait(READY_TIMEOUT + 30) or not found:
            raise RuntimeError(f"realkube did not start (exit code {proc.poll()}); "
                               f"see {workdir / 'realkube.log'}")
        yield RealKube(found[0], kubeconfig, proc)
    finally:
        stop(proc, timeout=60)
