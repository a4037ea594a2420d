"""coordination.k8s.io/v1 Leases as leader election uses them (client-go's leaselock and
the operator's kube/leader.py): discovery, create, get, PUT with optimistic concurrency,
and the API server's validation of the spec."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from kubesim_support import Cluster

GROUP_VERSION = "coordination.k8s.io/v1"


def leases(namespace: str, name: str | None = None) -> str:
    path = f"/apis/{GROUP_VERSION}/namespaces/{namespace}/leases"
    return f"{path}/{name}" if name else path


def lease(name: str, holder: str = "pod-a_1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": GROUP_VERSION, "kind": "Lease", "metadata": {"name": name},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15,
                     "acquireTime": "2026-12-02T17:00:00.123456Z",
                     "renewTime": "2026-12-02T17:00:00.123456Z", "leaseTransitions": 0,
                     **spec}}


def test_leases_are_discoverable(cluster: Cluster) -> None:
    groups = cluster.request("GET", "/apis").json["groups"]
    coordination = next(g for g in groups if g["name"] == "coordination.k8s.io")
    assert {"groupVersion": GROUP_VERSION, "version": "v1"} in coordination["versions"]
    resources = cluster.request("GET", f"/apis/{GROUP_VERSION}").json["resources"]
    found = next(r for r in resources if r["name"] == "leases")
    assert found["namespaced"] is True and found["kind"] == "Lease"
    assert {"create", "get", "list", "update", "watch"} <= set(found["verbs"])


def test_create_get_and_put_with_optimistic_concurrency(cluster: Cluster, namespace: str) -> None:
    made = cluster.request("POST", leases(namespace), lease("elect"))
    assert made.status == 201, made.text
    assert made.json["spec"] == lease("elect")["spec"]   # MicroTime kept to the microsecond
    again = cluster.request("POST", leases(namespace), lease("elect", holder="pod-b_2"))
    assert again.status == 409 and again.json["reason"] == "AlreadyExists"
    got = cluster.request("GET", leases(namespace, "elect")).json
    assert got["spec"]["holderIdentity"] == "pod-a_1"
    stale = got["metadata"]["resourceVersion"]

    renewal = copy.deepcopy(got)
    renewal["spec"]["renewTime"] = "2026-12-02T17:00:02.000001Z"
    renewed = cluster.request("PUT", leases(namespace, "elect"), renewal)
    assert renewed.status == 200, renewed.text
    assert renewed.json["metadata"]["resourceVersion"] != stale
    assert renewed.json["spec"]["renewTime"] == "2026-12-02T17:00:02.000001Z"

    takeover = copy.deepcopy(got)                      # written against the old version
    takeover["spec"].update(holderIdentity="pod-b_2", leaseTransitions=1)
    lost = cluster.request("PUT", leases(namespace, "elect"), takeover)
    assert lost.status == 409 and lost.json["reason"] == "Conflict", lost.text
    assert cluster.request("GET", leases(namespace, "elect")).json["spec"]["holderIdentity"] \
        == "pod-a_1"


def test_two_candidates_racing_for_one_version_only_one_wins(cluster: Cluster,
                                                             namespace: str) -> None:
    base = cluster.request("POST", leases(namespace), lease("race", holder="")).json

    def take(who: str) -> int:
        body = copy.deepcopy(base)
        body["spec"]["holderIdentity"] = who
        return cluster.request("PUT", leases(namespace, "race"), body).status

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(take, [f"pod-{i}" for i in range(8)]))
    assert sorted(codes) == [200] + [409] * 7, codes


def test_put_creates_a_missing_lease_but_updates_need_the_resource_version(
        cluster: Cluster, namespace: str) -> None:
    # The API server's lease strategy: AllowCreateOnUpdate, not AllowUnconditionalUpdate.
    made = cluster.request("PUT", leases(namespace, "by-put"), lease("by-put"))
    assert made.status == 201, made.text
    assert made.json["metadata"]["resourceVersion"]
    blind = cluster.request("PUT", leases(namespace, "by-put"), lease("by-put", "pod-c"))
    assert blind.status == 422 and blind.json["reason"] == "Invalid", blind.text
    assert blind.json["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    other = cluster.request("PUT", leases(namespace, "url-name"), lease("body-name"))
    assert other.status == 400, other.text        # the body names another object
    assert cluster.request("GET", leases(namespace, "url-name")).status == 404


def test_release_record_and_validation(cluster: Cluster, namespace: str) -> None:
    created = cluster.request("POST", leases(namespace), lease("rel")).json
    # What a graceful stop writes (client-go's release): no holder, one second.
    released = copy.deepcopy(created)
    released["spec"].update(holderIdentity="", leaseDurationSeconds=1)
    assert cluster.request("PUT", leases(namespace, "rel"), released).status == 200
    for field, value in (("leaseDurationSeconds", 0), ("leaseDurationSeconds", -3),
                         ("leaseTransitions", -1)):
        bad = cluster.request("POST", leases(namespace), lease(f"bad-{value}", **{field: value}))
        assert bad.status == 422, bad.text
        assert bad.json["reason"] == "Invalid"
        assert any(c["field"] == f"spec.{field}" for c in bad.json["details"]["causes"])


def test_typed_client_reads_and_replaces_micro_times(cluster: Cluster, namespace: str) -> None:
    api = client.CoordinationV1Api(cluster.api_client())
    cluster.request("POST", leases(namespace), lease("typed"))
    read = api.read_namespaced_lease("typed", namespace)
    assert read.spec.renew_time == datetime(2026, 12, 2, 17, 0, 0, 123456, tzinfo=UTC)
    read.spec.holder_identity = "pod-z"
    read.spec.lease_transitions = 1
    replaced = api.replace_namespaced_lease("typed", namespace, read)
    assert replaced.spec.holder_identity == "pod-z"
    assert replaced.metadata.resource_version != read.metadata.resource_version
