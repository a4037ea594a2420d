"""Size caps and CEL transition rules as the project's CRDs use them: maxLength,
maxItems and maxProperties, a rule bounding map keys, `self == oldSelf` on a field, and a
rule on the parent (with `fieldPath`) that also stops an optional field being added or
removed -- refused on every write path (PUT, merge patch, server-side apply, kubectl)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator

import pytest

from kubesim_support import Cluster

MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"
CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: boxes.kubesim.test}
    spec:
      group: kubesim.test
      scope: Namespaced
      names: {plural: boxes, singular: box, kind: Box}
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  x-kubernetes-validations:
                    - rule: >-
                        has(self.nick) == has(oldSelf.nick) &&
                        (!has(self.nick) || self.nick == oldSelf.nick)
                      fieldPath: .nick
                      message: nick is immutable
                  properties:
                    size:
                      type: string
                      maxLength: 8
                      x-kubernetes-validations:
                        - {rule: self == oldSelf, message: size is immutable}
                    nick: {type: string, maxLength: 8}
                    count: {type: integer}
                    items:
                      type: array
                      maxItems: 2
                      items: {type: string, maxLength: 8}
                    labels:
                      type: object
                      maxProperties: 2
                      x-kubernetes-validations:
                        - {rule: "self.all(k, size(k) <= 4)", message: keys too long}
                      additionalProperties: {type: string, maxLength: 8}
    """
)
PATH = "/apis/kubesim.test/v1/namespaces/{ns}/boxes"


def box(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": "kubesim.test/v1", "kind": "Box", "metadata": {"name": name},
            "spec": {"size": "small", **spec}}


@pytest.fixture(scope="module")
def boxes(cluster: Cluster) -> Iterator[str]:
    cluster.kubectl("apply", "-f", "-", input=CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/boxes.kubesim.test",
                    "--timeout=30s")
    yield "boxes.kubesim.test"
    cluster.kubectl("delete", "crd", "boxes.kubesim.test", "--timeout=30s")


def test_size_caps_are_refused_with_the_apiservers_causes(cluster: Cluster, boxes: str,
                                                          namespace: str) -> None:
    body = box("big", size="x" * 9, items=["a", "b", "c"], labels={"a": "1", "b": "2", "c": "3"})
    resp = cluster.request("POST", PATH.format(ns=namespace), body)
    assert resp.status == 422, resp.text
    causes = {(c["reason"], c["field"], c["message"]) for c in resp.json["details"]["causes"]}
    assert causes == {
        ("FieldValueTooLong", "spec.size", "Too long: may not be more than 8 bytes"),
        ("FieldValueTooMany", "spec.items", "Too many: 3: must have at most 2 items"),
        ("FieldValueTooMany", "spec.labels", "Too many: 3: must have at most 2 items"),
        # The real server skips CEL rules once such an error is found, and says so.
        ("FieldValueInvalid", "<nil>", "Invalid value: null: some validation rules were not "
         "checked because the object was invalid; correct the existing errors to complete "
         "validation"),
    }
    # Caps reach list items and map values; a CEL rule bounds map keys.
    nested = box("nested", items=["x" * 9], labels={"a": "y" * 9})
    resp = cluster.request("POST", PATH.format(ns=namespace), nested)
    fields = {c["field"] for c in resp.json["details"]["causes"]}
    assert resp.status == 422 and fields == {"spec.items[0]", "spec.labels.a", "<nil>"}, resp.text
    keys = cluster.request("POST", PATH.format(ns=namespace), box("keys", labels={"abcde": "1"}))
    assert keys.status == 422
    assert "spec.labels: Invalid value: keys too long" in keys.json["message"]
    at_caps = box("fits", size="x" * 8, items=["a", "b"], labels={"abcd": "y" * 8, "b": ""})
    assert cluster.request("POST", PATH.format(ns=namespace), at_caps).status == 201


def test_transition_rules_refuse_changes_on_every_write_path(cluster: Cluster, boxes: str,
                                                             namespace: str) -> None:
    path = PATH.format(ns=namespace)
    created = cluster.request("POST", path, box("b1", nick="bo", count=1))
    assert created.status == 201, created.text
    # A rule on a scalar prints the refused value (an object's or list's is omitted).
    refused = 'spec.size: Invalid value: "large": size is immutable'
    # PUT
    put = dict(created.json, spec={"size": "large", "nick": "bo", "count": 1})
    resp = cluster.request("PUT", f"{path}/b1", put)
    assert resp.status == 422 and refused in resp.json["message"], resp.text
    # merge patch
    resp = cluster.request("PATCH", f"{path}/b1", {"spec": {"size": "large"}},
                           content_type=MERGE)
    assert resp.status == 422 and refused in resp.json["message"], resp.text
    # server-side apply
    applied = json.dumps(box("b1", size="large", nick="bo", count=1))
    resp = cluster.request("PATCH", f"{path}/b1", applied, content_type=APPLY,
                           params={"fieldManager": "test", "force": "true"})
    assert resp.status == 422 and refused in resp.json["message"], resp.text
    # A change elsewhere passes every rule.
    resp = cluster.request("PATCH", f"{path}/b1", {"spec": {"count": 2}}, content_type=MERGE)
    assert resp.status == 200, resp.text


def test_parent_rule_stops_an_optional_field_being_changed_added_or_removed(
        cluster: Cluster, boxes: str, namespace: str) -> None:
    path = PATH.format(ns=namespace)
    assert cluster.request("POST", path, box("with", nick="bo")).status == 201
    assert cluster.request("POST", path, box("without")).status == 201
    refused = "spec.nick: Invalid value: nick is immutable"
    for name, nick in (("with", "other"), ("with", None), ("without", "new")):
        resp = cluster.request("PATCH", f"{path}/{name}", {"spec": {"nick": nick}},
                               content_type=MERGE)
        assert resp.status == 422, (name, nick, resp.text)
        assert resp.json["details"]["causes"][0]["field"] == "spec.nick"
        assert refused in resp.json["message"]


def test_kubectl_apply_reports_the_rule_message(cluster: Cluster, boxes: str,
                                                namespace: str) -> None:
    manifest = "apiVersion: kubesim.test/v1\nkind: Box\nmetadata: {name: k1}\nspec: {size: s}\n"
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-",
                             input=manifest.replace("size: s", "size: m"), check=False)
    assert result.returncode != 0
    assert 'spec.size: Invalid value: "m": size is immutable' in result.stderr
