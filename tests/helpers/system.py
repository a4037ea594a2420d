"""Helpers for tests that drive the operator: real clients, the CRs, the operator process,
the examples, azuresim's admin endpoints (the waits are in waits.py)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import kopf
import yaml
from azure.identity import ClientSecretCredential
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.compute import ComputeManagementClient
from kopf.testing import KopfRunner
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from batch_image_operator import GROUP, VERSION
from batch_image_operator.config import Settings
from batch_image_operator.handlers import kopf_reactor
from batch_image_operator.handlers.registration import register
from batch_image_operator.runner.runtime import Runtime
from helpers.ids import SUB as SUB  # the suites import it from here too
from helpers.waits import watch_until

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "demo" / "azuresim-seed.yaml"
Obj = dict[str, Any]


def kube_api(kubeconfig: Path) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(config_file=str(kubeconfig))


def install_crds(api: k8s.ApiClient) -> None:
    ext = k8s.ApiextensionsV1Api(api)
    names = []
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        ext.create_custom_resource_definition(crd)
        names.append(crd["metadata"]["name"])
    for name in names:
        watch_until(ext.list_custom_resource_definition, name=name,
                    ok=lambda crd: any(c["type"] == "Established" and c["status"] == "True"
                                       for c in (crd.get("status") or {}).get("conditions")
                                       or []))


class CRs:
    """Custom resources of our group in one namespace, with watch-based waits."""

    def __init__(self, api: k8s.ApiClient, namespace: str = "default") -> None:
        self.api = k8s.CustomObjectsApi(api)
        self.core = k8s.CoreV1Api(api)
        self.namespace = namespace

    def create(self, manifest: Obj) -> Obj:
        plural = manifest["kind"].lower() + "s"
        return self.api.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural,
                                                        manifest)

    def get(self, plural: str, name: str) -> Obj:
        return self.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def patch(self, plural: str, name: str, body: Obj) -> Obj:
        return self.api.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, plural,
                                                       name, body)

    def delete(self, plural: str, name: str) -> None:
        self.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def _list_args(self, plural: str) -> tuple[Any, ...]:
        return (GROUP, VERSION, self.namespace, plural)

    def wait(self, plural: str, name: str, ok: Callable[[Obj], bool],
             timeout: float = 60) -> Obj:
        found = watch_until(self.api.list_namespaced_custom_object, *self._list_args(plural),
                            name=name, ok=ok, timeout=timeout)
        assert found is not None
        return found

    def wait_deleted(self, plural: str, name: str, timeout: float = 60) -> None:
        watch_until(self.api.list_namespaced_custom_object, *self._list_args(plural),
                    name=name, ok=None, timeout=timeout)

    def wait_event(self, name: str, reason: str, timeout: float = 30) -> Obj:
        """Kopf posts events after the status patch; watch for the one wanted."""
        import time

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for event in self.events(name):
                if event["reason"] == reason:
                    return event
            w = k8s_watch.Watch()
            timer = threading.Timer(left, w.stop)
            timer.start()
            try:
                for change in w.stream(self.core.list_namespaced_event, self.namespace,
                                       timeout_seconds=max(1, int(left))):
                    obj = change["object"]
                    if obj.involved_object.name == name and obj.reason == reason:
                        return dict(obj.to_dict())
            except Exception:  # a dropped stream: list again, then re-watch
                continue
            finally:
                timer.cancel()
                w.stop()
        raise TimeoutError(f"no {reason} event for {name}")

    def events(self, name: str) -> list[Obj]:
        return [e.to_dict() for e in self.core.list_namespaced_event(self.namespace).items
                if e.involved_object.name == name]


def condition(obj: Obj, ctype: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def has_condition(ctype: str, status: str = "True", reason: str | None = None
                  ) -> Callable[[Obj], bool]:
    def check(obj: Obj) -> bool:
        cond = condition(obj, ctype)
        return cond is not None and cond.get("status") == status and (
            reason is None or cond.get("reason") == reason)
    return check


def azure_sdk(env: Mapping[str, str]) -> tuple[ComputeManagementClient, BatchManagementClient]:
    cred = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"],
        authority=env["AZURE_AUTHORITY_HOST"], connection_verify=env["AZURE_CA_BUNDLE"],
        disable_instance_discovery=True)
    kwargs = {"base_url": env["AZURE_RESOURCE_MANAGER_ENDPOINT"],
              "connection_verify": env["AZURE_CA_BUNDLE"], "polling_interval": 0.2}
    sub = env["AZURE_SUBSCRIPTION_ID"]
    return ComputeManagementClient(cred, sub, **kwargs), BatchManagementClient(cred, sub, **kwargs)


class OperatorHandle:
    def __init__(self, runner: KopfRunner, runtime: Runtime) -> None:
        self.runner, self.runtime = runner, runtime

    def metrics(self) -> str:
        import requests
        assert self.runtime.metrics_server is not None
        port = self.runtime.metrics_server.port
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


@contextlib.contextmanager
def running_operator(kube_url: str, azure_env: Mapping[str, str], *,
                     connection: kopf.ConnectionInfo | None = None,
                     **overrides: str) -> Iterator[OperatorHandle]:
    """The real operator, in-process, talking HTTP to both emulators (or to ``connection``,
    e.g. a real apiserver with a ServiceAccount token); ``BIO_NAMESPACES`` in ``overrides``
    limits it to those namespaces as the chart's namespaced mode does."""
    env = {**azure_env, "BIO_POLL_INTERVAL": "0.3", "BIO_BLOCKED_RETRY": "0.3",
           "BIO_DRIFT_INTERVAL": "30", "BIO_METRICS_HOST": "127.0.0.1",
           "BIO_METRICS_PORT": "0", **overrides}
    registry = kopf.OperatorRegistry()

    def login(*, settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
        # Kopf's own login functions require `settings`; so does this one, so that every
        # caller (Kopf, and the credential Secret reader) is held to the same contract.
        assert isinstance(settings, kopf.OperatorSettings)
        return connection or kopf.ConnectionInfo(server=kube_url, insecure=True)

    settings = Settings.from_env(env)
    # As __main__ does: every suite runs Kopf's reactor with the operator's changes.
    kopf_reactor.install(settings.kube_connections)
    runtime = register(registry, settings, env, kube_login=login)
    scope = ([arg for ns in settings.namespaces for arg in ("--namespace", ns)]
             or ["--all-namespaces"])

    with KopfRunner(["run", "--standalone", *scope], registry=registry,
                    timeout=60) as runner:
        yield OperatorHandle(runner, runtime)
    assert runner.exit_code == 0, runner.output
    # Stopping must be quiet: a pass cancelled at exit is not an error to report.
    assert "Will escalate" not in runner.output, runner.output[-3000:]


# What a scenario is given to start the operator with its own settings (``BIO_*``
# overrides) against whichever Kubernetes the suite runs on: kubesim, or realkube with
# the chart's ServiceAccount (tests/realkube re-runs the same scenarios that way).
StartOperator = Callable[..., contextlib.AbstractContextManager[OperatorHandle]]

WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})


