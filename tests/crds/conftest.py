"""One kubesim per module with the project's CRDs applied by the real kubectl."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.crds import CRDS, Kubectl
from simlaunch import run_kubesim


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    workdir = tmp_path_factory.mktemp("kubesim")
    with run_kubesim(workdir) as sim:
        run = Kubectl(sim.kubeconfig, workdir / "kubectl-cache")
        run("apply", "-f", str(CRDS))
        run("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
        yield run
