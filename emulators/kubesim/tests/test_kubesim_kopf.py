"""Kopf itself, in-process, against the emulator: finalizer, create/update/delete
handlers, status patches and posted Events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import kopf
import pytest

from kubesim_support import Cluster, widget, widgets_path

FINALIZER = "kubesim.test/kopf-finalizer"


def _connection(cluster: Cluster) -> kopf.ConnectionInfo:
    cfg = cluster.cfg
    token = (cfg.api_key or {}).get("authorization", "")
    return kopf.ConnectionInfo(
        server=cluster.url,
        ca_path=cfg.ssl_ca_cert,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
        scheme="Bearer" if token else None,
        token=token.removeprefix("Bearer ") if token else None,
    )


def _registry(cluster: Cluster) -> kopf.OperatorRegistry:
    """A registry whose Kopf logs in to ``cluster``."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return _connection(cluster)

    return registry


async def _await_event(
    cluster: Cluster, path: str, rv: str, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    def wait() -> dict[str, Any]:
        stream = cluster.watch(path, resourceVersion=rv, timeoutSeconds="20")
        try:
            return stream.until(predicate)
        finally:
            stream.close()

    return await asyncio.to_thread(wait)


@pytest.mark.parametrize("clusterwide", [False, True], ids=["namespaced", "clusterwide"])
async def test_kopf_operator_lifecycle(
    cluster: Cluster, crd: str, namespace: str, clusterwide: bool
) -> None:
    # Namespaced: Kopf watches /api/v1/namespaces to find matching namespaces.
    # Cluster-wide: Kopf lists and watches /apis/kubesim.test/v1/widgets across namespaces.
    registry = _registry(cluster)
    ns = namespace
    calls: list[tuple[str, str]] = []
    updated = asyncio.Event()

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.posting.level = logging.INFO
        settings.watching.server_timeout = 10
        settings.peering.standalone = True

    mine = {"when": lambda namespace, **_: namespace == ns}

    @kopf.on.create("kubesim.test", "v1", "widgets", registry=registry, **mine)
    def on_create(body: Any, name: str, patch: Any, **_: Any) -> None:
        calls.append(("create", name))
        kopf.info(body, reason="Widgeted", message=f"created {name}")
        patch.status["phase"] = "Created"

    @kopf.on.update("kubesim.test", "v1", "widgets", registry=registry, **mine)
    def on_update(name: str, diff: Any, **_: Any) -> None:
        calls.append(("update", name))
        updated.set()

    @kopf.on.delete("kubesim.test", "v1", "widgets", registry=registry, **mine)
    def on_delete(name: str, **_: Any) -> None:
        calls.append(("delete", name))

    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=registry,
            clusterwide=clusterwide,
            namespaces=[] if clusterwide else [namespace],
            standalone=True,
            stop_flag=stop,
            ready_flag=ready,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 20)
        resp = await asyncio.to_thread(
            cluster.request, "POST", widgets_path(namespace), widget("k")
        )
        assert resp.status == 201, resp.text
        rv = resp.json["metadata"]["resourceVersion"]

        # Kopf adds its finalizer, runs the create handler, and patches status.
        done = await _await_event(
            cluster,
            widgets_path(namespace),
            rv,
            lambda e: (
                (e["object"].get("status") or {}).get("phase") == "Created"
                and FINALIZER in (e["object"]["metadata"].get("finalizers") or [])
            ),
        )
        assert calls == [("create", "k")]
        event = await _await_event(
            cluster,
            f"/api/v1/namespaces/{namespace}/events",
            "0",
            lambda e: e["object"].get("reason") == "Widgeted",
        )
        assert event["object"]["involvedObject"]["name"] == "k"
        assert event["object"]["message"] == "created k"
        described = await asyncio.to_thread(cluster.kubectl, "describe", "wg", "k", "-n", namespace)
        assert "Widgeted" in described.stdout and "created k" in described.stdout

        resp = await asyncio.to_thread(
            cluster.request,
            "PATCH",
            widgets_path(namespace, "k"),
            {"spec": {"color": "blue"}},
            content_type="application/merge-patch+json",
        )
        assert resp.status == 200
        await asyncio.wait_for(updated.wait(), 20)

        resp = await asyncio.to_thread(cluster.request, "DELETE", widgets_path(namespace, "k"))
        assert resp.status in (200, 202)
        await _await_event(
            cluster,
            widgets_path(namespace),
            done["object"]["metadata"]["resourceVersion"],
            lambda e: e["type"] == "DELETED",
        )
        assert calls == [("create", "k"), ("update", "k"), ("delete", "k")]
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def test_kopf_survives_closed_and_expired_watches(
    kubesim_only: Cluster, crd: str, namespace: str
) -> None:
    cluster = kubesim_only
    registry = _registry(cluster)
    calls: list[tuple[str, Any]] = []
    seen = asyncio.Queue[tuple[str, Any]]()
    ns = namespace

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.peering.standalone = True

    @kopf.on.create("kubesim.test", "v1", "widgets", registry=registry)
    def on_create(name: str, **_: Any) -> None:
        calls.append(("create", name))
        seen.put_nowait(("create", name))

    @kopf.on.update("kubesim.test", "v1", "widgets", field="spec.color", registry=registry)
    def on_update(new: Any, **_: Any) -> None:
        calls.append(("update", new))
        seen.put_nowait(("update", new))

    async def patch_color(color: str) -> None:
        resp = await asyncio.to_thread(
            cluster.request,
            "PATCH",
            widgets_path(ns, "r"),
            {"spec": {"color": color}},
            content_type="application/merge-patch+json",
        )
        assert resp.status == 200, resp.text

    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=registry, namespaces=[ns], standalone=True, stop_flag=stop, ready_flag=ready
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 20)
        resp = await asyncio.to_thread(cluster.request, "POST", widgets_path(ns), widget("r"))
        assert resp.status == 201
        assert await asyncio.wait_for(seen.get(), 20) == ("create", "r")
        # The server ends every watch; Kopf reconnects and sees only the new change.
        await asyncio.to_thread(cluster.admin, "POST", "/_kubesim/watches/close")
        await patch_color("blue")
        assert await asyncio.wait_for(seen.get(), 20) == ("update", "blue")
        # The next watch answers 410 Expired; Kopf relists and carries on.
        await asyncio.to_thread(cluster.admin, "POST", "/_kubesim/watches/expire-next")
        await asyncio.to_thread(cluster.admin, "POST", "/_kubesim/watches/close")
        await patch_color("green")
        assert await asyncio.wait_for(seen.get(), 20) == ("update", "green")
        assert calls == [("create", "r"), ("update", "blue"), ("update", "green")]
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