def example_by_kind(name: str = "snapshots") -> dict[str, Obj]:
    """One example's manifests, a fresh copy each, by kind."""
    return {d["kind"]: d for d in load_example(name)}


def load_example(name: str) -> list[Obj]:
    docs: list[Obj] = []
    for path in sorted((ROOT / "examples" / name).glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def azure_requests(admin_url: str, ca_bundle: str, *, reset: bool = False) -> list[Obj]:
    """The request log azuresim keeps (method, path, status, operation)."""
    import requests
    if reset:
        requests.post(f"{admin_url}/reset-counters", verify=ca_bundle, timeout=10)
        return []
    reply = requests.get(f"{admin_url}/requests", verify=ca_bundle, timeout=10)
    reply.raise_for_status()
    return list(reply.json()["requests"])


def azure_admin(emulator: Any, method: str, path: str, body: Obj | None = None) -> Any:
    import requests
    reply = requests.request(method, f"{emulator.admin_url}{path}", json=body,
                             verify=emulator.ca_bundle, timeout=10)
    reply.raise_for_status()
    return reply.json() if reply.content else None


def drop_transition_rules(node: object) -> None:
    if isinstance(node, dict):
        rules = [r for r in node.pop("x-kubernetes-validations", []) if "oldSelf" not in r["rule"]]
        if rules:
            node["x-kubernetes-validations"] = rules
        for value in node.values():
            drop_transition_rules(value)
    elif isinstance(node, list):
        for value in node:
            drop_transition_rules(value)


def install_pool_crd_without_transition_rules(kubesim: Any) -> None:
    """The BatchPool CRD as it was before the API server refused immutable changes: an
    object from then can still carry a changed vmSize, which the operator must report."""
    ext = k8s.ApiextensionsV1Api(kube_api(kubesim.kubeconfig))
    crd = yaml.safe_load((ROOT / "crds" / "batchpools.batchimage.dev.yaml").read_text())
    drop_transition_rules(crd["spec"])
    live = ext.read_custom_resource_definition(crd["metadata"]["name"])
    crd["metadata"]["resourceVersion"] = live.metadata.resource_version
    ext.replace_custom_resource_definition(crd["metadata"]["name"], crd)
