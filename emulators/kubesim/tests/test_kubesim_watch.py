"""Watch semantics: initial events, resume, expiry, bookmarks, selectors."""

from __future__ import annotations

import pytest

from kubesim_support import Cluster, widget, widgets_path

MERGE = "application/merge-patch+json"


def _create(cluster: Cluster, namespace: str, name: str, **labels: str) -> dict:  # type: ignore[type-arg]
    body = widget(name)
    if labels:
        body["metadata"]["labels"] = labels
    resp = cluster.request("POST", widgets_path(namespace), body)
    assert resp.status == 201, resp.text
    return resp.json  # type: ignore[no-any-return]


def test_watch_without_rv_sends_current_objects_then_live(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    _create(cluster, namespace, "a")
    stream = cluster.watch(widgets_path(namespace))
    try:
        first = stream.next()
        assert (
            first is not None
            and first["type"] == "ADDED"
            and first["object"]["metadata"]["name"] == "a"
        )
        assert first["object"]["kind"] == "Widget"
        _create(cluster, namespace, "b")
        event = stream.until(lambda e: e["type"] == "ADDED")
        assert event["object"]["metadata"]["name"] == "b"
    finally:
        stream.close()


def test_watch_resumes_from_resource_version(cluster: Cluster, crd: str, namespace: str) -> None:
    a = _create(cluster, namespace, "a")
    rv = a["metadata"]["resourceVersion"]
    cluster.request(
        "PATCH", widgets_path(namespace, "a"), {"spec": {"color": "blue"}}, content_type=MERGE
    )
    _create(cluster, namespace, "b")
    cluster.request("DELETE", widgets_path(namespace, "a"))
    stream = cluster.watch(widgets_path(namespace), resourceVersion=rv, timeoutSeconds="1")
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in stream.rest()]
    # Nothing at or before rv is replayed: "a" is not re-sent as ADDED.
    assert events == [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]


def test_timeout_seconds_ends_stream(cluster: Cluster, crd: str, namespace: str) -> None:
    created = _create(cluster, namespace, "a")
    stream = cluster.watch(
        widgets_path(namespace),
        resourceVersion=created["metadata"]["resourceVersion"],
        timeoutSeconds="1",
    )
    assert stream.rest() == []


def test_too_old_resource_version_is_410(cluster: Cluster, crd: str, namespace: str) -> None:
    _create(cluster, namespace, "a")
    if cluster.is_kubesim:
        cluster.admin("POST", "/_kubesim/compact")
    stream = cluster.watch(widgets_path(namespace), resourceVersion="1")
    event = stream.next()
    assert event is not None and event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith("too old resource version: 1")


def test_send_initial_events_ends_with_annotated_bookmark(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    _create(cluster, namespace, "a")
    _create(cluster, namespace, "b")
    stream = cluster.watch(
        widgets_path(namespace),
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
    )
    try:
        seen = []
        while True:
            event = stream.next()
            assert event is not None
            if event["type"] == "BOOKMARK":
                break
            seen.append((event["type"], event["object"]["metadata"]["name"]))
        assert seen == [("ADDED", "a"), ("ADDED", "b")]
        assert event["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert int(event["object"]["metadata"]["resourceVersion"]) >= 1
    finally:
        stream.close()


def test_bookmarks_carry_only_resource_version(cluster: Cluster, crd: str, namespace: str) -> None:
    if not cluster.is_kubesim:
        pytest.skip("the real server sends bookmarks about once a minute")
    created = _create(cluster, namespace, "a")
    stream = cluster.watch(
        widgets_path(namespace),
        resourceVersion=created["metadata"]["resourceVersion"],
        allowWatchBookmarks="true",
    )
    try:
        event = stream.until(lambda e: e["type"] == "BOOKMARK")
        assert set(event["object"]["metadata"]) == {"resourceVersion"}
        assert int(event["object"]["metadata"]["resourceVersion"]) >= int(
            created["metadata"]["resourceVersion"]
        )
    finally:
        stream.close()


def test_watch_with_selectors_reports_transitions(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    created = _create(cluster, namespace, "a", tier="front")
    _create(cluster, namespace, "b", tier="back")
    stream = cluster.watch(
        widgets_path(namespace),
        resourceVersion=created["metadata"]["resourceVersion"],
        labelSelector="tier=front",
        timeoutSeconds="2",
    )
    try:
        cluster.request(
            "PATCH",
            widgets_path(namespace, "b"),
            {"metadata": {"labels": {"tier": "front"}}},
            content_type=MERGE,
        )
        event = stream.until(lambda e: True)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")
        cluster.request(
            "PATCH",
            widgets_path(namespace, "a"),
            {"metadata": {"labels": {"tier": "back"}}},
            content_type=MERGE,
        )
        event = stream.until(lambda e: True)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "a")
    finally:
        stream.close()


def test_cluster_wide_watch_and_field_selector(cluster: Cluster, crd: str, namespace: str) -> None:
    created = _create(cluster, namespace, "a")
    stream = cluster.watch(
        widgets_path(None),
        resourceVersion=created["metadata"]["resourceVersion"],
        fieldSelector="metadata.name=b",
    )
    try:
        _create(cluster, namespace, "c")
        _create(cluster, namespace, "b")
        event = stream.until(lambda e: True)
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "b"
        assert event["object"]["metadata"]["namespace"] == namespace
    finally:
        stream.close()


def test_namespaces_watch_is_the_namespace_resource(cluster: Cluster, namespace: str) -> None:
    listing = cluster.request("GET", "/api/v1/namespaces").json
    assert listing["kind"] == "NamespaceList"
    assert {"default", namespace} <= {i["metadata"]["name"] for i in listing["items"]}
    stream = cluster.watch(
        "/api/v1/namespaces", fieldSelector=f"metadata.name={namespace}", timeoutSeconds="2"
    )
    try:
        event = stream.next()
        assert (
            event is not None
            and event["type"] == "ADDED"
            and event["object"]["kind"] == "Namespace"
        )
    finally:
        stream.close()
