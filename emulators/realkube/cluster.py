"""Start and stop one realkube cluster: embedded etcd, the real kube-apiserver and
kube-controller-manager (built by ``make realkube`` into ``.realkube/bin``), each on a
free loopback port, with TLS, RBAC and service-account token issuing."""

from __future__ import annotations

import base64
import ctypes
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from simlaunch import free_port, stop

from . import pki

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# What a kubeadm cluster's controller-manager runs, minus everything that needs nodes:
# namespace deletion, the garbage collector, service accounts and their tokens, and the
# kube-root-ca.crt config map that projected service-account volumes mount.
CONTROLLERS = (
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
)
READY_TIMEOUT = 300.0  # a first start on two loaded cores takes a while


def default_bin_dir() -> Path:
    """``REALKUBE_BIN_DIR``, else ``.realkube/bin`` at the root of this checkout."""
    configured = os.environ.get("REALKUBE_BIN_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".realkube" / "bin"


def missing_binaries(bin_dir: Path) -> list[str]:
    return [name for name in BINARIES if not os.access(bin_dir / name, os.X_OK)]


class StartError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the launcher dies, even by SIGKILL, so a
    killed test run leaves no apiserver behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Cluster:
    workdir: Path
    bin_dir: Path
    keys: pki.ClusterPKI | None = None
    url: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Everything started and ``/readyz`` ok; raises StartError otherwise."""
        self.keys = keys = pki.create(self.workdir / "pki")
        etcd_port, etcd_peer, api_port = free_port(), free_port(), free_port()
        self.url = f"https://127.0.0.1:{api_port}"
        self._spawn("etcd", [
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-url=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-url=http://127.0.0.1:{etcd_peer}",
        ])
        self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # A loopback address may not back the `kubernetes` Service's endpoints; nothing
            # runs in-cluster here, so that Service simply has none.
            "--endpoint-reconciler-type=none",
            f"--secure-port={api_port}",
            f"--cert-dir={self.workdir / 'apiserver'}",
            f"--tls-cert-file={keys.serving.cert}",
            f"--tls-private-key-file={keys.serving.key}",
            f"--client-ca-file={keys.ca.cert}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={keys.service_account_pub}",
            f"--service-account-signing-key-file={keys.service_account_key}",
            f"--service-cluster-ip-range={pki.SERVICE_CLUSTER_IP_RANGE}",
            "--authorization-mode=Node,RBAC",
            # The default admission chain plus what kubeadm adds.
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            "--profiling=false",
        ])
        self._write_kubeconfig(self.workdir / "controller-manager.kubeconfig",
                               keys.controller_manager, "system:kube-controller-manager")
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.workdir / 'controller-manager.kubeconfig'}",
            f"--controllers={','.join(CONTROLLERS)}",
            f"--service-account-private-key-file={keys.service_account_key}",
            f"--root-ca-file={keys.ca.cert}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--secure-port=0",
        ])
        self._wait_ready(should_stop)

    def _wait_ready(self, should_stop: Callable[[], bool]) -> None:
        assert self.keys is not None
        context = ssl.create_default_context(cafile=str(self.keys.ca.cert))
        context.load_cert_chain(str(self.keys.admin.cert), str(self.keys.admin.key))
        deadline = time.monotonic() + READY_TIMEOUT
        # The apiserver has no readiness event to wait on, so this polls /readyz.
        while not should_stop():
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise StartError(f"{name} exited with code {proc.returncode}:\n"
                                     f"{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=context,
                                            timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise StartError(f"kube-apiserver not ready after {READY_TIMEOUT:.0f}s:\n"
                                 f"{self.log_tail('kube-apiserver')}")
            time.sleep(0.5)
        raise StartError("interrupted before the cluster was ready")

    def kubeconfig(self, credentials: pki.Pair, user: str) -> dict[str, object]:
        assert self.keys is not None

        def data(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "realkube", "cluster": {
                "server": self.url, "certificate-authority-data": data(self.keys.ca.cert)}}],
            "users": [{"name": user, "user": {
                "client-certificate-data": data(credentials.cert),
                "client-key-data": data(credentials.key)}}],
            "contexts": [{"name": "realkube", "context": {
                "cluster": "realkube", "user": user, "namespace": "default"}}],
            "current-context": "realkube",
            "preferences": {},
        }

    def _write_kubeconfig(self, path: Path, credentials: pki.Pair, user: str) -> None:
        """Atomically: a reader never sees a half-written file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kubeconfig.")
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(self.kubeconfig(credentials, user), handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def write_admin_kubeconfig(self, path: Path) -> None:
        assert self.keys is not None
        self._write_kubeconfig(path, self.keys.admin, "realkube-admin")

    def stop(self) -> None:
        """Controller-manager, then apiserver, then etcd; then the data is removed."""
        for name in reversed(BINARIES):
            proc = self.processes.get(name)
            if proc is not None:
                stop(proc, timeout=20)
        shutil.rmtree(self.workdir, ignore_errors=True)
