"""API semantics over raw HTTP: status codes, Status bodies, metadata rules."""

from __future__ import annotations

import re

from kubesim_support import Cluster, widget, widgets_path

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def _create(cluster: Cluster, namespace: str, body: dict) -> dict:  # type: ignore[type-arg]
    resp = cluster.request("POST", widgets_path(namespace), body)
    assert resp.status == 201, resp.text
    return resp.json  # type: ignore[no-any-return]


def test_create_get_metadata(cluster: Cluster, crd: str, namespace: str) -> None:
    obj = _create(cluster, namespace, widget("one"))
    meta = obj["metadata"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["uid"] and meta["namespace"] == namespace and meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    got = cluster.request("GET", widgets_path(namespace, "one")).json
    assert got["metadata"]["resourceVersion"] == meta["resourceVersion"]
    assert got["apiVersion"] == "kubesim.test/v1" and got["kind"] == "Widget"
    again = cluster.request("POST", widgets_path(namespace), widget("one"))
    assert again.status == 409
    assert again.json["reason"] == "AlreadyExists"
    assert again.json["message"] == 'widgets.kubesim.test "one" already exists'
    missing = cluster.request("GET", widgets_path(namespace, "nope"))
    assert missing.status == 404
    assert missing.json["kind"] == "Status" and missing.json["status"] == "Failure"
    assert missing.json["message"] == 'widgets.kubesim.test "nope" not found'
    assert missing.json["details"] == {"name": "nope", "group": "kubesim.test", "kind": "widgets"}


def test_generate_name(cluster: Cluster, crd: str, namespace: str) -> None:
    body = widget("")
    body["metadata"] = {"generateName": "gen-"}
    obj = _create(cluster, namespace, body)
    assert re.fullmatch(r"gen-[a-z0-9]{5}", obj["metadata"]["name"])


def test_resource_versions_increase_globally(cluster: Cluster, crd: str, namespace: str) -> None:
    a = _create(cluster, namespace, widget("a"))
    cm = cluster.request(
        "POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "c"}}
    )
    b = _create(cluster, namespace, widget("b"))
    rvs = [
        int(a["metadata"]["resourceVersion"]),
        int(cm.json["metadata"]["resourceVersion"]),
        int(b["metadata"]["resourceVersion"]),
    ]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    listing = cluster.request("GET", widgets_path(namespace)).json
    assert listing["kind"] == "WidgetList" and listing["apiVersion"] == "kubesim.test/v1"
    assert int(listing["metadata"]["resourceVersion"]) >= rvs[-1]
    assert [i["metadata"]["name"] for i in listing["items"]] == ["a", "b"]
    assert all(
        i["kind"] == "Widget" and i["apiVersion"] == "kubesim.test/v1" for i in listing["items"]
    )


def test_conflict_on_stale_resource_version(cluster: Cluster, crd: str, namespace: str) -> None:
    obj = _create(cluster, namespace, widget("c"))
    stale = obj["metadata"]["resourceVersion"]
    obj["spec"]["color"] = "blue"
    ok = cluster.request("PUT", widgets_path(namespace, "c"), obj)
    assert ok.status == 200 and ok.json["metadata"]["resourceVersion"] != stale
    obj["spec"]["color"] = "green"
    conflict = cluster.request("PUT", widgets_path(namespace, "c"), obj)
    assert conflict.status == 409 and conflict.json["reason"] == "Conflict"
    assert conflict.json["message"].startswith(
        'Operation cannot be fulfilled on widgets.kubesim.test "c": the object has been modified'
    )
    patch = {"metadata": {"resourceVersion": stale}, "spec": {"color": "pink"}}
    conflict = cluster.request("PATCH", widgets_path(namespace, "c"), patch, content_type=MERGE)
    assert conflict.status == 409
    no_rv = dict(obj)
    no_rv["metadata"] = {"name": "c"}
    invalid = cluster.request("PUT", widgets_path(namespace, "c"), no_rv)
    assert invalid.status == 422  # custom resources need a resourceVersion on update


def test_json_patch_test_op_failure_is_422(cluster: Cluster, crd: str, namespace: str) -> None:
    obj = _create(cluster, namespace, widget("j"))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    resp = cluster.request("PATCH", widgets_path(namespace, "j"), ops, content_type=JSON_PATCH)
    assert resp.status == 422, resp.text
    ops[0]["value"] = obj["metadata"]["resourceVersion"]
    resp = cluster.request("PATCH", widgets_path(namespace, "j"), ops, content_type=JSON_PATCH)
    assert resp.status == 200 and resp.json["metadata"]["finalizers"] == ["x/y"]


def test_generation_bumps_only_on_spec(cluster: Cluster, crd: str, namespace: str) -> None:
    _create(cluster, namespace, widget("g"))
    path = widgets_path(namespace, "g")
    labelled = cluster.request(
        "PATCH", path, {"metadata": {"labels": {"x": "y"}}}, content_type=MERGE
    ).json
    assert labelled["metadata"]["generation"] == 1
    status = cluster.request(
        "PATCH",
        widgets_path(namespace, "g", "status"),
        {"status": {"phase": "Up"}},
        content_type=MERGE,
    ).json
    assert status["metadata"]["generation"] == 1 and status["status"]["phase"] == "Up"
    spec = cluster.request("PATCH", path, {"spec": {"color": "blue"}}, content_type=MERGE).json
    assert spec["metadata"]["generation"] == 2
    # A no-op write keeps the resourceVersion.
    same = cluster.request("PATCH", path, {"spec": {"color": "blue"}}, content_type=MERGE).json
    assert same["metadata"]["resourceVersion"] == spec["metadata"]["resourceVersion"]


def test_status_subresource(cluster: Cluster, crd: str, namespace: str) -> None:
    body = widget("s")
    body["status"] = {"phase": "Ignored"}
    obj = _create(cluster, namespace, body)
    assert "status" not in obj  # dropped on create
    status_path = widgets_path(namespace, "s", "status")
    obj["status"] = {"phase": "Ready"}
    obj["spec"]["color"] = "ignoredcolor"
    updated = cluster.request("PUT", status_path, obj).json
    assert updated["status"] == {"phase": "Ready"}
    assert "color" not in updated["spec"]  # /status writes only status
    main = cluster.request(
        "PATCH",
        widgets_path(namespace, "s"),
        {"status": {"phase": "Nope"}, "spec": {"color": "red"}},
        content_type=MERGE,
    ).json
    assert main["status"] == {"phase": "Ready"} and main["spec"]["color"] == "red"
    got = cluster.request("GET", status_path).json
    assert got["status"] == {"phase": "Ready"}


def test_finalizers_and_deletion_lifecycle(cluster: Cluster, crd: str, namespace: str) -> None:
    body = widget("f")
    body["metadata"]["finalizers"] = ["kubesim.test/hold"]
    created = _create(cluster, namespace, body)
    stream = cluster.watch(
        widgets_path(namespace), resourceVersion=created["metadata"]["resourceVersion"]
    )
    try:
        deleted = cluster.request("DELETE", widgets_path(namespace, "f"))
        assert deleted.status in (200, 202)
        held = cluster.request("GET", widgets_path(namespace, "f")).json
        assert held["metadata"]["deletionTimestamp"]
        assert held["metadata"]["deletionGracePeriodSeconds"] == 0
        assert int(held["metadata"]["resourceVersion"]) > int(
            created["metadata"]["resourceVersion"]
        )
        event = stream.until(lambda e: e["type"] == "MODIFIED")
        assert event["object"]["metadata"]["deletionTimestamp"]
        # No new finalizers on a deleting object.
        more = cluster.request(
            "PATCH",
            widgets_path(namespace, "f"),
            {"metadata": {"finalizers": ["kubesim.test/hold", "other/x"]}},
            content_type=MERGE,
        )
        assert (
            more.status == 422
            and "no new finalizers can be added if the object is being deleted"
            in more.json["message"]
        )
        released = cluster.request(
            "PATCH",
            widgets_path(namespace, "f"),
            {"metadata": {"finalizers": None}},
            content_type=MERGE,
        )
        assert released.status == 200
        gone = stream.until(lambda e: e["type"] == "DELETED")
        assert int(gone["object"]["metadata"]["resourceVersion"]) > int(
            held["metadata"]["resourceVersion"]
        )
        assert cluster.request("GET", widgets_path(namespace, "f")).status == 404
    finally:
        stream.close()


def test_namespace_deletion_cascades(cluster: Cluster, crd: str) -> None:
    ns = "ks-cascade"
    assert cluster.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}}).status == 201
    _create(cluster, ns, widget("w"))
    assert (
        cluster.request(
            "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "c"}}
        ).status
        == 201
    )
    cluster.kubectl("delete", "namespace", ns, "--timeout=30s")
    assert cluster.request("GET", f"/api/v1/namespaces/{ns}").status == 404
    assert cluster.request("GET", widgets_path(ns, "w")).status == 404
    assert cluster.request("GET", f"/api/v1/namespaces/{ns}/configmaps/c").status == 404
    missing = cluster.request("POST", widgets_path("ks-nowhere"), widget("x"))
    assert missing.status == 404 and missing.json["message"] == 'namespaces "ks-nowhere" not found'


