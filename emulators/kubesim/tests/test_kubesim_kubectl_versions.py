"""The core kubectl flows again with another kubectl minor version (1.36 from the same
wheel family, installed by the Makefile beside the venv), so kubesim is not fitted to
one client's quirks."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import test_kubesim_kubectl as flows

from kubesim_support import Cluster

OTHER = Path(__file__).resolve().parents[3] / ".venv" / "kubectl-1.36" / "bin" / "kubectl"


@pytest.fixture
def other(cluster: Cluster) -> Cluster:
    if not OTHER.exists():
        pytest.fail(f"{OTHER} missing: `make install` puts kubectl 1.36 there")
    version = subprocess.run([str(OTHER), "version", "--client"], capture_output=True,
                             text=True, timeout=30).stdout
    assert "v1.36." in version
    return dataclasses.replace(cluster, kubectl_binary=str(OTHER),
                               cache_dir=tempfile.mkdtemp(prefix="kubectl136-"))


@pytest.mark.parametrize("flow", [
    flows.test_apply_get_describe_printer_columns,
    flows.test_apply_validates_on_the_server,
    flows.test_replace_and_patch,
    flows.test_wait_for_condition_and_delete,
    flows.test_delete_all_and_label_selectors,
    flows.test_explain_uses_crd_schema,
], ids=lambda f: f.__name__.removeprefix("test_"))
def test_flow_with_kubectl_1_36(flow: Callable[..., None], other: Cluster, crd: str,
                                namespace: str) -> None:
    params = inspect.signature(flow).parameters
    kwargs = {"cluster": other, "crd": crd, "namespace": namespace}
    flow(**{k: v for k, v in kwargs.items() if k in params})
