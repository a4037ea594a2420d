"""Helpers for the kubesim conformance suite: thin wrappers over kubectl, raw HTTP
(watches included) and the kubernetes client, aimed at kubesim or at a real cluster.

A uniquely named module rather than ``conftest`` imports: test directories here have no
``__init__.py``, so module names must not collide across the project's test folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines

FIXTURES = Path(__file__).parent / "fixtures"
KUBECTL = str(Path(sys.executable).parent / "kubectl")
GROUP, VERSION, PLURAL, KIND = "kubesim.test", "v1", "widgets", "Widget"
CONFORMANCE_ENV = "KUBESIM_CONFORMANCE_KUBECONFIG"


class Response:
    def __init__(self, resp: requests.Response) -> None:
        self.status = resp.status_code
        self.headers = resp.headers
        self.text = resp.text
        try:
            self.json: Any = resp.json()
        except ValueError:
            self.json = None


class WatchStream:
    """A watch read event by event; the server-side timeoutSeconds bounds every read."""

    def __init__(self, resp: requests.Response) -> None:
        self._resp = resp
        self._lines = iter_resp_lines(resp.raw)

    def next(self) -> dict[str, Any] | None:
        for line in self._lines:
            if line:
                return json.loads(line)  # type: ignore[no-any-return]
        return None

    def until(self, predicate: Any) -> dict[str, Any]:
        """Next event matching ``predicate``; fails if the stream ends first."""
        while True:
            event = self.next()
            assert event is not None, "watch ended before the expected event"
            if predicate(event):
                return event

    def rest(self) -> list[dict[str, Any]]:
        events = []
        while (event := self.next()) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        self._resp.close()


@dataclass
class Cluster:
    kubeconfig: Path
    is_kubesim: bool
    cfg: client.Configuration
    cache_dir: str
    kubectl_binary: str = KUBECTL

    @property
    def url(self) -> str:
        return str(self.cfg.host)

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            # A private discovery cache: kubesim ports are reused between runs.
            [self.kubectl_binary, "--kubeconfig", str(self.kubeconfig), "--cache-dir",
             self.cache_dir, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
            )
        return proc

    def _session_kwargs(self) -> dict[str, Any]:
        headers = {}
        token = (self.cfg.api_key or {}).get("authorization") or (self.cfg.api_key or {}).get(
            "BearerToken"
        )
        if token:
            prefix = (self.cfg.api_key_prefix or {}).get("authorization", "")
            headers["Authorization"] = (
                f"{prefix} {token}".strip() if not token.startswith("Bearer") else token
            )
        kwargs: dict[str, Any] = {"headers": headers}
        if self.url.startswith("https"):
            kwargs["verify"] = self.cfg.ssl_ca_cert or True
            if self.cfg.cert_file:
                kwargs["cert"] = (self.cfg.cert_file, self.cfg.key_file)
        return kwargs

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Response:
        kwargs = self._session_kwargs()
        kwargs["headers"].update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["headers"]["Content-Type"] = content_type
        resp = requests.request(
            method, self.url + path, params=params, data=data, timeout=30, **kwargs
        )
        return Response(resp)

    def watch(self, path: str, **params: str) -> WatchStream:
        params = {"watch": "true", "timeoutSeconds": "10", **params}
        kwargs = self._session_kwargs()
        # Read line by line off the socket: a real apiserver gzips a large first write when
        # asked to, as requests does by default (client-go and the python client do not ask).
        kwargs["headers"]["Accept-Encoding"] = "identity"
        resp = requests.get(self.url + path, params=params, stream=True, timeout=30, **kwargs)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("application/json")
        return WatchStream(resp)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        assert self.is_kubesim
        resp = requests.request(method, self.url + path, json=body, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def api_client(self) -> client.ApiClient:
        return client.ApiClient(self.cfg)


def widgets_path(namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    path = f"/apis/{GROUP}/{VERSION}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{PLURAL}"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


def widget(name: str, size: str = "small", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {"size": size, **spec},
    }
