"""The policies, guards and ownership scenarios of tests/integration, re-run on the real
kube-apiserver with the operator holding only the chart's grants (a TokenRequest token for
its ServiceAccount, namespaced mode): the allow-list refusal, the lineage limit, the
ExistsNotOwned refusals of a pre-existing unmarked Azure pool and image, and the in-use
guard that keeps an image while an Azure pool uses it. The scenario code is the kubesim
suites' own (collected here again), given this module's fixtures; each run also asserts
that the real server refused none of the operator's requests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from batch_image_operator import GROUP, VERSION
from helpers.realkube import load_test_module
from helpers.realkube_chart import SERVED, forbidden_requests, operator_as_service_account
from helpers.system import SEED, SUB, CRs, OperatorHandle, StartOperator
from realkube.launch import RealKube
from simlaunch import Emulator, run_azuresim

pytestmark = pytest.mark.realkube

guards = load_test_module("integration/test_guards.py")
policies = load_test_module("integration/test_policies.py")
ownership = load_test_module("integration/test_attacks_ownership.py")

test_allow_list_refusal = guards.test_allow_list_keeps_a_namespace_out_of_other_subscriptions
test_lineage_limit = guards.test_limit_per_image_lineage_is_enforced_before_azure
test_in_use_guard = policies.test_pools_in_azure_protect_the_image_too
test_unmarked_azure_pool = ownership.test_a_pool_naming_someone_elses_azure_pool_is_not_adopted
test_unmarked_azure_image = \
    ownership.test_an_image_naming_someone_elses_azure_image_is_not_rewritten_or_deleted


@pytest.fixture
def azuresim(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh azuresim per scenario, seeded as in the kubesim suites."""
    with run_azuresim(tmp_path / "azuresim", "--seed", str(SEED), "--subscription-id", SUB,
                      "--lro-seconds", "0.3", "--allocation-seconds", "1") as sim:
        yield sim


@pytest.fixture
def crs(api: client.ApiClient) -> Iterator[CRs]:
    """The served namespace, as the user (admin) sees it; emptied after each scenario
    (finalizers of a stopped operator dropped), events included, for the next one."""
    yield CRs(api, SERVED)
    custom = client.CustomObjectsApi(api)
    for plural in ("batchpools", "managedimages"):
        for obj in custom.list_namespaced_custom_object(GROUP, VERSION, SERVED,
                                                        plural)["items"]:
            name = obj["metadata"]["name"]
            custom.patch_namespaced_custom_object(GROUP, VERSION, SERVED, plural, name,
                                                  {"metadata": {"finalizers": None}})
            with contextlib.suppress(client.ApiException):
                custom.delete_namespaced_custom_object(GROUP, VERSION, SERVED, plural, name)
            CRs(api, SERVED).wait_deleted(plural, name)
    client.CoreV1Api(api).delete_collection_namespaced_event(SERVED)


@pytest.fixture
def start_operator(realkube: RealKube, api: client.ApiClient,
                   azuresim: Emulator) -> StartOperator:
    @contextlib.contextmanager
    def start(**overrides: Any) -> Iterator[OperatorHandle]:
        with operator_as_service_account(realkube, api, azuresim.env,
                                         **overrides) as operator:
            yield operator
        refused = forbidden_requests(str(operator.runner.output))
        assert not refused, f"the real server refused the chart's ServiceAccount: {refused}"
    return start
