"""The chart on the real kube-apiserver, installed through Helm's Go SDK: RBAC as the real
server enforces it. The operator runs as the chart's ServiceAccount (a TokenRequest token)
through the snapshots lifecycle, in the namespaced and the cluster-wide mode, and holds
the leader Lease, so the chart grants enough (test_realkube_scenarios: more scenarios);
SubjectAccessReviews show it grants no more: no Secret outside the credential Secret of
the namespaces it serves, no create/update/delete of the custom resources (their `spec`
is the user's), no editing of events, no RBAC."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from batch_image_operator.kube.api import KubeApi, KubeApiError
from batch_image_operator.kube.leader import LeaderElector, LeaseStore, new_identity
from batch_image_operator.planning.lease import Fence, LeaseTimings
from helpers.realkube import kopf_connection
from helpers.realkube_chart import (
    CLUSTER_FULLNAME,
    CLUSTER_NAMESPACE,
    CLUSTER_RELEASE,
    CREDENTIAL,
    OTHER,
    SERVED,
    USER,
    chart,
    forbidden_requests,
    install,
    operator_as_service_account,
    service_account_token,
)
from helpers.system import (
    SEED,
    SUB,
    CRs,
    azure_sdk,
    condition,
    has_condition,
    load_example,
    running_operator,
)
from realkube.launch import RealKube
from simlaunch import Emulator, run_azuresim

pytestmark = pytest.mark.realkube


def allowed(api: client.ApiClient, verb: str, resource: str, *, namespace: str = "",
            group: str = "", name: str = "", subresource: str = "") -> bool:
    attributes: dict[str, Any] = {"verb": verb, "resource": resource, "group": group,
                                  "namespace": namespace, "name": name,
                                  "subresource": subresource}
    review = client.AuthorizationV1Api(api).create_subject_access_review(
        client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=USER, groups=["system:serviceaccounts",
                               f"system:serviceaccounts:{chart.NAMESPACE}"],
            resource_attributes=client.V1ResourceAttributes(
                **{k: v for k, v in attributes.items() if v}))))
    return bool(review.status.allowed)


def test_the_service_account_gets_what_the_operator_needs(api: client.ApiClient) -> None:
    group = "batchimage.dev"
    for resource in ("managedimages", "batchpools"):
        for verb in ("get", "list", "watch", "patch"):
            assert allowed(api, verb, resource, namespace=SERVED, group=group), (verb, resource)
        assert allowed(api, "patch", resource, namespace=SERVED, group=group,
                       subresource="status")
    assert allowed(api, "create", "events", namespace=SERVED)
    assert allowed(api, "get", "secrets", namespace=SERVED, name=CREDENTIAL)
    assert allowed(api, "get", "namespaces", name="kube-system")
    assert allowed(api, "list", "customresourcedefinitions", group="apiextensions.k8s.io")


def test_no_secret_outside_the_credential_secret_of_served_namespaces(
        api: client.ApiClient) -> None:
    assert not allowed(api, "get", "secrets", namespace=OTHER, name=CREDENTIAL)
    assert not allowed(api, "get", "secrets", namespace=chart.NAMESPACE, name=CREDENTIAL)
    assert not allowed(api, "get", "secrets", namespace=SERVED, name="another-secret")
    for verb in ("list", "watch", "create", "update", "patch", "delete"):
        assert not allowed(api, verb, "secrets", namespace=SERVED), verb
        assert not allowed(api, verb, "secrets"), verb


def test_no_create_update_or_delete_of_the_custom_resources(api: client.ApiClient) -> None:
    """The user owns `spec`: the operator may patch metadata (its finalizer) and status,
    never create, replace or delete the objects. (RBAC cannot tell a metadata patch from a
    spec patch; that the operator never patches `spec` is the operator's own tests' job.)"""
    for resource in ("managedimages", "batchpools"):
        for verb in ("create", "update", "delete", "deletecollection"):
            assert not allowed(api, verb, resource, namespace=SERVED,
                               group="batchimage.dev"), (verb, resource)
        assert not allowed(api, "patch", resource, namespace=OTHER, group="batchimage.dev")
        assert not allowed(api, "update", resource, namespace=SERVED, group="batchimage.dev",
                           subresource="status")


def test_events_are_posted_never_read_edited_or_deleted(api: client.ApiClient) -> None:
    """Kopf only creates core/v1 events: the token cannot rewrite or remove what other
    components reported in the namespaces it serves, nor post through events.k8s.io."""
    for verb in ("get", "list", "watch", "update", "patch", "delete", "deletecollection"):
        assert not allowed(api, verb, "events", namespace=SERVED), verb
    for verb in ("create", "update", "patch", "delete"):
        assert not allowed(api, verb, "events", namespace=SERVED, group="events.k8s.io"), verb


def test_no_rbac_objects(api: client.ApiClient) -> None:
    group = "rbac.authorization.k8s.io"
    for resource in ("roles", "rolebindings", "clusterroles", "clusterrolebindings"):
        for verb in ("get", "list", "create", "update", "patch", "delete", "bind", "escalate"):
            assert not allowed(api, verb, resource, group=group), (verb, resource)
            assert not allowed(api, verb, resource, namespace=SERVED, group=group), (verb,
                                                                                     resource)
    assert not allowed(api, "create", "serviceaccounts", namespace=SERVED, subresource="token")
    assert not allowed(api, "impersonate", "users")


def as_token(realkube: RealKube, token: str) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(realkube.kubeconfig), client_configuration=cfg)
    cfg.cert_file = cfg.key_file = None
    cfg.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(cfg)


def test_the_issued_token_authenticates_as_the_service_account(
        realkube: RealKube, api: client.ApiClient) -> None:
    with as_token(realkube, service_account_token(api)) as sa:
        review = client.AuthenticationV1Api(sa).create_self_subject_review(
            client.V1SelfSubjectReview())
        assert review.status.user_info.username == USER
        client.CustomObjectsApi(sa).list_namespaced_custom_object(
            "batchimage.dev", "v1alpha1", SERVED, "batchpools")
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(sa).list_namespaced_secret(OTHER)
        assert refused.value.status == 403


async def test_the_leader_lease_as_the_service_account(realkube: RealKube,
                                                      api: client.ApiClient) -> None:
    """Leader election is on by default: the operator's own elector, holding the token,
    creates, renews and releases the Lease the chart's Deployment names; no other."""
    deployment = client.AppsV1Api(api).read_namespaced_deployment(chart.FULLNAME,
                                                                  chart.NAMESPACE)
    variables = deployment.spec.template.spec.containers[0].env
    env = {e.name: e.value for e in variables}
    assert env["BIO_LEADER_ELECTION"] == "on"
    # The kubelet expands $(POD_NAMESPACE), set from the pod's own namespace.
    assert {e.name: e.value_from.field_ref.field_path for e in variables
            if e.value_from and e.value_from.field_ref}["POD_NAMESPACE"] == "metadata.namespace"
    namespace = env["BIO_LEASE_NAMESPACE"].replace("$(POD_NAMESPACE)",
                                                   deployment.metadata.namespace)
    token = service_account_token(api)
    kube = KubeApi(lambda: kopf_connection(realkube, token), connections=2)
    timings = LeaseTimings()
    try:
        elector = LeaderElector(LeaseStore(kube, namespace, env["BIO_LEASE_NAME"]),
                                new_identity(), timings,
                                Fence(timings.renew_deadline, time.monotonic))
        assert await elector.try_acquire_or_renew()  # create
        assert await elector.try_acquire_or_renew()  # get and update
        assert await elector.release(within=10)
        with pytest.raises(KubeApiError, match="HTTP 403"):
            await LeaseStore(kube, namespace, "another-lease").get()
    finally:
        await kube.close()


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with run_azuresim(tmp_path_factory.mktemp("azuresim"), "--seed", str(SEED),
                      "--subscription-id", SUB, "--lro-seconds", "0.3",
                      "--allocation-seconds", "1") as sim:
        yield sim


