"""CRD lifecycle: cluster-scoped kinds, updates to a CRD, deletion of a CRD."""

from __future__ import annotations

import json
import textwrap

from kubesim_support import Cluster

GADGETS = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: gadgets.kubesim.test
    spec:
      group: kubesim.test
      scope: Cluster
      names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              x-kubernetes-preserve-unknown-fields: true
    """
)
GADGET = (
    "apiVersion: kubesim.test/v1\nkind: Gadget\nmetadata: {name: g1}\n"
    "spec: {any: [thing]}\nstatus: {kept: true}\n"
)


def test_cluster_scoped_crd_lifecycle(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=GADGETS)
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/gadgets.kubesim.test", "--timeout=30s"
    )
    try:
        cluster.kubectl("apply", "-f", "-", input=GADGET)
        obj = json.loads(cluster.kubectl("get", "gd", "g1", "-o", "json").stdout)
        assert "namespace" not in obj["metadata"]
        assert obj["spec"] == {"any": ["thing"]}
        assert obj["status"] == {"kept": True}  # no status subresource: status is ordinary data
        listing = cluster.request("GET", "/apis/kubesim.test/v1/gadgets").json
        assert listing["kind"] == "GadgetList" and len(listing["items"]) == 1
        # Changing the CRD (a new short name) takes effect at once.
        cluster.kubectl(
            "apply", "-f", "-", input=GADGETS.replace("shortNames: [gd]", "shortNames: [gd, gdt]")
        )
        assert (
            cluster.kubectl("get", "gdt", "-o", "name").stdout.strip() == "gadget.kubesim.test/g1"
        )
        rv = listing["metadata"]["resourceVersion"]
        stream = cluster.watch(
            "/apis/kubesim.test/v1/gadgets", resourceVersion=rv, timeoutSeconds="10"
        )
    finally:
        cluster.kubectl("delete", "crd", "gadgets.kubesim.test", "--timeout=30s")
    # Deleting the CRD deletes its objects (watchers see DELETED) and its endpoints.
    events = stream.rest()
    assert ("DELETED", "g1") in [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert cluster.request("GET", "/apis/kubesim.test/v1/gadgets").status == 404
    # The group version stays only if another CRD (the session's Widget) still serves it.
    group = cluster.request("GET", "/apis/kubesim.test/v1")
    resources = group.json["resources"] if group.status == 200 else []
    assert group.status in (200, 404)
    assert all(not r["name"].startswith("gadgets") for r in resources)


def test_server_side_apply_with_kubectl(cluster: Cluster, crd: str, namespace: str) -> None:
    manifest = (
        "apiVersion: kubesim.test/v1\nkind: Widget\nmetadata: {name: ssa}\nspec: {size: small}\n"
    )
    out = cluster.kubectl(
        "apply", "--server-side", "-n", namespace, "-f", "-", input=manifest
    ).stdout
    assert "serverside-applied" in out
    manifest = manifest.replace("size: small", "size: medium, color: blue")
    cluster.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=manifest)
    obj = json.loads(cluster.kubectl("get", "wg", "ssa", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"] == {"size": "medium", "color": "blue", "replicas": 1}
    assert obj["metadata"]["generation"] == 2
    # Fields this manager applied before and now leaves out are removed.
    manifest = manifest.replace(", color: blue", "")
    cluster.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=manifest)
    obj = json.loads(cluster.kubectl("get", "wg", "ssa", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"] == {"size": "medium", "replicas": 1}
