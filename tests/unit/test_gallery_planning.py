"""Gallery publishing against Azure's answers (JSON): the definition made only when the
spec says how, a version never re-pointed at another image, replication reported while
it runs, target regions kept as the spec says, a failed version said so."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_models import SUB, image_spec

from batch_image_operator.models.managedimage import parse_managed_image
from batch_image_operator.planning.gallery import GalleryAction, plan_gallery, version_body

DEFINITION = {"properties": {"osType": "Linux", "provisioningState": "Succeeded"}}


def spec(identifier: bool = True):
    gallery: dict[str, Any] = {"galleryName": "gal", "imageDefinition": "def",
                               "version": "1.0.0",
                               "targetRegions": [{"name": "eastus2", "replicaCount": 2}]}
    if identifier:
        gallery["identifier"] = {"publisher": "p", "offer": "o", "sku": "s"}
    return parse_managed_image("img", image_spec(gallery=gallery), default_subscription=SUB)


def version(s, state: str = "Succeeded", source: str | None = None, **props: Any):
    body = version_body(s, source or str(s.image_id))
    body["properties"].update({"provisioningState": state, **props})
    return json.loads(json.dumps(body))


def plan(s, **kw: Any):
    args: dict[str, Any] = {"gallery": {"properties": {}}, "definition": DEFINITION,
                            "version": None, "image_id": str(s.image_id), "os_type": "Linux"}
    return plan_gallery(s, **{**args, **kw})


def test_a_missing_definition_is_created_only_with_an_identifier() -> None:
    made = plan(spec(), definition=None)
    assert made.action is GalleryAction.CREATE_DEFINITION
    assert made.body is not None
    assert made.body["properties"]["identifier"] == {"publisher": "p", "offer": "o", "sku": "s"}
    blocked = plan(spec(identifier=False), definition=None)
    assert blocked.action is GalleryAction.BLOCKED and "identifier" in blocked.message


@pytest.mark.parametrize("name", ["aaa", "zzz"])  # sorting before and after the spec's image
def test_a_version_published_from_another_image_is_never_repointed(name: str) -> None:
    s = spec()
    other = str(s.image_id).rsplit("/", 1)[0] + "/" + name
    got = plan(s, version=version(s, source=other))
    assert got.action is GalleryAction.BLOCKED and "another image" in got.message
    same = plan(s, version=version(s, source=str(s.image_id).upper()))
    assert same.action is GalleryAction.PUBLISHED


def test_replication_in_progress_is_reported() -> None:
    s = spec()
    running = plan(s, version=version(s, "Creating", replicationStatus={"summary": [
        {"region": "East US 2", "state": "Replicating", "progress": 40},
        {"region": "West Europe", "state": "Queued"}]}))
    assert running.action is GalleryAction.WAIT
    assert running.message == "replicating: East US 2 Replicating 40%, West Europe Queued 0%"
    assert plan(s, version=version(s, "Updating")).message == "replicating"


def test_a_failed_version_is_said_and_a_deleting_one_is_not_called_failed() -> None:
    s = spec()
    failed = plan(s, version=version(s, "Failed"))
    assert failed.action is GalleryAction.BLOCKED and "Failed" in failed.message
    assert "Failed" not in plan(s, version=version(s, "Deleting")).message


def test_target_regions_changed_in_the_spec_are_republished() -> None:
    s = spec()
    seen = version(s)
    seen["properties"]["publishingProfile"]["targetRegions"] = [
        {"name": "East US 2", "regionalReplicaCount": 1}]
    got = plan(s, version=seen)
    assert got.action is GalleryAction.CREATE_VERSION and got.message == "updating target regions"
    assert got.body is not None
    assert {"name": "eastus2", "regionalReplicaCount": 2} in \
        got.body["properties"]["publishingProfile"]["targetRegions"]


def test_a_region_azure_reports_without_a_replica_count_has_one() -> None:
    s = spec()
    seen = version(s)
    seen["properties"]["publishingProfile"]["targetRegions"] = [
        {"name": "West Europe"}, {"name": "East US 2", "regionalReplicaCount": 2}]
    assert plan(s, version=seen).action is GalleryAction.PUBLISHED
