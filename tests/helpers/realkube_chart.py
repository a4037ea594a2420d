"""The chart installed on realkube and the operator run as its ServiceAccount: what the
RBAC tests and the scenario re-runs share."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import helm_python as helm
from kubernetes import client, config

from helpers import chart
from helpers.realkube import kopf_connection
from helpers.system import OperatorHandle, running_operator
from realkube.launch import RealKube

SERVED, OTHER = "team-served", "team-other"
CREDENTIAL = "azure-credential"
USER = f"system:serviceaccount:{chart.NAMESPACE}:{chart.FULLNAME}"
# A second release in the chart's default, cluster-wide mode (no watchNamespaces).
CLUSTER_RELEASE, CLUSTER_NAMESPACE = "bio-all", "bio-all-system"
CLUSTER_FULLNAME = f"{CLUSTER_RELEASE}-batch-image-operator"


def install(realkube: RealKube, release: str, namespace: str, values: dict[str, Any]) -> None:
    """One release of the chart, through Helm's Go SDK."""
    with helm.Config(kubeconfig_path=str(realkube.kubeconfig), namespace=namespace) as cfg:
        installed = cfg.install(chart.CHART, release, values, create_namespace=True,
                                timeout=120)
    assert installed["status"] == "deployed"


@contextlib.contextmanager
def chart_installed(realkube: RealKube) -> Iterator[client.ApiClient]:
    """The admin's client, once the chart is installed through Helm's Go SDK in namespaced
    mode, serving SERVED (its credential Secret CREDENTIAL) and not OTHER."""
    with config.new_client_from_config(str(realkube.kubeconfig)) as api_client:
        core = client.CoreV1Api(api_client)
        for ns in (SERVED, OTHER):
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        install(realkube, chart.RELEASE, chart.NAMESPACE,
                chart.merged({"watchNamespaces": [SERVED],
                              "azure": {"namespaceCredentialSecret": CREDENTIAL}}))
        yield api_client


def service_account_token(api: client.ApiClient, name: str = chart.FULLNAME,
                          namespace: str = chart.NAMESPACE) -> str:
    """A token for a release's ServiceAccount, from the TokenRequest API."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    issued = client.CoreV1Api(api).create_namespaced_service_account_token(
        name, namespace, request)
    return str(issued.status.token)


def operator_as_service_account(realkube: RealKube, api: client.ApiClient,
                                azure_env: Mapping[str, str], **overrides: str
                                ) -> contextlib.AbstractContextManager[OperatorHandle]:
    """The operator in-process against realkube holding only the chart's grants (a
    TokenRequest token, the chart's namespaced mode) and against ``azure_env``."""
    return running_operator(realkube.url, azure_env,
                            connection=kopf_connection(realkube, service_account_token(api)),
                            BIO_NAMESPACES=SERVED, **overrides)


def forbidden_requests(log: str) -> set[str]:
    """The API requests the operator's log reports refused (403) by the server (Kopf
    logs each refused attempt, its event posts included)."""
    return set(re.findall(r"failed; (?:will retry|escalating): (\w+ \S+) -> APIForbiddenError",
                          log))
