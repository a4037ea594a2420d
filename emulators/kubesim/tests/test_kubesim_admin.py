"""kubesim's own admin endpoints and process contract (skipped on a real cluster)."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from kubesim_support import Cluster, widget, widgets_path
from simlaunch import run_kubesim


def test_counters_and_reset(kubesim_only: Cluster, crd: str, namespace: str) -> None:
    cluster = kubesim_only
    cluster.admin("POST", "/_kubesim/reset")
    cluster.request("POST", widgets_path(namespace), widget("a"))
    cluster.request("GET", widgets_path(namespace, "a"))
    cluster.request("GET", widgets_path(namespace))
    counters = cluster.admin("GET", "/_kubesim/counters")["counters"]
    assert counters["create widgets.kubesim.test"] == 1
    assert counters["get widgets.kubesim.test"] == 1
    assert counters["list widgets.kubesim.test"] == 1
    cluster.admin("POST", "/_kubesim/reset")
    assert cluster.admin("GET", "/_kubesim/counters")["counters"] == {}


def test_fault_injection(kubesim_only: Cluster, crd: str, namespace: str) -> None:
    cluster = kubesim_only
    cluster.admin(
        "POST",
        "/_kubesim/faults",
        {"method": "POST", "pathRegex": "/widgets", "status": 503, "count": 2},
    )
    for _ in range(2):
        resp = cluster.request("POST", widgets_path(namespace), widget("f"))
        assert (
            resp.status == 503
            and resp.json["kind"] == "Status"
            and resp.json["reason"] == "ServiceUnavailable"
        )
    assert cluster.request("POST", widgets_path(namespace), widget("f")).status == 201


def test_latency_fault_delays_then_serves(kubesim_only: Cluster, crd: str,
                                          namespace: str) -> None:
    cluster = kubesim_only
    cluster.request("POST", widgets_path(namespace), widget("slow"))
    cluster.admin("POST", "/_kubesim/faults",
                  {"method": "GET", "pathRegex": "/widgets/slow$", "latencyMs": 400})
    started = time.monotonic()
    resp = cluster.request("GET", widgets_path(namespace, "slow"))
    assert resp.status == 200 and resp.json["metadata"]["name"] == "slow"
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert cluster.request("GET", widgets_path(namespace, "slow")).status == 200
    assert time.monotonic() - started < 0.4  # one request only (count defaults to 1)


def test_close_and_expire_watches(kubesim_only: Cluster, crd: str, namespace: str) -> None:
    cluster = kubesim_only
    created = cluster.request("POST", widgets_path(namespace), widget("w")).json
    stream = cluster.watch(
        widgets_path(namespace),
        resourceVersion=created["metadata"]["resourceVersion"],
        timeoutSeconds="30",
    )
    assert cluster.admin("POST", "/_kubesim/watches/close")["closed"] >= 1
    assert stream.rest() == []  # ended by the server well before its timeout
    cluster.admin("POST", "/_kubesim/watches/expire-next")
    stream = cluster.watch(
        widgets_path(namespace), resourceVersion=created["metadata"]["resourceVersion"]
    )
    event = stream.next()
    assert event is not None and event["type"] == "ERROR" and event["object"]["code"] == 410
    stream = cluster.watch(
        widgets_path(namespace),
        resourceVersion=created["metadata"]["resourceVersion"],
        timeoutSeconds="1",
    )
    assert stream.rest() == []  # only the next watch expired


def test_process_contract(kubesim_only: Cluster, tmp_path: Path) -> None:
    with run_kubesim(tmp_path / "sim") as sim:
        config = yaml.safe_load(sim.kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == sim.url
        assert config["current-context"] in [c["name"] for c in config["contexts"]]
        import requests

        for path in ("/healthz", "/readyz", "/livez"):
            assert requests.get(sim.url + path, timeout=5).text == "ok"
        # An open watch does not hold up shutdown.
        watch = requests.get(
            sim.url + "/api/v1/namespaces",
            params={"watch": "true", "timeoutSeconds": "60"},
            stream=True,
            timeout=30,
        )
        assert watch.status_code == 200
        started = time.monotonic()
    assert time.monotonic() - started < 10
    assert sim.process.returncode == 0  # SIGTERM is a clean exit
