"""Fixtures: one kubesim per session (or a real cluster when
KUBESIM_CONFORMANCE_KUBECONFIG is set: a kubeconfig path, or ``realkube`` to start the
real kube-apiserver built by ``make realkube``), the fixture CRD and a namespace per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from kubesim_support import CONFORMANCE_ENV, FIXTURES, Cluster
from simlaunch import run_kubesim


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    real = os.environ.get(CONFORMANCE_ENV)
    if real == "realkube":
        yield from _realkube_cluster(tmp_path_factory)
        return
    if real:
        cfg = client.Configuration()
        config.load_kube_config(config_file=real, client_configuration=cfg)
        yield Cluster(Path(real), False, cfg, str(tmp_path_factory.mktemp("kubectl-cache")))
        return
    workdir = tmp_path_factory.mktemp("kubesim")
    with run_kubesim(workdir, "--bookmark-interval", "0.3") as sim:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(sim.kubeconfig), client_configuration=cfg)
        yield Cluster(sim.kubeconfig, True, cfg, str(workdir / "kubectl-cache"))


def _realkube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from realkube.launch import run_realkube, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with run_realkube(tmp_path_factory.mktemp("realkube")) as real:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(real.kubeconfig), client_configuration=cfg)
        yield Cluster(real.kubeconfig, False, cfg, str(tmp_path_factory.mktemp("kubectl-cache")))


@pytest.fixture
def kubesim_only(cluster: Cluster) -> Cluster:
    if not cluster.is_kubesim:
        pytest.skip("kubesim admin endpoint; not available on a real cluster")
    return cluster


@pytest.fixture(scope="session")
def crd(cluster: Cluster) -> str:
    cluster.kubectl("apply", "-f", str(FIXTURES / "crd.yaml"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/widgets.kubesim.test", "--timeout=30s"
    )
    return "widgets.kubesim.test"


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"ks-{uuid.uuid4().hex[:8]}"
    resp = cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert resp.status == 201, resp.text
    yield name
    cluster.request("DELETE", f"/api/v1/namespaces/{name}")
