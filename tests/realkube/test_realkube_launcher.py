"""`python -m realkube` itself: a v1.37 server, RBAC answering `kubectl auth can-i`,
TokenRequest tokens, and nothing left behind after SIGTERM."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers.realkube import KUBECTL, kubectl
from realkube.launch import RealKube

pytestmark = pytest.mark.realkube


def test_version_rbac_and_tokens(realkube: RealKube, namespace: str, kubectl_cache: Path,
                                 tmp_path: Path) -> None:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kubectl(realkube.kubeconfig, *args, check=check, cache_dir=kubectl_cache)

    version = json.loads(run("version", "-o", "json").stdout)["serverVersion"]
    assert (version["major"], version["minor"]) == ("1", "37"), version
    assert version["gitVersion"].startswith("v1.37."), version
    bot = f"system:serviceaccount:{namespace}:bot"
    run("create", "serviceaccount", "bot", "-n", namespace)
    assert run("auth", "can-i", "get", "configmaps", "-n", namespace, "--as", bot,
               check=False).stdout.strip() == "no"
    run("create", "role", "reader", "--verb=get", "--resource=configmaps", "-n", namespace)
    run("create", "rolebinding", "reader", "--role=reader", f"--serviceaccount={namespace}:bot",
        "-n", namespace)
    assert run("auth", "can-i", "get", "configmaps", "-n", namespace,
               "--as", bot).stdout.strip() == "yes"
    assert run("auth", "can-i", "get", "secrets", "-n", namespace, "--as", bot,
               check=False).stdout.strip() == "no"
    token = run("create", "token", "bot", "-n", namespace).stdout.strip()
    # The token alone (no client certificate, which would authenticate first).
    cluster = yaml.safe_load(realkube.kubeconfig.read_text())["clusters"][0]["cluster"]
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    empty = tmp_path / "empty-kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    whoami = subprocess.run(
        [KUBECTL, "--kubeconfig", str(empty), "--server", realkube.url,
         "--certificate-authority", str(ca), "--token", token, "auth", "whoami",
         "-o", "jsonpath={.status.userInfo.username}"],
        capture_output=True, text=True, timeout=60)
    assert (whoami.returncode, whoami.stdout) == (0, bot), whoami.stderr


def test_sigterm_stops_everything_and_removes_the_data(tmp_path: Path,
                                                       realkube: RealKube) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "realkube", "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("REALKUBE READY https://127.0.0.1:")
    assert kubeconfig.exists()
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()
    assert len(children) == 3, children
    workdirs = {Path(line.split("--data-dir=", 1)[1].split()[0]).parent
                for pid in children
                if "--data-dir=" in (line := Path(f"/proc/{pid}/cmdline").read_text()
                                     .replace("\0", " "))}
    assert len(workdirs) == 1 and next(iter(workdirs)).exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not kubeconfig.exists()
    assert not next(iter(workdirs)).exists()
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)