def test_label_and_field_selectors(cluster: Cluster, crd: str, namespace: str) -> None:
    for name, labels in (
        ("a", {"tier": "front", "env": "prod"}),
        ("b", {"tier": "back"}),
        ("c", {"env": "dev"}),
    ):
        body = widget(name)
        body["metadata"]["labels"] = labels
        _create(cluster, namespace, body)

    def names(**params: str) -> list[str]:
        resp = cluster.request("GET", widgets_path(namespace), params=params)
        assert resp.status == 200, resp.text
        return [i["metadata"]["name"] for i in resp.json["items"]]

    assert names(labelSelector="tier=front") == ["a"]
    assert names(labelSelector="tier==back") == ["b"]
    assert names(labelSelector="tier!=front") == ["b", "c"]
    assert names(labelSelector="tier in (front,back)") == ["a", "b"]
    assert names(labelSelector="tier notin (front)") == ["b", "c"]
    assert names(labelSelector="env") == ["a", "c"]
    assert names(labelSelector="!env") == ["b"]
    assert names(labelSelector="tier,env=prod") == ["a"]
    assert names(fieldSelector="metadata.name=b") == ["b"]
    assert names(fieldSelector="metadata.name!=b") == ["a", "c"]
    assert names(fieldSelector=f"metadata.namespace={namespace}") == ["a", "b", "c"]
    everywhere = cluster.request(
        "GET", widgets_path(None), params={"fieldSelector": f"metadata.namespace={namespace}"}
    )
    assert [i["metadata"]["name"] for i in everywhere.json["items"]] == ["a", "b", "c"]


def test_deletecollection(cluster: Cluster, crd: str, namespace: str) -> None:
    for name in ("a", "b", "c"):
        body = widget(name)
        body["metadata"]["labels"] = {"drop": "yes" if name != "b" else "no"}
        _create(cluster, namespace, body)
    resp = cluster.request("DELETE", widgets_path(namespace), params={"labelSelector": "drop=yes"})
    assert resp.status == 200, resp.text
    left = cluster.request("GET", widgets_path(namespace)).json["items"]
    assert [i["metadata"]["name"] for i in left] == ["b"]


def test_server_side_apply_creates_then_merges(cluster: Cluster, crd: str, namespace: str) -> None:
    path = widgets_path(namespace, "ssa")
    doc = (
        "apiVersion: kubesim.test/v1\nkind: Widget\nmetadata:\n  name: ssa\nspec:\n  size: small\n"
    )
    params = {"fieldManager": "tests"}
    created = cluster.request(
        "PATCH", path, doc, params=params, content_type="application/apply-patch+yaml"
    )
    assert created.status in (200, 201), created.text
    doc2 = doc + "  color: blue\n"
    merged = cluster.request(
        "PATCH", path, doc2, params=params, content_type="application/apply-patch+yaml"
    )
    assert merged.status == 200 and merged.json["spec"]["color"] == "blue"
    no_manager = cluster.request("PATCH", path, doc2, content_type="application/apply-patch+yaml")
    assert no_manager.status == 422
    assert no_manager.json["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
        "is required for apply patch")


def test_schema_validation_defaulting_pruning(cluster: Cluster, crd: str, namespace: str) -> None:
    missing = cluster.request(
        "POST", widgets_path(namespace), {**widget("v"), "spec": {"color": "red"}}
    )
    assert missing.status == 422
    assert missing.json["reason"] == "Invalid"
    assert (
        missing.json["message"] == 'Widget.kubesim.test "v" is invalid: '
        "[spec.size: Required value, <nil>: Invalid value: null: some validation rules were not "
        "checked because the object was invalid; correct the existing errors to complete "
        "validation]"
    )
    assert missing.json["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"},
        {"reason": "FieldValueInvalid", "field": "<nil>", "message": "Invalid value: null: some "
         "validation rules were not checked because the object was invalid; correct the existing "
         "errors to complete validation"},
    ]
    many = cluster.request(
        "POST",
        widgets_path(namespace),
        widget("v", size="huge", replicas=-1, tags=["a", "b", "c", "d"], color="Red"),
    )
    assert many.status == 422
    message = many.json["message"]
    assert (
        'spec.size: Unsupported value: "huge": supported values: "small", "medium", "large"'
        in message
    )
    assert (
        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal "
        "to 0" in message
    )
    assert "spec.tags: Too many: 4: must have at most 3 items" in message
    assert (
        "spec.color: Invalid value: \"Red\": spec.color in body should match '^[a-z]+$'" in message
    )
    wrong_type = cluster.request("POST", widgets_path(namespace), widget("v", replicas="three"))
    assert wrong_type.status == 422
    assert (
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: '
        '"string"' in wrong_type.json["message"]
    )
    cel = cluster.request("POST", widgets_path(namespace), widget("v", color="black", replicas=0))
    assert cel.status == 422 and "black widgets need at least one replica" in cel.json["message"]
    body = widget("v", port="http", extra={"anything": {"goes": 1}})
    body["spec"]["unknown"] = True
    body["junk"] = 1
    created = cluster.request("POST", widgets_path(namespace), body)
    assert created.status == 201, created.text
    spec = created.json["spec"]
    assert "unknown" not in spec and "junk" not in created.json  # pruned
    assert spec["extra"] == {"anything": {"goes": 1}}  # preserve-unknown-fields
    assert spec["replicas"] == 1 and spec["port"] == "http"  # defaulted; int-or-string
    assert created.headers.get("Warning")  # fieldValidation defaults to Warn
    strict = cluster.request(
        "POST",
        widgets_path(namespace),
        {**widget("v2"), "bogus": 1},
        params={"fieldValidation": "Strict"},
    )
    assert strict.status == 400
    assert strict.json["reason"] == "BadRequest"
    assert strict.json["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: '
        'strict decoding error: unknown field "bogus"'
    )
    ignore = cluster.request(
        "POST",
        widgets_path(namespace),
        {**widget("v3"), "bogus": 1},
        params={"fieldValidation": "Ignore"},
    )
    assert ignore.status == 201 and not ignore.headers.get("Warning")


def test_table_response(cluster: Cluster, crd: str, namespace: str) -> None:
    _create(cluster, namespace, widget("t", replicas=2))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    resp = cluster.request("GET", widgets_path(namespace), headers={"Accept": accept})
    assert resp.json["kind"] == "Table" and resp.json["apiVersion"] == "meta.k8s.io/v1"
    names = [c["name"] for c in resp.json["columnDefinitions"]]
    assert names == ["Name", "Size", "Replicas", "Ready", "Age"]
    row = resp.json["rows"][0]
    assert row["cells"][:3] == ["t", "small", 2]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    # Metadata-only clients ask for PartialObjectMetadata(List).
    meta_accept = (
        "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
    )
    listed = cluster.request("GET", widgets_path(namespace), headers={"Accept": meta_accept}).json
    assert listed["kind"] == "PartialObjectMetadataList"
    assert listed["items"][0]["metadata"]["name"] == "t" and "spec" not in listed["items"][0]
    one_accept = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json"
    one = cluster.request("GET", widgets_path(namespace, "t"), headers={"Accept": one_accept}).json
    assert one["kind"] == "PartialObjectMetadata" and one["metadata"]["name"] == "t"


def test_kubernetes_python_client(cluster: Cluster, crd: str, namespace: str) -> None:
    from kubernetes import client, watch
    from kubernetes.client.exceptions import ApiException

    api = cluster.api_client()
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pc"), data={"k": "v"})
    )
    cm = core.read_namespaced_config_map("pc", namespace)
    assert cm.data == {"k": "v"}
    cm.data["k"] = "w"
    core.replace_namespaced_config_map("pc", namespace, cm)
    assert core.read_namespaced_config_map("pc", namespace).data == {"k": "w"}
    custom.create_namespaced_custom_object("kubesim.test", "v1", namespace, "widgets", widget("pw"))
    custom.patch_namespaced_custom_object(
        "kubesim.test", "v1", namespace, "widgets", "pw", {"spec": {"color": "blue"}}
    )
    got = custom.get_namespaced_custom_object("kubesim.test", "v1", namespace, "widgets", "pw")
    assert got["spec"]["color"] == "blue"
    listed = custom.list_cluster_custom_object("kubesim.test", "v1", "widgets", label_selector="")
    assert any(i["metadata"]["name"] == "pw" for i in listed["items"])
    custom.delete_namespaced_custom_object("kubesim.test", "v1", namespace, "widgets", "pw")
    try:
        custom.get_namespaced_custom_object("kubesim.test", "v1", namespace, "widgets", "pw")
        raise AssertionError("still there")
    except ApiException as exc:
        assert exc.status == 404
    # The client's own watch helper, resuming from a resourceVersion.
    created = custom.create_namespaced_custom_object(
        "kubesim.test", "v1", namespace, "widgets", widget("pw2")
    )
    custom.patch_namespaced_custom_object(
        "kubesim.test", "v1", namespace, "widgets", "pw2", {"spec": {"color": "red"}}
    )
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        "kubesim.test",
        "v1",
        namespace,
        "widgets",
        resource_version=created["metadata"]["resourceVersion"],
        timeout_seconds=1,
    )
    seen = [(e["type"], e["object"]["spec"].get("color")) for e in stream]
    assert seen == [("MODIFIED", "red")]
    events = core.list_namespaced_event(namespace)
    assert events.items == [] or all(e.metadata.namespace == namespace for e in events.items)


