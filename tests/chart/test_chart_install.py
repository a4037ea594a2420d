"""`helm install` of the chart through Helm's Go SDK into kubesim, checked with the
kubernetes client: what an installer sees with `kubectl get` afterwards."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from kubernetes import client, config
from kubernetes.client import ApiClient

from helpers.chart import CHART, FULLNAME, NAMESPACE, RELEASE, merged
from simlaunch import Emulator, run_kubesim

# The chart as released before the bind addresses were values (a fixed commit).
PREVIOUS_CHART = "1abd57425de64df7cf553004c220df7efa4e4020"


@pytest.fixture
def kubesim(tmp_path: Path) -> Iterator[Emulator]:
    with run_kubesim(tmp_path / "kubesim") as k:
        yield k


@pytest.fixture
def api(kubesim: Emulator) -> Iterator[ApiClient]:
    with config.new_client_from_config(str(kubesim.kubeconfig)) as api_client:
        yield api_client


def install(kubesim: Emulator, values: dict[str, Any]) -> dict[str, Any]:
    with helm.Config(kubeconfig_path=str(kubesim.kubeconfig), namespace=NAMESPACE) as cfg:
        return cfg.install(CHART, RELEASE, values, create_namespace=True, timeout=60)


def test_install_creates_operator_rbac_and_crds(kubesim: Emulator, api: ApiClient) -> None:
    release = install(kubesim, merged())
    assert release["status"] == "deployed" and release["revision"] == 1
    assert f"deployment/{FULLNAME}" in release["notes"]

    crds = {c.metadata.name: c for c in
            client.ApiextensionsV1Api(api).list_custom_resource_definition().items}
    assert {"managedimages.batchimage.dev", "batchpools.batchimage.dev"} <= set(crds)
    assert crds["batchpools.batchimage.dev"].spec.names.short_names == ["bp"]

    deployment = client.AppsV1Api(api).read_namespaced_deployment(FULLNAME, NAMESPACE)
    # Two replicas, one leading through a Lease; a rollout starts the standby first.
    assert deployment.spec.replicas == 2 and deployment.spec.strategy.type == "RollingUpdate"
    pdb = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget(FULLNAME, NAMESPACE)
    assert pdb.spec.min_available == 1
    lease_role = client.RbacAuthorizationV1Api(api).read_namespaced_role(
        f"{FULLNAME}-leader-election", NAMESPACE)
    assert all(r.resources == ["leases"] for r in lease_role.rules)
    pod = deployment.spec.template.spec
    assert pod.service_account_name == FULLNAME
    assert pod.containers[0].security_context.read_only_root_filesystem is True

    client.CoreV1Api(api).read_namespaced_service_account(FULLNAME, NAMESPACE)
    client.CoreV1Api(api).read_namespaced_service(f"{FULLNAME}-metrics", NAMESPACE)
    rbac = client.RbacAuthorizationV1Api(api)
    role = rbac.read_cluster_role(FULLNAME)
    assert any("batchimage.dev" in r.api_groups and "batchpools" in r.resources
               for r in role.rules)
    binding = rbac.read_cluster_role_binding(FULLNAME)
    assert binding.subjects[0].name == FULLNAME
    assert binding.subjects[0].namespace == NAMESPACE


def test_install_namespaced_mode_creates_roles_in_each_namespace(
        kubesim: Emulator, api: ApiClient) -> None:
    core = client.CoreV1Api(api)
    for ns in ("team-a", "team-b"):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    install(kubesim, merged({"watchNamespaces": ["team-a", "team-b"]}))

    rbac = client.RbacAuthorizationV1Api(api)
    for ns in ("team-a", "team-b"):
        role = rbac.read_namespaced_role(FULLNAME, ns)
        assert any("managedimages" in r.resources for r in role.rules)
        rbac.read_namespaced_role_binding(FULLNAME, ns)
    names = {r.metadata.name for r in rbac.list_cluster_role().items}
    assert FULLNAME not in names and f"{FULLNAME}-crds" in names
    deployment = client.AppsV1Api(api).read_namespaced_deployment(FULLNAME, NAMESPACE)
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env["BIO_NAMESPACES"] == "team-a,team-b"


def test_upgrade_switches_from_cluster_wide_to_namespaced(
        kubesim: Emulator, api: ApiClient) -> None:
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    install(kubesim, merged())
    with helm.Config(kubeconfig_path=str(kubesim.kubeconfig), namespace=NAMESPACE) as cfg:
        release = cfg.upgrade(CHART, RELEASE, merged({"watchNamespaces": ["team-a"]}),
                              timeout=60)
    assert release["revision"] == 2 and release["status"] == "deployed"
    rbac = client.RbacAuthorizationV1Api(api)
    names = {r.metadata.name for r in rbac.list_cluster_role().items}
    assert FULLNAME not in names  # the cluster-wide grant is gone after the upgrade
    rbac.read_namespaced_role(FULLNAME, "team-a")


def test_uninstall_removes_the_operator_but_keeps_the_crds(
        kubesim: Emulator, api: ApiClient) -> None:
    install(kubesim, merged())
    with helm.Config(kubeconfig_path=str(kubesim.kubeconfig), namespace=NAMESPACE) as cfg:
        cfg.uninstall(RELEASE, timeout=60)
        assert cfg.list(all_states=True) == []
    assert client.AppsV1Api(api).list_namespaced_deployment(NAMESPACE).items == []
    crds = {c.metadata.name for c in
            client.ApiextensionsV1Api(api).list_custom_resource_definition().items}
    assert "managedimages.batchimage.dev" in crds  # Helm never deletes crds/


def test_upgrade_with_reuse_values_from_the_previous_chart_keeps_the_pod_reachable(
        kubesim: Emulator, api: ApiClient, tmp_path: Path) -> None:
    """`helm upgrade --reuse-values` (what NOTES.txt suggests) drops the new chart's new
    defaults: the bind addresses must still come out as 0.0.0.0, or the probes and
    Prometheus would hit a pod that listens on loopback only."""
    previous = tmp_path / "previous"
    previous.mkdir()
    archive = subprocess.run(["git", "archive", PREVIOUS_CHART, "charts/batch-image-operator"],
                             cwd=CHART.parents[1], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(previous)], input=archive, check=True)
    old_chart = previous / "charts" / "batch-image-operator"
    assert "bindAddress" not in (old_chart / "values.yaml").read_text()
    with helm.Config(kubeconfig_path=str(kubesim.kubeconfig), namespace=NAMESPACE) as cfg:
        cfg.install(old_chart, RELEASE, merged(), create_namespace=True, timeout=60)
        release = cfg.upgrade(CHART, RELEASE, None, reuse_values=True, timeout=60)
    assert release["status"] == "deployed"
    deployment = client.AppsV1Api(api).read_namespaced_deployment(FULLNAME, NAMESPACE)
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env["BIO_METRICS_HOST"] == "0.0.0.0" and env["BIO_HEALTH_HOST"] == "0.0.0.0"
    # The kept single replica stays alone: no leader election, no rolling update.
    assert deployment.spec.replicas == 1 and deployment.spec.strategy.type == "Recreate"
    assert env["BIO_LEADER_ELECTION"] == "off"
