"""The chart, linted and rendered by Helm's Go SDK over a matrix of values.

Each test checks something an installer would notice: which RBAC a mode grants, where
a credential comes from, that the pod is hardened, that the env the operator reads is
there.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from helpers.chart import (
    CHART,
    CLIENT,
    FULLNAME,
    NAMESPACE,
    SUBSCRIPTION,
    TENANT,
    chart_crds,
    container,
    env,
    grants,
    merged,
    of_kind,
    one,
    render,
    render_files,
    rules,
)

KUBE_VERSION = "1.30.0"
SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-batch-images"
SECRET_VALUE = "s3cr3t-Value~with.odd_chars"

CASES: dict[str, dict[str, Any]] = {
    # The least a user must choose: an allow-list (here: none, said explicitly).
    "chart-defaults": {"allowList": "unrestricted"},
    "defaults": merged(),
    "no-leader-election": merged({"replicaCount": 1, "leaderElection": {"enabled": False}}),
    "namespaced": merged({"watchNamespaces": ["team-a", "team-b"]}),
    "workload-identity": merged({"azure": {"tenantId": TENANT, "clientId": CLIENT,
                                           "workloadIdentity": {"enabled": True}}}),
    "existing-secret": merged({"azure": {"tenantId": TENANT, "clientId": CLIENT,
                                         "clientSecret": {"existingSecret": "sp-cred",
                                                          "key": "password"}}}),
    "create-secret": merged({"azure": {"tenantId": TENANT, "clientId": CLIENT,
                                       "clientSecret": {"create": True,
                                                        "value": SECRET_VALUE}}}),
    "service-monitor": merged({"metrics": {"serviceMonitor": {"enabled": True,
                                                              "labels": {"release": "prom"}}}}),
    "allow-list": merged({"allowList": {"*": [SCOPE],
                                        "team-a": [f"/subscriptions/{SUBSCRIPTION}"]}}),
    "namespace-credentials": merged({"azure": {"namespaceCredentialSecret": "azure-creds"}}),
    "namespaced-credentials": merged({"watchNamespaces": ["team-a", "team-b"],
                                      "azure": {"namespaceCredentialSecret": "azure-creds"}}),
    "network-policy": merged({"networkPolicy": {"enabled": True}}),
    "network-policy-selectors": merged({"networkPolicy": {
        "enabled": True,
        "metrics": {"namespaceSelector": {"matchLabels": {"team": "monitoring"}},
                    "podSelector": {"matchLabels": {"app": "prometheus"}}},
        "egress": {"apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [443]},
                   "azure": {"cidrs": ["20.0.0.0/8"]}}}}),
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: render(values) for name, values in CASES.items()}


# --- lint and schema validation of every rendered object -------------------------------

@pytest.mark.parametrize("case", CASES)
def test_helm_lint_strict_has_no_errors_or_warnings(case: str) -> None:
    report = helm.lint(CHART, CASES[case], strict=True, namespace=NAMESPACE,
                       kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_is_valid_kubernetes(
        case: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    checked = []
    for doc in rendered[case]:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # prometheus-operator's CRD; kubernetes-validate has no schema for it
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        checked.append(doc["kind"])
    assert {"Deployment", "ServiceAccount", "Service"} <= set(checked)


def test_chart_crds_are_valid_apiextensions_v1() -> None:
    crds = chart_crds()
    assert sorted(c["metadata"]["name"] for c in crds) == [
        "batchpools.batchimage.dev", "managedimages.batchimage.dev"]
    for crd in crds:
        kubernetes_validate.validate(crd, KUBE_VERSION, strict=True)


def test_kubernetes_validate_catches_a_broken_object(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The validation above has teeth: a typo in the pod spec is rejected."""
    deployment = json.loads(json.dumps(one(rendered["defaults"], "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


# --- values.schema.json ----------------------------------------------------------------

@pytest.mark.parametrize(("values", "needle"), [
    ({"replicaCount": "1"}, "replicaCount"),
    ({"replicaCount": 2, "leaderElection": {"enabled": False}}, "replicaCount"),
    ({"replicas": 1}, "replicas"),
    ({"operator": {"logFormat": "xml"}}, "logFormat"),
    ({"azure": {"subscriptionId": "not-a-guid"}}, "subscriptionId"),
    ({"allowList": {"team-a": ["/subscriptions/x/resourceGroups/../../secrets"]}}, "allowList"),
    ({"watchNamespaces": ["Team_A"]}, "watchNamespaces"),
    ({"metrics": {"port": 70000}}, "port"),
    ({"metrics": {"bindAddress": "http://0.0.0.0:8080"}}, "bindAddress"),
    ({"networkPolicy": {"egress": {"azure": {"cidrs": ["anywhere"]}}}}, "cidrs"),
], ids=["replicas-string", "replicas-two", "unknown-top-level-key", "log-format",
        "subscription", "allow-list-scope", "namespace-name", "port-range", "bind-address",
        "network-policy-cidr"])
def test_schema_rejects_bad_values(values: dict[str, Any], needle: str) -> None:
    report = helm.lint(CHART, values, namespace=NAMESPACE)
    assert any(needle in e for e in report["errors"]), report
    with pytest.raises(helm.HelmError) as exc:
        render_files(values)
    assert needle in str(exc.value)


def test_schema_accepts_every_case() -> None:
    with helm.Chart.load(CHART) as chart:
        for values in CASES.values():
            chart.validate_schema(values)


# --- deployment -------------------------------------------------------------------------

def test_single_replica_recreated_never_rolled(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Without leader election two pods would both reconcile: one replica, Recreate."""
    docs = rendered["no-leader-election"]
    spec = one(docs, "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert env(docs)["BIO_LEADER_ELECTION"] == "off"
    assert of_kind(docs, "PodDisruptionBudget") == []
    assert [r for r in of_kind(docs, "Role")
            if r["metadata"]["name"].endswith("-leader-election")] == []


def test_two_replicas_elect_a_leader_and_roll(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["defaults"]
    spec = one(docs, "Deployment")["spec"]
    assert spec["replicas"] == 2
    # The new pod starts as a standby before the old one stops (and hands over).
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    values = env(docs)
    assert values["BIO_LEADER_ELECTION"] == "on"
    assert values["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert values["BIO_LEASE_NAMESPACE"] == "$(POD_NAMESPACE)"  # expanded by the kubelet
    names = [e["name"] for e in container(docs)["env"]]
    assert names.index("POD_NAMESPACE") < names.index("BIO_LEASE_NAMESPACE")
    assert values["BIO_LEASE_NAME"] == FULLNAME
    assert (values["BIO_LEASE_DURATION"], values["BIO_LEASE_RENEW_DEADLINE"],
            values["BIO_LEASE_RETRY_PERIOD"]) == ("15", "10", "2")
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["metadata"]["namespace"] == NAMESPACE
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]


def test_lease_timings_and_name_are_values() -> None:
    docs = render(merged({"leaderElection": {"leaseName": "shard-a", "leaseDuration": 30,
                                             "renewDeadline": 20, "retryPeriod": 4}}))
    values = env(docs)
    assert values["BIO_LEASE_NAME"] == "shard-a"
    assert (values["BIO_LEASE_DURATION"], values["BIO_LEASE_RENEW_DEADLINE"],
            values["BIO_LEASE_RETRY_PERIOD"]) == ("30", "20", "4")
    role = next(r for r in of_kind(docs, "Role")
                if r["metadata"]["name"].endswith("-leader-election"))
    assert any(rule.get("resourceNames") == ["shard-a"] for rule in role["rules"])


def test_no_disruption_budget_for_a_single_replica() -> None:
    # minAvailable 1 of one pod would block every node drain for good.
    assert of_kind(render(merged({"replicaCount": 1})), "PodDisruptionBudget") == []
    assert of_kind(render(merged({"podDisruptionBudget": {"enabled": False}})),
                   "PodDisruptionBudget") == []


def test_leases_are_granted_in_the_release_namespace_only(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for case in ("defaults", "namespaced"):
        docs = rendered[case]
        lease_rules = [(role, rule) for kind in ("Role", "ClusterRole")
                       for role, rule in rules(docs, kind) if "leases" in rule["resources"]]
        assert {role["metadata"]["namespace"] for role, _ in lease_rules} == {NAMESPACE}
        assert sorted((tuple(rule["verbs"]), tuple(rule.get("resourceNames", [])))
                      for _, rule in lease_rules) == [(("create",), ()),
                                                      (("get", "update"), (FULLNAME,))]
        assert all(rule["apiGroups"] == ["coordination.k8s.io"] for _, rule in lease_rules)
        role = lease_rules[0][0]
        binding = next(b for b in of_kind(docs, "RoleBinding")
                       if b["roleRef"]["name"] == role["metadata"]["name"])
        assert binding["metadata"]["namespace"] == NAMESPACE
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME,
                                        "namespace": NAMESPACE}]


def test_pod_is_hardened(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for docs in rendered.values():
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        ctx = container(docs)["securityContext"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 65532
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 65532
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        # a read-only root still needs a writable /tmp
        tmp = next(m for m in container(docs)["volumeMounts"] if m["mountPath"] == "/tmp")
        volume = next(v for v in pod["volumes"] if v["name"] == tmp["name"])
        assert "emptyDir" in volume


def test_ports_probes_and_resources(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["defaults"]
    c = container(docs)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["resources"]["requests"] == {"cpu": "50m", "memory": "128Mi"}
    assert c["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    values = env(docs)
    assert values["BIO_METRICS_PORT"] == "8080" and values["BIO_HEALTH_PORT"] == "8081"
    # The operator binds loopback by default; in the pod, Prometheus and the kubelet
    # come in on the pod IP, so the chart asks for every address explicitly.
    assert values["BIO_METRICS_HOST"] == "0.0.0.0" and values["BIO_HEALTH_HOST"] == "0.0.0.0"


def test_bind_addresses_are_values() -> None:
    values = env(render(merged({"metrics": {"bindAddress": "::"},
                                "health": {"bindAddress": "10.1.2.3"}})))
    assert values["BIO_METRICS_HOST"] == "::" and values["BIO_HEALTH_HOST"] == "10.1.2.3"


# --- NetworkPolicy ----------------------------------------------------------------------

def test_no_network_policy_by_default(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert of_kind(rendered["defaults"], "NetworkPolicy") == []


def _egress_ports(policy: dict[str, Any]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    out: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for rule in policy["spec"]["egress"]:
        for port in rule["ports"]:
            out.setdefault((port["port"], port["protocol"]), []).extend(rule.get("to", [{}]))
    return out


def test_network_policy_admits_only_metrics_scrapes_and_needed_egress(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["network-policy"]
    policy = one(docs, "NetworkPolicy")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == \
        one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    # In: the metrics port only (not health: the kubelet's probes are not pod traffic),
    # and by default only from pods of the release's own namespace.
    assert spec["ingress"] == [{"ports": [{"port": "metrics", "protocol": "TCP"}],
                                "from": [{"podSelector": {}}]}]
    egress = _egress_ports(policy)
    assert set(egress) == {(443, "TCP"), (6443, "TCP"), (53, "UDP"), (53, "TCP")}
    assert {"ipBlock": {"cidr": "0.0.0.0/0"}} in egress[(443, "TCP")]
    assert egress[(53, "UDP")] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]


def test_network_policy_selectors_and_cidrs_come_from_values(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    policy = one(rendered["network-policy-selectors"], "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == [{
        "namespaceSelector": {"matchLabels": {"team": "monitoring"}},
        "podSelector": {"matchLabels": {"app": "prometheus"}}}]
    egress = _egress_ports(policy)
    assert set(egress) == {(443, "TCP"), (53, "UDP"), (53, "TCP")}
    assert sorted(t["ipBlock"]["cidr"] for t in egress[(443, "TCP")]) == [
        "10.0.0.1/32", "20.0.0.0/8"]


def test_operator_env_from_values() -> None:
    docs = render(merged({
        "operator": {"pollInterval": 5, "driftInterval": 600, "blockedRetry": 30,
                     "logFormat": "json"},
        "azure": {"tenantId": TENANT, "clientId": CLIENT},
        "extraEnv": [{"name": "BIO_AZURE_RETRY_TOTAL", "value": "5"}],
    }))
    values = env(docs)
    assert values["AZURE_SUBSCRIPTION_ID"] == SUBSCRIPTION
    assert values["AZURE_TENANT_ID"] == TENANT
    assert values["AZURE_CLIENT_ID"] == CLIENT
    assert values["BIO_POLL_INTERVAL"] == "5"
    assert values["BIO_DRIFT_INTERVAL"] == "600"
    assert values["BIO_BLOCKED_RETRY"] == "30"
    assert values["BIO_LOG_FORMAT"] == "json"
    assert values["BIO_AZURE_RETRY_TOTAL"] == "5"
    assert "BIO_NAMESPACES" not in values


def test_image_defaults_to_app_version_and_scheduling_values_pass_through() -> None:
    docs = render(merged({
        "image": {"repository": "registry.example/bio", "tag": "1.2.3", "pullPolicy": "Always"},
        "imagePullSecrets": [{"name": "regcred"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops",
                         "effect": "NoSchedule"}],
        "podAnnotations": {"example.com/team": "hpc"},
    }))
    pod = one(docs, "Deployment")["spec"]["template"]
    assert container(docs)["image"] == "registry.example/bio:1.2.3"
    assert container(docs)["imagePullPolicy"] == "Always"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["spec"]["tolerations"][0]["key"] == "dedicated"
    assert pod["metadata"]["annotations"]["example.com/team"] == "hpc"
    with helm.Chart.load(CHART) as chart:
        app_version = chart.metadata["appVersion"]
    assert container(render(merged()))["image"].endswith(f":{app_version}")


# --- RBAC -------------------------------------------------------------------------------

OWN_VERBS = {"get", "list", "watch", "patch"}


def _verbs(docs: list[dict[str, Any]], kind: str, group: str, resource: str) -> set[str]:
    return {v for _, rule in rules(docs, kind)
            if group in rule["apiGroups"] and resource in rule["resources"]
            for v in rule["verbs"]}


def test_cluster_wide_mode_grants_exactly_what_the_operator_needs(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = _without_lease_role(_operator_rbac(rendered["defaults"]))
    assert of_kind(docs, "Role") == [] and of_kind(docs, "RoleBinding") == []
    for plural in ("managedimages", "batchpools"):
        assert _verbs(docs, "ClusterRole", "batchimage.dev", plural) == OWN_VERBS
        assert _verbs(docs, "ClusterRole", "batchimage.dev", f"{plural}/status") == {"patch"}
    assert _verbs(docs, "ClusterRole", "", "events") == {"create"}
    assert _verbs(docs, "ClusterRole", "events.k8s.io", "events") == set()
    assert _verbs(docs, "ClusterRole", "apiextensions.k8s.io",
                  "customresourcedefinitions") == {"get", "list", "watch"}
    assert _verbs(docs, "ClusterRole", "", "namespaces") == {"get", "list", "watch"}
    # least privilege: no wildcard, no create/delete on anything but events
    for _, rule in rules(docs, "ClusterRole"):
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert not {"delete", "deletecollection", "update"} & set(rule["verbs"])
    binding = one(docs, "ClusterRoleBinding")
    sa = one(docs, "ServiceAccount")
    assert binding["roleRef"]["name"] == one(docs, "ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": NAMESPACE}]


def test_namespaced_mode_grants_nothing_cluster_wide_but_crd_discovery(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = _without_lease_role(_operator_rbac(rendered["namespaced"]))
    for _, rule in rules(docs, "ClusterRole"):
        if rule["apiGroups"] == [""]:
            # The one exception, read-only: Kopf scans namespaces even with a fixed list
            # (the real apiserver showed its 403s), and kube-system's uid names the cluster.
            assert rule == {"apiGroups": [""], "resources": ["namespaces"],
                            "verbs": ["get", "list", "watch"]}, rule
            continue
        assert rule["apiGroups"] == ["apiextensions.k8s.io"], rule
        assert set(rule["verbs"]) == {"get", "list", "watch"}
    assert _verbs(docs, "Role", "", "namespaces") == set()
    roles = {r["metadata"]["namespace"]: r for r in of_kind(docs, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in of_kind(docs, "RoleBinding")}
    assert set(roles) == set(bindings) == {"team-a", "team-b"}
    for ns, role in roles.items():
        own = [r for r in role["rules"] if "batchimage.dev" in r["apiGroups"]]
        assert any(grants(r, "batchimage.dev", "managedimages", "watch") for r in own)
        assert any(grants(r, "batchimage.dev", "batchpools/status", "patch") for r in own)
        assert any(grants(r, "", "events", "create") for r in role["rules"])
        assert bindings[ns]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                           "kind": "Role", "name": role["metadata"]["name"]}
        assert bindings[ns]["subjects"][0]["namespace"] == NAMESPACE
    assert env(docs)["BIO_NAMESPACES"] == "team-a,team-b"


@pytest.mark.parametrize("case", CASES)
def test_secrets_are_readable_only_with_a_namespace_credential_secret(
        case: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered[case]
    secret_rules = [(role, rule) for kind in ("Role", "ClusterRole")
                    for role, rule in rules(docs, kind) if "secrets" in rule["resources"]]
    if "credentials" not in case:
        assert secret_rules == []
        assert "BIO_NAMESPACE_CREDENTIAL_SECRET" not in env(docs)
        return
    assert env(docs)["BIO_NAMESPACE_CREDENTIAL_SECRET"] == "azure-creds"
    expected_kind = "Role" if case.startswith("namespaced") else "ClusterRole"
    assert {role["kind"] for role, _ in secret_rules} == {expected_kind}
    for _, rule in secret_rules:
        assert rule["verbs"] == ["get"]
        assert rule["resourceNames"] == ["azure-creds"]
    if expected_kind == "Role":
        assert {role["metadata"]["namespace"] for role, _ in secret_rules} == {"team-a", "team-b"}


AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"


def _tenant_roles(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ClusterRoles meant for users (aggregated into edit/admin/view), by suffix."""
    return {d["metadata"]["name"].rsplit("-", 1)[-1]: d for d in of_kind(docs, "ClusterRole")
            if any(k.startswith(AGGREGATE) for k in d["metadata"].get("labels", {}))}


def _without_lease_role(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The operator's grants on resources, leaving out the leader election Role and its
    binding (checked by test_leases_are_granted_in_the_release_namespace_only)."""
    lease = f"{FULLNAME}-leader-election"
    return [d for d in docs if not (d["kind"] in ("Role", "RoleBinding")
                                    and d["metadata"]["name"] == lease)]


def _operator_rbac(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everything but the tenant roles: what the operator's own ServiceAccount gets."""
    tenant = [id(d) for d in _tenant_roles(docs).values()]
    return [d for d in docs if id(d) not in tenant]


@pytest.mark.parametrize("case", CASES)
def test_tenant_roles_aggregate_into_edit_admin_and_view_without_status_or_secrets(
        case: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered[case]
    roles = _tenant_roles(docs)
    assert set(roles) == {"edit", "view"}
    labels = {k: v for k, v in roles["edit"]["metadata"]["labels"].items()
              if k.startswith(AGGREGATE)}
    assert labels == {f"{AGGREGATE}edit": "true", f"{AGGREGATE}admin": "true"}
    assert {k: v for k, v in roles["view"]["metadata"]["labels"].items()
            if k.startswith(AGGREGATE)} == {f"{AGGREGATE}view": "true"}
    expected = {"edit": {"create", "update", "patch", "delete", "get", "list", "watch"},
                "view": {"get", "list", "watch"}}
    for name, role in roles.items():
        for rule in role["rules"]:
            # Only the two kinds themselves: no status (the operator's), no secrets, no '*'.
            assert rule["apiGroups"] == ["batchimage.dev"], rule
            assert sorted(rule["resources"]) == ["batchpools", "managedimages"], rule
            assert not [r for r in rule["resources"] if "/" in r or r in ("secrets", "*")]
            assert set(rule["verbs"]) == expected[name], rule
    # Nothing binds them: the built-in roles pick them up through their labels.
    bound = {b["roleRef"]["name"] for b in of_kind(docs, "ClusterRoleBinding")
             + of_kind(docs, "RoleBinding")}
    assert not bound & {r["metadata"]["name"] for r in roles.values()}


def test_tenant_roles_can_be_left_out() -> None:
    assert _tenant_roles(render(merged({"rbac": {"aggregateToTenantRoles": False}}))) == {}


def test_rbac_can_be_left_to_the_installer() -> None:
    docs = render(merged({"rbac": {"create": False},
                          "serviceAccount": {"create": False, "name": "platform-operator"}}))
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
                        "ServiceAccount"}
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "platform-operator"


# --- Azure credentials ------------------------------------------------------------------

def test_workload_identity_annotates_the_service_account_and_labels_the_pod(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["workload-identity"]
    sa = one(docs, "ServiceAccount")
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == CLIENT
    labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    assert "AZURE_CLIENT_SECRET" not in env(docs)
    # and not when it is off
    plain = rendered["defaults"]
    assert "azure.workload.identity/client-id" not in (
        one(plain, "ServiceAccount")["metadata"].get("annotations") or {})
    assert "azure.workload.identity/use" not in (
        one(plain, "Deployment")["spec"]["template"]["metadata"]["labels"])


def test_workload_identity_needs_a_client_id() -> None:
    with pytest.raises(helm.HelmError, match=r"azure\.clientId"):
        render_files(merged({"azure": {"workloadIdentity": {"enabled": True}}}))


def test_existing_secret_is_referenced_not_created(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["existing-secret"]
    assert of_kind(docs, "Secret") == []
    assert env(docs)["AZURE_CLIENT_SECRET"] == {
        "secretKeyRef": {"name": "sp-cred", "key": "password"}}


def test_created_secret_holds_the_value_and_the_deployment_never_does(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["create-secret"]
    secret = one(docs, "Secret")
    assert base64.b64decode(secret["data"]["clientSecret"]).decode() == SECRET_VALUE
    ref = env(docs)["AZURE_CLIENT_SECRET"]["secretKeyRef"]
    assert ref == {"name": secret["metadata"]["name"], "key": "clientSecret"}
    deployment_text = yaml.safe_dump(one(docs, "Deployment"))
    assert SECRET_VALUE not in deployment_text
    assert secret["data"]["clientSecret"] not in deployment_text
    assert hashlib.sha256(SECRET_VALUE.encode()).hexdigest() not in deployment_text
    for doc in docs:
        if doc["kind"] != "Secret":
            assert SECRET_VALUE not in json.dumps(doc)


def test_created_secret_requires_a_value_and_excludes_existing_secret() -> None:
    with pytest.raises(helm.HelmError, match=r"clientSecret\.value"):
        render_files(merged({"azure": {"clientSecret": {"create": True}}}))
    with pytest.raises(helm.HelmError, match="either existingSecret or create"):
        render_files(merged({"azure": {"clientSecret": {"create": True, "value": "x",
                                                        "existingSecret": "y"}}}))


def test_no_credentials_means_managed_identity(rendered: dict[str, list[dict[str, Any]]]) -> None:
    values = env(rendered["defaults"])
    assert not {"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} & set(values)
    assert of_kind(rendered["defaults"], "Secret") == []


# --- allow-list -------------------------------------------------------------------------

def test_allow_list_is_mounted_where_the_env_points(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["allow-list"]
    configmap = one(docs, "ConfigMap")
    assert yaml.safe_load(configmap["data"]["allowlist.yaml"]) == CASES["allow-list"]["allowList"]
    path = env(docs)["BIO_ALLOWLIST_FILE"]
    assert path == "/etc/batch-image-operator/allowlist.yaml"
    mount = next(m for m in container(docs)["volumeMounts"]
                 if path.startswith(m["mountPath"] + "/"))
    assert mount["readOnly"] is True
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    item = volume["configMap"]["items"][0]
    assert mount["mountPath"] + "/" + item["path"] == path
    assert item["key"] == "allowlist.yaml"


def test_allow_list_change_restarts_the_pod(rendered: dict[str, list[dict[str, Any]]]) -> None:
    def checksum(docs: list[dict[str, Any]]) -> str:
        annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/allowlist"])

    changed = render(merged({"allowList": {"*": [f"/subscriptions/{SUBSCRIPTION}"]}}))
    assert checksum(rendered["allow-list"]) != checksum(changed)


def test_unrestricted_is_said_explicitly_and_mounts_no_file(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["chart-defaults"]
    assert of_kind(docs, "ConfigMap") == []
    assert env(docs)["BIO_ALLOWLIST_FILE"] == "unrestricted"


@pytest.mark.parametrize("values", [{}, {"azure": {"subscriptionId": SUBSCRIPTION}},
                                    {"allowList": {}}])
def test_no_allow_list_fails_the_install_saying_how_to_set_it(values: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="allowList is required") as err:
        render(values)
    assert "unrestricted" in str(err.value) and "--set-json" in str(err.value)


@pytest.mark.parametrize("bad", ["open", "", [], {"*": "not-a-list"}])
def test_a_malformed_allow_list_is_refused_by_the_schema(bad: Any) -> None:
    with pytest.raises(Exception, match="allowList"):
        render(merged({"allowList": bad}))


# --- metrics ----------------------------------------------------------------------------

def test_metrics_service_targets_the_metrics_port(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["defaults"]
    service = one(docs, "Service")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080,
                                         "targetPort": "metrics", "protocol": "TCP"}]
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert of_kind(docs, "ServiceMonitor") == []


def test_service_monitor_scrapes_the_metrics_service(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["service-monitor"]
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items())
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


# --- names and notes --------------------------------------------------------------------

def test_objects_are_named_after_the_release(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["defaults"]
    assert one(docs, "Deployment")["metadata"]["name"] == FULLNAME
    for doc in docs:
        if doc["kind"] not in {"ClusterRole", "ClusterRoleBinding"}:
            assert doc["metadata"]["namespace"] == NAMESPACE


def test_notes_say_which_pod_leads() -> None:
    notes = next(v for k, v in render_files(merged()).items() if k.endswith("NOTES.txt"))
    assert f"kubectl -n {NAMESPACE} get lease {FULLNAME}" in notes
    alone = merged({"replicaCount": 1, "leaderElection": {"enabled": False}})
    notes = next(v for k, v in render_files(alone).items() if k.endswith("NOTES.txt"))
    assert "get lease" not in notes


def test_notes_say_how_to_check_and_warn_without_subscription() -> None:
    notes = next(v for k, v in render_files(merged()).items() if k.endswith("NOTES.txt"))
    assert f"rollout status deployment/{FULLNAME}" in notes
    assert "kubectl apply -f examples/snapshots/managedimage.yaml" in notes
    assert "WARNING" not in notes
    bare = next(v for k, v in render_files({"allowList": "unrestricted"}).items()
                if k.endswith("NOTES.txt"))
    assert "WARNING: azure.subscriptionId is empty" in bare
