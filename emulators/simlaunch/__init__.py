"""Start the project's emulators as real subprocesses, for tests and the demo.

Each emulator prints one ``<NAME> READY <url>`` line on stdout once its files are
written, so tests wait for that event instead of sleeping or polling.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY_TIMEOUT = 60.0


@dataclass
class Emulator:
    name: str
    url: str
    process: subprocess.Popen[str]
    files: dict[str, Path] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.files["kubeconfig"]

    @property
    def ca_bundle(self) -> str:
        return self.env["AZURE_CA_BUNDLE"]

    @property
    def admin_url(self) -> str:
        return self.env["AZURESIM_ADMIN_URL"]


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def _wait_ready(proc: subprocess.Popen[str], marker: str) -> str:
    """Block until the process prints its READY line; return the URL it names."""
    assert proc.stdout is not None
    result: dict[str, str] = {}
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(marker) and "url" not in result:
                result["url"] = line.split()[-1]
                done.set()
        done.set()  # EOF: the process died before becoming ready

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(READY_TIMEOUT) or "url" not in result:
        proc.kill()
        raise RuntimeError(f"{marker} never printed (exit code {proc.poll()})")
    return result["url"]


def stop(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick), for a child to bind."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class OperatorPorts:
    """Loopback ports for the operator's metrics and health endpoints."""

    metrics: int
    health: int

    @classmethod
    def free(cls) -> OperatorPorts:
        return cls(free_port(), free_port())

    @property
    def env(self) -> dict[str, str]:
        return {"BIO_METRICS_HOST": "127.0.0.1", "BIO_METRICS_PORT": str(self.metrics),
                "BIO_HEALTH_HOST": "127.0.0.1", "BIO_HEALTH_PORT": str(self.health)}

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics}/metrics"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health}/healthz"


def wait_operator_ready(proc: subprocess.Popen[Any], ports: OperatorPorts,
                        timeout: float = READY_TIMEOUT) -> None:
    """Until the operator answers /healthz (Kopf serves it only once the startup handlers,
    which bind the metrics port, have succeeded); raises if it exits or never answers.

    The operator prints no READY line of its own, so this polls its health endpoint."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise RuntimeError(f"the operator exited with code {code} before it was ready")
        try:
            with urllib.request.urlopen(ports.health_url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the operator did not answer {ports.health_url} "
                               f"within {timeout:.0f}s")
        time.sleep(0.2)


def spawn_operator(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m batch_image_operator`` with ``env``, its output in ``log`` (a process,
    not an import: callers see the operator only as the wheel's entry point)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "batch_image_operator"],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _spawn(module: str, args: Sequence[str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@contextlib.contextmanager
def run_kubesim(workdir: Path, *extra: str) -> Iterator[Emulator]:
    workdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = workdir / "kubeconfig"
    proc = _spawn(
        "kubesim",
        ["--port", "0", "--kubeconfig", str(kubeconfig), *extra],
        workdir / "kubesim.log",
    )
    try:
        url = _wait_ready(proc, "KUBESIM READY")
        yield Emulator("kubesim", url, proc, files={"kubeconfig": kubeconfig})
    finally:
        stop(proc)


@contextlib.contextmanager
def run_azuresim(workdir: Path, *extra: str) -> Iterator[Emulator]:
    workdir.mkdir(parents=True, exist_ok=True)
    env_file = workdir / "azuresim.env"
    proc = _spawn(
        "azuresim",
        ["--port", "0", "--env-file", str(env_file), *extra],
        workdir / "azuresim.log",
    )
    try:
        url = _wait_ready(proc, "AZURESIM READY")
        yield Emulator("azuresim", url, proc, files={"env": env_file}, env=read_env_file(env_file))
    finally:
        stop(proc)
