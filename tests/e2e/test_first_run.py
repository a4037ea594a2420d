"""A newcomer's first run: a taken port ends the operator at once with one clear line,
the demo's launcher uses free ports and waits until the operator is ready, and no doc
prints a `kubectl get a,b -w` that real kubectl refuses."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from helpers.system import SUB, CRs
from simlaunch import Emulator

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def listening(port: int = 0) -> Iterator[socket.socket | None]:
    """A socket listening on 127.0.0.1:port (None if someone else already holds it)."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        yield None
        return
    with sock:
        sock.listen()
        yield sock


@pytest.mark.parametrize(("what", "taken", "other"), [
    ("metrics", "BIO_METRICS_PORT", "BIO_HEALTH_PORT"),
    ("health", "BIO_HEALTH_PORT", "BIO_METRICS_PORT"),
])
def test_operator_exits_at_once_with_one_line_when_its_port_is_taken(
        kubesim: Emulator, what: str, taken: str, other: str) -> None:
    with listening() as sock:
        assert sock is not None
        port = sock.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "AZURE_SUBSCRIPTION_ID": SUB,
               "BIO_ALLOWLIST_FILE": "unrestricted",
               "KUBECONFIG": str(kubesim.kubeconfig), taken: str(port), other: "off"}
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "batch_image_operator"], env=env,
                              capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 1, lines
    assert len(lines) == 1, lines
    assert f"cannot listen for {what} on 127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0]
    # Before Kopf and the Azure SDKs are imported: well under a second when idle.
    assert elapsed < 10


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_run", ROOT / "demo" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_run"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_demo_launcher_uses_free_ports_and_yields_a_ready_operator(
        kubesim: Emulator, azuresim: Emulator, crs: CRs, tmp_path: Path) -> None:
    # The ports the operator would take by default are busy (as on the machine where
    # `make demo` hung for 180 s), whether we or someone else hold them.
    with listening(8080), listening(8081), \
            _demo().run_operator(tmp_path, kubesim, azuresim) as op:
        assert not {op.ports.metrics, op.ports.health} & {8080, 8081}
        # Ready when yielded: both answer at once, no retry needed.
        with urllib.request.urlopen(op.ports.health_url, timeout=5) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(op.ports.metrics_url, timeout=5) as reply:
            assert b"batchimage_build_info" in reply.read()


def test_demo_launcher_reports_an_operator_that_dies_before_ready(
        kubesim: Emulator, azuresim: Emulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    demo = _demo()
    monkeypatch.setenv("BIO_LOG_FORMAT", "xml")  # a configuration error: exits at once
    started = time.monotonic()
    with pytest.raises(demo.DemoFailed, match="exited with code 2"), \
            demo.run_operator(tmp_path, kubesim, azuresim):
        pass
    assert time.monotonic() - started < 30


# `kubectl get a,b -w` (or --watch): kubectl answers "you may only specify a single
# resource type" and exits. Comments (after #) may explain it.
MULTI_WATCH = re.compile(r"\bget\s+(?:-\S+\s+\S+\s+)*[\w.-]+,[\w.,-]+[^#\n]*\s(?:-w|--watch)\b")
TEXT = {".md", ".py", ".txt", ".yaml", ".yml", ".sh", ".tpl", ""}


def test_no_doc_or_banner_prints_a_multi_type_watch() -> None:
    assert MULTI_WATCH.search("kubectl -n ns get mi,bp -w")
    assert MULTI_WATCH.search("  {KUBECTL} get managedimages,batchpools --watch")
    assert not MULTI_WATCH.search("kubectl get mi,bp   # -w takes one resource type")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    offenders = []
    for name in files:
        path = ROOT / name
        if path.suffix not in TEXT or not path.is_file() or name == "tests/e2e/test_first_run.py":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if MULTI_WATCH.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []
