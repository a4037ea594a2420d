"""kubectl against the emulator: the commands users and the project's scripts run."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from kubesim_support import FIXTURES, KUBECTL, Cluster

WIDGET = (FIXTURES / "widget.yaml").read_text()


def test_crd_makes_kind_servable_with_short_names_and_categories(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    crd_obj = json.loads(cluster.kubectl("get", "crd", crd, "-o", "json").stdout)
    conditions = {c["type"]: c["status"] for c in crd_obj["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    resources = cluster.kubectl("api-resources", "--api-group=kubesim.test", "-o", "wide").stdout
    assert "widgets" in resources and "wg" in resources and "kubesimtest" in resources
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WIDGET)
    for spelling in ("wg", "widget", "widgets", "widgets.kubesim.test", "kubesimtest"):
        out = cluster.kubectl("get", spelling, "-n", namespace, "-o", "name").stdout
        assert out.strip() == "widget.kubesim.test/alpha", spelling
    both = cluster.kubectl("get", "wg,cm", "-n", namespace, "-o", "name").stdout
    assert "widget.kubesim.test/alpha" in both


def test_discovery_documents(cluster: Cluster, crd: str) -> None:
    core = cluster.request("GET", "/api/v1").json
    assert core["groupVersion"] == "v1"
    status = next(r for r in core["resources"] if r["name"] == "namespaces/status")
    assert "shortNames" not in status
    group = cluster.request("GET", "/apis/kubesim.test").json
    assert group["preferredVersion"] == {"groupVersion": "kubesim.test/v1", "version": "v1"}
    listing = cluster.request("GET", "/apis/kubesim.test/v1").json
    entry = next(r for r in listing["resources"] if r["name"] == "widgets")
    assert entry["kind"] == "Widget" and entry["namespaced"] is True
    assert entry["shortNames"] == ["wg"] and entry["categories"] == ["kubesimtest"]
    assert entry["singularName"] == "widget"
    assert {
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    } <= set(entry["verbs"])
    assert any(r["name"] == "widgets/status" for r in listing["resources"])
    version = cluster.request("GET", "/version").json
    assert version["gitVersion"].startswith("v1.")


def test_apply_get_describe_printer_columns(cluster: Cluster, crd: str, namespace: str) -> None:
    out = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WIDGET).stdout
    assert "widget.kubesim.test/alpha created" in out
    obj = json.loads(cluster.kubectl("get", "wg", "alpha", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"] == {"size": "small", "color": "red", "replicas": 1}  # replicas defaulted
    assert obj["metadata"]["generation"] == 1
    table = cluster.kubectl("get", "wg", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "REPLICAS", "READY", "AGE"]
    assert table[1].split()[:3] == ["alpha", "small", "1"]
    described = cluster.kubectl("describe", "wg", "alpha", "-n", namespace).stdout
    assert "Name:" in described and "alpha" in described and "Size:" in described
    # Re-applying a changed manifest patches (and bumps generation); unchanged is a no-op.
    out = cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=WIDGET.replace("small", "large")
    ).stdout
    assert "configured" in out
    out = cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=WIDGET.replace("small", "large")
    ).stdout
    assert "unchanged" in out
    obj = json.loads(cluster.kubectl("get", "wg", "alpha", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"]["size"] == "large" and obj["metadata"]["generation"] == 2


def test_apply_validates_on_the_server(cluster: Cluster, crd: str, namespace: str) -> None:
    bad = WIDGET.replace("color: red", "color: red\n  flavour: mint")
    proc = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=bad, check=False)
    assert proc.returncode != 0
    assert 'strict decoding error: unknown field "spec.flavour"' in proc.stderr
    invalid = WIDGET.replace("size: small", "size: huge")
    proc = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=invalid, check=False)
    assert proc.returncode != 0
    assert (
        'spec.size: Unsupported value: "huge": supported values: "small", "medium", "large"'
        in proc.stderr
    )
    # --validate=warn: the server keeps going and reports the field as a warning.
    proc = cluster.kubectl("apply", "-n", namespace, "--validate=warn", "-f", "-", input=bad)
    assert 'unknown field "spec.flavour"' in proc.stderr
    obj = json.loads(cluster.kubectl("get", "wg", "alpha", "-n", namespace, "-o", "json").stdout)
    assert "flavour" not in obj["spec"]  # pruned


def test_apply_builtin_kinds_twice(cluster: Cluster, namespace: str) -> None:
    manifest = textwrap.dedent(
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {a: "1", b: "2"}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - {name: main, image: nginx:1, ports: [{containerPort: 80}]}
                - {name: side, image: busybox:1}
        """
    )
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)
    changed = manifest.replace('b: "2"', 'c: "3"').replace("nginx:1", "nginx:2")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=changed)
    cm = json.loads(cluster.kubectl("get", "cm", "settings", "-n", namespace, "-o", "json").stdout)
    assert cm["data"] == {"a": "1", "c": "3"}
    dep = json.loads(cluster.kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("main", "nginx:2"),
        ("side", "busybox:1"),
    ]
    assert containers[0]["ports"][0]["containerPort"] == 80  # kept by the list merge
    assert dep["metadata"]["generation"] == 2


