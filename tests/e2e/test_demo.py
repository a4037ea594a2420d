"""End to end with the real kubectl: `make demo`'s script, as a newcomer runs it."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_demo_walks_the_whole_lifecycle(tmp_path: Path) -> None:
    # The operator's default ports are taken (they were, where `make demo` once hung for
    # 180 s): the demo must not need them.
    with contextlib.ExitStack() as held:
        for port in (8080, 8081):
            sock = held.enter_context(socket.socket())
            with contextlib.suppress(OSError):  # already held by someone else: as good
                sock.bind(("127.0.0.1", port))
                sock.listen()
        proc = subprocess.run([sys.executable, str(ROOT / "demo" / "run.py"),
                               "--workdir", str(tmp_path)],
                              capture_output=True, text=True, timeout=280)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"^metrics  http://127\.0\.0\.1:\d+/metrics$", out, re.M), out
    assert re.search(r"^health   http://127\.0\.0\.1:\d+/healthz$", out, re.M), out
    assert "managedimage.batchimage.dev/ubuntu-hpc condition met" in out
    assert "batchpool.batchimage.dev/render-pool condition met" in out
    assert "Warning DeletionBlocked: in use by BatchPool(s): render-pool" in out
    assert "Azure image is gone (404)" in out and "Azure pool is gone (404)" in out
    # The demo stopped what it started: both emulator ports refuse connections now.
    for line in out.splitlines():
        if line.startswith(("kubesim ", "azuresim ")):
            host, port = line.split("//")[1].rstrip("/").split(":")
            with pytest.raises(OSError), socket.create_connection((host, int(port)), 2):
                pass


def test_operator_refuses_to_start_without_configuration() -> None:
    proc = subprocess.run([sys.executable, "-m", "batch_image_operator"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "AZURE_CLIENT_SECRET": "s3cr3t-value"})
    assert proc.returncode == 2
    assert "AZURE_SUBSCRIPTION_ID" in proc.stderr
    assert "s3cr3t-value" not in proc.stderr + proc.stdout


def test_operator_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "batch_image_operator", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "AZURE_SUBSCRIPTION_ID" in proc.stdout
