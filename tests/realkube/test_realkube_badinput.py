"""tests/badinput's invalid specs on the real kube-apiserver and on kubesim side by side:
each is refused (422) by both or admitted by both, so what the operator is shown to
condition on kubesim is exactly what reaches it on a real cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from helpers.realkube import load_test_module
from helpers.system import GROUP, VERSION, install_crds, kube_api
from realkube.launch import RealKube
from simlaunch import Emulator, run_kubesim

pytestmark = pytest.mark.realkube

bad = load_test_module("badinput/test_bad_specs.py")
NAMESPACE = "default"


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with run_kubesim(tmp_path_factory.mktemp("kubesim")) as sim:
        install_crds(kube_api(sim.kubeconfig))
        yield sim


@pytest.fixture(scope="module")
def servers(realkube: RealKube, crds: list[str], kubesim: Emulator
            ) -> Iterator[dict[str, client.CustomObjectsApi]]:
    with config.new_client_from_config(str(realkube.kubeconfig)) as real, \
            config.new_client_from_config(str(kubesim.kubeconfig)) as sim:
        yield {"realkube": client.CustomObjectsApi(real), "kubesim": client.CustomObjectsApi(sim)}


def verdict(api: client.CustomObjectsApi, obj: dict[str, Any]) -> str:
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, bad.plural(obj), obj,
                                            dry_run="All")
    except ApiException as exc:
        return f"refused {exc.status}"
    return "admitted"


@settings(max_examples=int(bad.EXAMPLES) * 4, deadline=None, database=None,
          derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])
@given(obj=bad.bad_objects())
def test_real_server_and_kubesim_decide_every_bad_spec_alike(
        servers: dict[str, client.CustomObjectsApi], obj: dict[str, Any]) -> None:
    answers = {name: verdict(api, obj) for name, api in servers.items()}
    assert answers["realkube"] == answers["kubesim"], (answers, obj["kind"], obj["spec"])
    assert answers["realkube"] in ("admitted", "refused 422"), answers


def test_the_examples_are_admitted_by_both(servers: dict[str, client.CustomObjectsApi]) -> None:
    """The control: the valid base objects the bad ones are made from pass on both."""
    for kind in ("ManagedImage", "BatchPool"):
        obj = bad.base(kind)
        assert {name: verdict(api, obj) for name, api in servers.items()} == {
            "realkube": "admitted", "kubesim": "admitted"}


