"""Helm's Go SDK (helm-python-sdk): server-side apply installs, --wait on a
Deployment's status, upgrades, uninstall, release Secrets written as protobuf."""

from __future__ import annotations

import json

import helm_python as helm
import pytest

from kubesim_support import FIXTURES, Cluster


def test_helm_install_upgrade_uninstall(cluster: Cluster, crd: str, namespace: str) -> None:
    if not cluster.is_kubesim:
        pytest.skip("needs Deployments to become ready; no Pods can run on the conformance cluster")
    cfg = helm.Config(kubeconfig_path=str(cluster.kubeconfig), namespace=namespace)
    chart = FIXTURES / "chart"
    cfg.install(chart, "rel", {"size": "small"}, namespace=namespace, timeout=20, wait="watcher")
    widget = json.loads(
        cluster.kubectl("get", "wg", "rel-widget", "-n", namespace, "-o", "json").stdout
    )
    assert widget["spec"] == {"size": "small", "replicas": 1}
    assert widget["metadata"]["annotations"]["meta.helm.sh/release-name"] == "rel"
    cfg.upgrade(
        chart,
        "rel",
        {"size": "large", "image": "nginx:2"},
        namespace=namespace,
        timeout=20,
        wait="watcher",
    )
    settings = json.loads(
        cluster.kubectl("get", "cm", "rel-settings", "-n", namespace, "-o", "json").stdout
    )
    assert settings["data"] == {"size": "large"}
    deployment = json.loads(
        cluster.kubectl("get", "deploy", "rel-web", "-n", namespace, "-o", "json").stdout
    )
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"] == 2
    releases = cfg.list()
    assert [(r["name"], r["revision"], r["status"]) for r in releases] == [("rel", 2, "deployed")]
    cfg.uninstall("rel", timeout=20, wait="watcher")
    left = cluster.kubectl("get", "cm,wg,deploy,secret", "-n", namespace, "-o", "name").stdout
    assert left.strip() == ""
    with pytest.raises(helm.HelmError):
        cfg.install(chart, "rel2", {"size": "enormous"}, namespace=namespace, timeout=20)
