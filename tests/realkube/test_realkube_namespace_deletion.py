"""Deleting a namespace that holds BatchPools and ManagedImages, on the real namespace
controller (which deletes every object in it at once): the pools go first, the image waits
for them (DeletionBlocked), the namespace finally disappears, and Azure is clean."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from kubernetes import client, config

from helpers.realkube import kopf_connection
from helpers.system import SEED, SUB, CRs, azure_sdk, has_condition, load_example, running_operator
from helpers.waits import watch_until
from realkube.launch import RealKube
from simlaunch import Emulator, run_azuresim

pytestmark = pytest.mark.realkube


@pytest.fixture
def azure(tmp_path: Path) -> Iterator[Emulator]:
    with run_azuresim(tmp_path / "azuresim", "--seed", str(SEED), "--subscription-id", SUB,
                      "--lro-seconds", "0.3", "--allocation-seconds", "1") as sim:
        yield sim


def test_namespace_deletion_waits_for_pools_then_images(realkube: RealKube, crds: list[str],
                                                        azure: Emulator) -> None:
    docs = {d["kind"]: copy.deepcopy(d) for d in load_example("snapshots")}
    image, pool = docs["ManagedImage"], docs["BatchPool"]
    name_image, name_pool = image["metadata"]["name"], pool["metadata"]["name"]
    namespace = f"rk-del-{uuid.uuid4().hex[:6]}"
    compute, batch = azure_sdk(azure.env)
    with config.new_client_from_config(str(realkube.kubeconfig)) as api, \
            running_operator(realkube.url, azure.env, connection=kopf_connection(realkube),
                             BIO_NAMESPACES=namespace):
        core = client.CoreV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        crs = CRs(api, namespace)
        crs.create(image)
        crs.create(pool)
        crs.wait("managedimages", name_image, has_condition("Ready"), timeout=120)
        crs.wait("batchpools", name_pool, has_condition("Ready"), timeout=120)

        core.delete_namespace(namespace)
        # The namespace controller deletes both at once; the image must wait for the pool.
        crs.wait("managedimages", name_image, has_condition("DeletionBlocked"), timeout=60)
        crs.wait_deleted("batchpools", name_pool, timeout=120)
        crs.wait_deleted("managedimages", name_image, timeout=120)
        watch_until(core.list_namespace, name=namespace, ok=None, timeout=120)
    with pytest.raises(ResourceNotFoundError):
        compute.images.get(image["spec"]["resourceGroup"], name_image)
    with pytest.raises(ResourceNotFoundError):
        batch.pool.get(pool["spec"]["account"]["resourceGroup"],
                       pool["spec"]["account"]["name"], name_pool)