def test_replace_and_patch(cluster: Cluster, crd: str, namespace: str) -> None:
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=WIDGET)
    cluster.kubectl("replace", "-n", namespace, "-f", "-", input=WIDGET.replace("red", "green"))
    assert (
        cluster.kubectl(
            "get", "wg", "alpha", "-n", namespace, "-o", "jsonpath={.spec.color}"
        ).stdout
        == "green"
    )
    cluster.kubectl(
        "patch", "wg", "alpha", "-n", namespace, "--type=merge", "-p", '{"spec":{"replicas":3}}'
    )
    cluster.kubectl(
        "patch",
        "wg",
        "alpha",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/size","value":"medium"}]',
    )
    obj = json.loads(cluster.kubectl("get", "wg", "alpha", "-n", namespace, "-o", "json").stdout)
    assert (obj["spec"]["replicas"], obj["spec"]["size"]) == (3, "medium")
    proc = cluster.kubectl(
        "patch",
        "wg",
        "alpha",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"test","path":"/spec/size","value":"small"}]',
        check=False,
    )
    # A failed `test` is a 422 with no details, as kube-apiserver 1.37 answers it.
    assert proc.returncode != 0 and proc.stderr.strip() == (
        "The request is invalid: the server rejected our request due to an error in our request")
    proc = cluster.kubectl(
        "patch",
        "wg",
        "alpha",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"replicas":99}}',
        check=False,
    )
    assert proc.returncode != 0
    assert (
        "spec.replicas: Invalid value: 99: spec.replicas in body should be less than or equal to 10"
        in proc.stderr
    )


def test_edit_with_scripted_editor(
    cluster: Cluster, crd: str, namespace: str, tmp_path: Path
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WIDGET)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\np = "
        "pathlib.Path(sys.argv[1])\np.write_text(p.read_text().replace('color: red', 'color: "
        "teal'))\n"
    )
    cluster.kubectl(
        "edit", "wg", "alpha", "-n", namespace, env={"KUBE_EDITOR": f"{sys.executable} {editor}"}
    )
    assert (
        cluster.kubectl(
            "get", "wg", "alpha", "-n", namespace, "-o", "jsonpath={.spec.color}"
        ).stdout
        == "teal"
    )


def test_wait_for_condition_and_delete(cluster: Cluster, crd: str, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WIDGET)
    status = '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}'
    cluster.kubectl(
        "patch",
        "wg",
        "alpha",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    )
    out = cluster.kubectl(
        "wait", "wg/alpha", "-n", namespace, "--for=condition=Ready", "--timeout=10s"
    ).stdout
    assert "condition met" in out
    ready = cluster.kubectl("get", "wg", "alpha", "-n", namespace).stdout.splitlines()[1].split()
    assert ready[3] == "True"
    # A finalizer holds the object; kubectl wait --for=delete sees it go once removed.
    cluster.kubectl(
        "patch",
        "wg",
        "alpha",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["kubesim.test/hold"]}}',
    )
    cluster.kubectl("delete", "wg", "alpha", "-n", namespace, "--wait=false")
    proc = cluster.kubectl(
        "wait", "wg/alpha", "-n", namespace, "--for=delete", "--timeout=1s", check=False
    )
    assert proc.returncode != 0  # still held by the finalizer
    cluster.kubectl(
        "patch",
        "wg",
        "alpha",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
    )
    cluster.kubectl("wait", "wg/alpha", "-n", namespace, "--for=delete", "--timeout=10s")
    proc = cluster.kubectl("get", "wg", "alpha", "-n", namespace, check=False)
    assert 'widgets.kubesim.test "alpha" not found' in proc.stderr


def test_delete_all_and_label_selectors(cluster: Cluster, crd: str, namespace: str) -> None:
    for name, tier in (("a", "front"), ("b", "back"), ("c", "front")):
        manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest)
        cluster.kubectl("label", "configmap", name, "-n", namespace, f"tier={tier}")
    names = cluster.kubectl(
        "get", "cm", "-n", namespace, "-l", "tier=front", "-o", "name"
    ).stdout.split()
    assert names == ["configmap/a", "configmap/c"]
    names = cluster.kubectl(
        "get", "cm", "-n", namespace, "-l", "tier notin (front)", "-o", "name"
    ).stdout.split()
    assert names == ["configmap/b"]
    names = cluster.kubectl(
        "get", "cm", "-n", namespace, "--field-selector", "metadata.name!=a", "-o", "name"
    ).stdout.split()
    assert "configmap/a" not in names and "configmap/b" in names
    cluster.kubectl("delete", "cm", "--all", "-n", namespace)
    assert cluster.kubectl("get", "cm", "-n", namespace, "-o", "name").stdout.strip() == ""


def test_explain_uses_crd_schema(cluster: Cluster, crd: str) -> None:
    out = cluster.kubectl("explain", "widgets.spec").stdout
    assert "KIND:       Widget" in out or "KIND:     Widget" in out
    assert "size" in out and "How big the widget is." in out
    out = cluster.kubectl("explain", "widget.spec.size").stdout
    assert "How big the widget is." in out


def test_get_watch_prints_changes(cluster: Cluster, crd: str, namespace: str) -> None:
    import subprocess

    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WIDGET)
    proc = subprocess.Popen(
        [
            KUBECTL,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--cache-dir",
            cluster.cache_dir,
            "get",
            "wg",
            "-n",
            namespace,
            "-w",
            "--request-timeout=20s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        assert header.split()[:2] == ["NAME", "SIZE"]
        assert proc.stdout.readline().split()[:2] == ["alpha", "small"]
        cluster.kubectl(
            "patch",
            "wg",
            "alpha",
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"spec":{"size":"large"}}',
        )
        assert proc.stdout.readline().split()[:2] == ["alpha", "large"]
    finally:
        proc.kill()
        proc.wait()


def test_typed_create_commands_send_protobuf(cluster: Cluster, namespace: str) -> None:
    # kubectl's typed clients write protobuf bodies; kubesim decodes the common kinds.
    cluster.kubectl("create", "configmap", "cfg", "-n", namespace, "--from-literal=a=b")
    cluster.kubectl("create", "secret", "generic", "sec", "-n", namespace, "--from-literal=p=q")
    cluster.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    cluster.kubectl(
        "create", "role", "reader", "-n", namespace, "--verb=get", "--resource=configmaps"
    )
    cluster.kubectl(
        "create",
        "rolebinding",
        "rb",
        "-n",
        namespace,
        "--role=reader",
        f"--serviceaccount={namespace}:robot",
    )
    cluster.kubectl(
        "create", "deployment", "web", "-n", namespace, "--image=nginx:1", "--replicas=2"
    )
    cm = json.loads(cluster.kubectl("get", "cm", "cfg", "-n", namespace, "-o", "json").stdout)
    assert cm["data"] == {"a": "b"}
    secret = json.loads(
        cluster.kubectl("get", "secret", "sec", "-n", namespace, "-o", "json").stdout
    )
    assert secret["data"] == {"p": "cQ=="}
    rb = json.loads(
        cluster.kubectl("get", "rolebinding", "rb", "-n", namespace, "-o", "json").stdout
    )
    assert rb["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "reader",
    }
    assert rb["subjects"][0]["name"] == "robot"
    dep = json.loads(cluster.kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"


def test_rollout_status_and_scale(cluster: Cluster, crd: str, namespace: str) -> None:
    if not cluster.is_kubesim:
        pytest.skip("a Deployment only rolls out where Pods can run")
    cluster.kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx:1")
    out = cluster.kubectl(
        "rollout", "status", "deploy/web", "-n", namespace, "--timeout=10s"
    ).stdout
    assert "successfully rolled out" in out
    cluster.kubectl("scale", "deploy/web", "-n", namespace, "--replicas=3")
    dep = json.loads(cluster.kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 3 and dep["metadata"]["generation"] == 2


def test_scale_subresource_of_custom_resource(cluster: Cluster, crd: str, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=WIDGET)
    cluster.kubectl("scale", "wg/alpha", "-n", namespace, "--replicas=4")
    obj = json.loads(cluster.kubectl("get", "wg", "alpha", "-n", namespace, "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 4 and obj["metadata"]["generation"] == 2
    scale = cluster.request(
        "GET", f"/apis/kubesim.test/v1/namespaces/{namespace}/widgets/alpha/scale"
    )
    assert scale.json["kind"] == "Scale" and scale.json["spec"] == {"replicas": 4}


def test_auth_can_i(cluster: Cluster) -> None:
    # An access review, written as protobuf by kubectl's typed client.
    assert cluster.kubectl("auth", "can-i", "create", "configmaps").stdout.strip() == "yes"


def test_strategic_merge_patch_of_built_ins(cluster: Cluster, namespace: str) -> None:
    binding = textwrap.dedent(
        """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: rb}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
        subjects:
          - {kind: ServiceAccount, name: one}
          - {kind: ServiceAccount, name: two}
        """
    )
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=binding)
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=binding.replace("name: two", "name: three")
    )
    rb = json.loads(
        cluster.kubectl("get", "rolebinding", "rb", "-n", namespace, "-o", "json").stdout
    )
    assert [s["name"] for s in rb["subjects"]] == ["one", "three"]  # an atomic list
    # metadata.finalizers merges: a strategic patch adds to the list.
    cluster.kubectl("create", "configmap", "fin", "-n", namespace)
    for finalizer in ("a.test/x", "b.test/y"):
        patch = json.dumps({"metadata": {"finalizers": [finalizer]}})
        cluster.kubectl("patch", "cm", "fin", "-n", namespace, "--type=strategic", "-p", patch)
    cm = json.loads(cluster.kubectl("get", "cm", "fin", "-n", namespace, "-o", "json").stdout)
    # The patch's new entry goes first, as apimachinery's strategic merge orders it.
    assert cm["metadata"]["finalizers"] == ["b.test/y", "a.test/x"]
    cluster.kubectl(
        "patch",
        "cm",
        "fin",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
    )