@pytest.fixture(scope="module")
def cluster_wide(realkube: RealKube, api: client.ApiClient) -> str:
    """The chart's default mode, a second release: a namespace of its own to serve."""
    install(realkube, CLUSTER_RELEASE, CLUSTER_NAMESPACE, chart.merged())
    namespace = "team-any"
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    return namespace


@pytest.fixture(scope="module", params=["namespaced", "cluster-wide"])
def lifecycle_log(request: pytest.FixtureRequest, realkube: RealKube, api: client.ApiClient,
                  azure: Emulator) -> str:
    """The snapshots example end to end with the operator holding only the chart's grants,
    in either of its modes: a missing permission the operator needs would keep the
    objects from ever getting Ready or going away. Returns the operator's log."""
    if request.param == "namespaced":
        namespace = SERVED
        operating = operator_as_service_account(realkube, api, azure.env)
    else:
        namespace = request.getfixturevalue("cluster_wide")
        token = service_account_token(api, CLUSTER_FULLNAME, CLUSTER_NAMESPACE)
        operating = running_operator(realkube.url, azure.env,
                                     connection=kopf_connection(realkube, token))
    docs = {d["kind"]: copy.deepcopy(d) for d in load_example("snapshots")}
    image, pool = docs["ManagedImage"], docs["BatchPool"]
    name_image, name_pool = image["metadata"]["name"], pool["metadata"]["name"]
    crs = CRs(api, namespace)
    compute, batch = azure_sdk(azure.env)
    with operating as operator:
        crs.create(pool)
        crs.wait("batchpools", name_pool, has_condition("ImageResolved", "False", "ImageNotFound"))
        crs.create(image)
        crs.wait("managedimages", name_image, has_condition("Ready"), timeout=120)
        crs.wait("batchpools", name_pool, has_condition("Ready"), timeout=120)

        crs.delete("managedimages", name_image)
        blocked = crs.wait("managedimages", name_image, has_condition("DeletionBlocked"))
        assert name_pool in condition(blocked, "DeletionBlocked")["message"]
        assert crs.wait_event(name_image, "DeletionBlocked")["type"] == "Warning"

        crs.delete("batchpools", name_pool)
        crs.wait_deleted("batchpools", name_pool, timeout=120)
        crs.wait_deleted("managedimages", name_image, timeout=120)
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(image["spec"]["resourceGroup"], name_image)
    with pytest.raises(ResourceNotFoundError):
        batch.pool.get(pool["spec"]["account"]["resourceGroup"],
                       pool["spec"]["account"]["name"], name_pool)
    return str(operator.runner.output)


def test_lifecycle_as_the_charts_service_account(lifecycle_log: str) -> None:
    """Everything the operator itself does is granted (the next test: nothing at all is
    refused, Kopf's scan of namespaces included)."""
    assert {request.split("/api", 1)[-1] for request in forbidden_requests(lifecycle_log)} \
        <= {"/v1/namespaces"}, forbidden_requests(lifecycle_log)


def test_no_request_of_the_operator_is_forbidden(lifecycle_log: str) -> None:
    assert not forbidden_requests(lifecycle_log)
