"""The realkube tier: one real control plane (etcd, kube-apiserver, kube-controller-manager
built by ``make realkube``) per session. Skipped with one line when Go or the build is
missing. Run it in its own session (``pytest -m realkube tests/realkube``; ``make test``
does): each xdist worker would otherwise start a control plane of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from helpers.realkube import REPO, kubectl, skip_reason
from helpers.realkube_chart import chart_installed
from realkube.launch import RealKube, run_realkube


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realkube: runs against the real kube-apiserver (needs `make realkube`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Go or the build, one test of the tier stands for all of it and is skipped
    with the reason; the rest are deselected, so the report has one line saying why."""
    reason = skip_reason()
    tier = [item for item in items if item.get_closest_marker("realkube")]
    if reason is None or not tier:
        return
    tier[0].add_marker(pytest.mark.skip(reason=reason))
    rest = set(tier[1:])
    config.hook.pytest_deselected(items=list(rest))
    items[:] = [item for item in items if item not in rest]


@pytest.fixture(scope="session")
def realkube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealKube]:
    with run_realkube(tmp_path_factory.mktemp("realkube")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def kubectl_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-cache")


@pytest.fixture(scope="session")
def crds(realkube: RealKube, kubectl_cache: Path) -> list[str]:
    """crds/ installed and Established on the real server."""
    kubectl(realkube.kubeconfig, "apply", "-f", str(REPO / "crds"), cache_dir=kubectl_cache)
    names = ["batchpools.batchimage.dev", "managedimages.batchimage.dev"]
    kubectl(realkube.kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
            *(f"crd/{name}" for name in names), cache_dir=kubectl_cache)
    return names


@pytest.fixture
def namespace(realkube: RealKube, kubectl_cache: Path) -> Iterator[str]:
    name = f"rk-{uuid.uuid4().hex[:8]}"
    kubectl(realkube.kubeconfig, "create", "namespace", name, cache_dir=kubectl_cache)
    yield name
    kubectl(realkube.kubeconfig, "delete", "namespace", name, "--wait=false",
            cache_dir=kubectl_cache)


@pytest.fixture(scope="session")
def api(realkube: RealKube, crds: list[str]) -> Iterator[client.ApiClient]:
    """The admin's client, once the chart is installed (namespaced mode; once for the
    session: the RBAC tests and the scenarios run as its ServiceAccount share it)."""
    with chart_installed(realkube) as api_client:
        yield api_client