def test_transition_rule_with_old_self(cluster: Cluster, crd: str, namespace: str) -> None:
    _create(cluster, namespace, widget("o", owner="alice"))
    path = widgets_path(namespace, "o")
    changed = cluster.request("PATCH", path, {"spec": {"owner": "bob"}}, content_type=MERGE)
    assert changed.status == 422
    assert changed.json["message"] == (
        'Widget.kubesim.test "o" is invalid: '
        'spec.owner: Invalid value: "bob": owner is immutable'
    )
    other = cluster.request("PATCH", path, {"spec": {"color": "blue"}}, content_type=MERGE)
    assert other.status == 200, other.text


def test_one_of_alternatives(cluster: Cluster, crd: str, namespace: str) -> None:
    both = cluster.request(
        "POST", widgets_path(namespace), widget("s1", shape={"round": 1, "square": 2})
    )
    assert both.status == 422
    assert both.json["message"] == (
        'Widget.kubesim.test "s1" is invalid: <nil>: Invalid value: "": "spec.shape" must '
        "validate one and only one schema (oneOf). Found 2 valid alternatives"
    )
    neither = cluster.request("POST", widgets_path(namespace), widget("s2", shape={}))
    assert neither.status == 422
    assert "(oneOf). Found none valid" in neither.json["message"]
    assert "spec.shape.round: Required value" in neither.json["message"]
    one = cluster.request("POST", widgets_path(namespace), widget("s3", shape={"square": 2}))
    assert one.status == 201, one.text


def test_list_type_set_rejects_duplicates(cluster: Cluster, crd: str, namespace: str) -> None:
    dup = cluster.request("POST", widgets_path(namespace), widget("d", tags=["a", "b", "a"]))
    assert dup.status == 422
    assert (
        dup.json["message"]
        == 'Widget.kubesim.test "d" is invalid: spec.tags[2]: Duplicate value: "a"'
    )


def test_namespace_deletion_waits_for_finalizers(cluster: Cluster, crd: str) -> None:
    ns = "ks-held"
    assert cluster.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}}).status == 201
    body = widget("held")
    body["metadata"]["finalizers"] = ["kubesim.test/hold"]
    _create(cluster, ns, body)
    cluster.kubectl("delete", "namespace", ns, "--wait=false")
    terminating = cluster.request("GET", f"/api/v1/namespaces/{ns}").json
    assert terminating["status"]["phase"] == "Terminating"
    # The namespace controller marks what is inside for deletion (asynchronously on a
    # real cluster, so wait for it on a watch).
    stream = cluster.watch(widgets_path(ns), fieldSelector="metadata.name=held")
    try:
        stream.until(lambda e: bool(e["object"]["metadata"].get("deletionTimestamp")))
    finally:
        stream.close()
    refused = cluster.request("POST", widgets_path(ns), widget("late"))
    assert refused.status == 403 and refused.json["reason"] == "Forbidden"
    assert "because it is being terminated" in refused.json["message"]
    release = {"metadata": {"finalizers": None}}
    cluster.request("PATCH", widgets_path(ns, "held"), release, content_type=MERGE)
    cluster.kubectl("wait", "--for=delete", f"namespace/{ns}", "--timeout=30s")
    assert cluster.request("GET", f"/api/v1/namespaces/{ns}").status == 404



def test_secret_string_data_is_folded_into_data(cluster: Cluster, namespace: str) -> None:
    import base64

    from kubernetes import client as k8s

    core = k8s.CoreV1Api(k8s.ApiClient(cluster.cfg))
    core.create_namespaced_secret(namespace, {"metadata": {"name": "sd"},
                                              "stringData": {"token": "abc"},
                                              "data": {"other": "eA=="}})
    secret = core.read_namespaced_secret("sd", namespace)
    assert base64.b64decode(secret.data["token"]) == b"abc"
    assert secret.data["other"] == "eA=="
    assert secret.string_data is None
