"""Helpers for the realkube tier: why it is skipped, and the real kubectl against a
realkube cluster. A uniquely named module (test folders here have no ``__init__.py``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from realkube.launch import unavailable_reason

REPO = Path(__file__).resolve().parents[2]
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def skip_reason() -> str | None:
    """One line saying why the tier cannot run on this machine, or None."""
    reason = unavailable_reason()
    if reason and shutil.which("go") is None:
        return "realkube tier skipped: Go is not installed, so `make realkube` cannot build it"
    return f"realkube tier skipped: {reason}" if reason else None


def kubectl(kubeconfig: Path, *args: str, input: str | None = None, check: bool = True,
            cache_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    cache = ["--cache-dir", str(cache_dir)] if cache_dir else []
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *cache, *args],
        input=input, capture_output=True, text=True, timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stderr}")
    return proc
