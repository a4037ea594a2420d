"""Helpers for the realkube tier: why it is skipped, and the real kubectl against a
realkube cluster. A uniquely named module (test folders here have no ``__init__.py``)."""

from __future__ import annotations

import base64
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import kopf
import yaml

from realkube.launch import RealKube, default_bin_dir, unavailable_reason

REPO = Path(__file__).resolve().parents[2]
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def skip_reason() -> str | None:
    """One line saying why the tier cannot run on this machine, or None."""
    reason = unavailable_reason()
    if not reason and not (default_bin_dir() / "argocd-health").exists():
        reason = f"argocd-health missing in {default_bin_dir()}: run `make realkube`"
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


def load_test_module(relative: str) -> ModuleType:
    """A test module of another test folder, loaded by path under its own name (test
    folders are not packages)."""
    path = REPO / "tests" / relative
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def kopf_connection(realkube: RealKube, token: str | None = None) -> kopf.ConnectionInfo:
    """How the in-process operator reaches realkube: as the admin of the kubeconfig, or,
    given a ServiceAccount token, as that ServiceAccount only."""
    kubeconfig = yaml.safe_load(realkube.kubeconfig.read_text())
    cluster, user = kubeconfig["clusters"][0]["cluster"], kubeconfig["users"][0]["user"]
    ca = base64.b64decode(cluster["certificate-authority-data"])
    if token is not None:
        return kopf.ConnectionInfo(server=realkube.url, ca_data=ca, scheme="Bearer",
                                   token=token)
    return kopf.ConnectionInfo(
        server=realkube.url, ca_data=ca,
        certificate_data=base64.b64decode(user["client-certificate-data"]),
        private_key_data=base64.b64decode(user["client-key-data"]))
