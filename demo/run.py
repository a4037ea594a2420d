"""`make demo`: the operator's whole lifecycle on the project's own emulators.

Starts kubesim and azuresim on free loopback ports, applies the CRDs and the snapshot
example with the real kubectl, runs the operator, and walks through: image Ready,
pool Ready, image deletion refused while the pool uses it, pool deleted, image
deletion completing by itself, image gone in Azure. Stops everything it started,
also on failure or Ctrl-C; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.compute import ComputeManagementClient

from simlaunch import (
    Emulator,
    OperatorPorts,
    run_azuresim,
    run_kubesim,
    spawn_operator,
    stop,
    wait_operator_ready,
)

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = str(Path(sys.executable).parent / "kubectl")
DEMO_SUBSCRIPTION = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
IMAGE, POOL = "ubuntu-hpc", "render-pool"
TIMEOUT = "180s"


class DemoFailed(Exception):
    pass


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m", flush=True)


class Kubectl:
    def __init__(self, kubeconfig: Path) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def __call__(self, *args: str, show: bool = True, check: bool = True) -> str:
        if show:
            print(f"$ kubectl {' '.join(args)}", flush=True)
        proc = subprocess.run([KUBECTL, *args], env=self.env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        if show and out.strip():
            print(out.rstrip(), flush=True)
        if check and proc.returncode != 0:
            raise DemoFailed(f"kubectl {' '.join(args)} failed ({proc.returncode}): {out}")
        return out


@dataclass(frozen=True)
class RunningOperator:
    log: Path
    ports: OperatorPorts


@contextlib.contextmanager
def run_operator(workdir: Path, kube: Emulator, azure: Emulator) -> Iterator[RunningOperator]:
    """The operator on free loopback ports (8080 may be taken), once it answers /healthz."""
    log = workdir / "operator.log"
    ports = OperatorPorts.free()
    env = {
        **os.environ, **azure.env, "KUBECONFIG": str(kube.kubeconfig), **ports.env,
        # Emulated Azure is fast; look again every second instead of every ten.
        "BIO_POLL_INTERVAL": "1", "BIO_BLOCKED_RETRY": "1", "BIO_DRIFT_INTERVAL": "60",
    }
    proc = spawn_operator(env, log)
    try:
        try:
            wait_operator_ready(proc, ports)
        except RuntimeError as exc:
            raise DemoFailed(str(exc)) from exc
        yield RunningOperator(log, ports)
    finally:
        stop(proc, timeout=20)


def azure_clients(azure: Emulator) -> tuple[ComputeManagementClient, BatchManagementClient]:
    env = azure.env
    cred = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"],
        authority=env["AZURE_AUTHORITY_HOST"], connection_verify=env["AZURE_CA_BUNDLE"],
        disable_instance_discovery=True)
    common = {"base_url": env["AZURE_RESOURCE_MANAGER_ENDPOINT"],
              "connection_verify": env["AZURE_CA_BUNDLE"]}
    sub = env["AZURE_SUBSCRIPTION_ID"]
    return (ComputeManagementClient(cred, sub, **common),
            BatchManagementClient(cred, sub, **common))


def lifecycle(workdir: Path, kube: Emulator, azure: Emulator) -> None:
    kubectl = Kubectl(kube.kubeconfig)
    say("Install the CRDs")
    kubectl("apply", "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "crd/managedimages.batchimage.dev",
            "crd/batchpools.batchimage.dev", f"--timeout={TIMEOUT}")

    with run_operator(workdir, kube, azure) as op:
        print(f"operator ready, log: {op.log}\n"
              f"metrics  {op.ports.metrics_url}\nhealth   {op.ports.health_url}")
        say("Apply a ManagedImage (from disk snapshots) and a BatchPool that boots from it")
        kubectl("apply", "-f", str(ROOT / "examples" / "snapshots"))

        say("The image is built in Azure; the pool waits for it, then allocates its nodes")
        kubectl("wait", "--for=condition=Ready", f"managedimage/{IMAGE}", f"--timeout={TIMEOUT}")
        kubectl("get", "mi,bp")
        kubectl("wait", "--for=condition=Ready", f"batchpool/{POOL}", f"--timeout={TIMEOUT}")
        kubectl("get", "mi,bp", "-o", "wide")

        say("Try to delete the image while the pool still uses it: refused")
        kubectl("delete", "managedimage", IMAGE, "--wait=false")
        kubectl("wait", "--for=condition=DeletionBlocked", f"managedimage/{IMAGE}",
                f"--timeout={TIMEOUT}")
        kubectl("get", "managedimage", IMAGE, "-o",
                "jsonpath={.status.conditions[?(@.type==\"DeletionBlocked\")].message}{\"\\n\"}")
        events = kubectl("get", "events", "-o",
                         "jsonpath={range .items[?(@.reason==\"DeletionBlocked\")]}"
                         "{.type} {.reason}: {.message}{\"\\n\"}{end}")
        if "DeletionBlocked" not in events:
            raise DemoFailed("no DeletionBlocked event was posted")
        compute, batch = azure_clients(azure)
        image = compute.images.get("rg-batch-images", IMAGE)
        print(f"Azure image still there: {image.id}")

        say("Delete the pool: the operator deletes the Azure pool, then the image goes by itself")
        kubectl("delete", "batchpool", POOL, f"--timeout={TIMEOUT}")
        kubectl("wait", "--for=delete", f"managedimage/{IMAGE}", f"--timeout={TIMEOUT}")
        kubectl("get", "mi,bp")

        say("Check Azure directly with the Azure SDK")
        for what, get in (("image", lambda: compute.images.get("rg-batch-images", IMAGE)),
                          ("pool", lambda: batch.pool.get("rg-batch", "batchdemo", POOL))):
            try:
                get()
            except ResourceNotFoundError:
                print(f"Azure {what} is gone (404)")
            else:
                raise DemoFailed(f"the Azure {what} still exists")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where logs and kubeconfig go (default: a temp dir)")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bio-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # SIGTERM ends the demo like Ctrl-C does, so the cleanup below always runs.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        say(f"Start kubesim and azuresim on free loopback ports (files in {workdir})")
        with run_kubesim(workdir / "kubesim") as kube, run_azuresim(
                workdir / "azuresim", "--seed", str(ROOT / "demo" / "azuresim-seed.yaml"),
                "--subscription-id", DEMO_SUBSCRIPTION,
                "--lro-seconds", "1", "--allocation-seconds", "3") as azure:
            print(f"kubesim  {kube.url}\nazuresim {azure.url}")
            lifecycle(workdir, kube, azure)
    except DemoFailed as exc:
        print(f"\nDEMO FAILED: {exc}\nlogs in {workdir}", file=sys.stderr)
        _tail(workdir / "operator.log")
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; everything the demo started has been stopped", file=sys.stderr)
        return 130
    say(f"Demo finished in {time.monotonic() - started:.0f}s; all processes stopped")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _tail(path: Path, lines: int = 40) -> None:
    if path.exists():
        print(f"--- last lines of {path} ---", file=sys.stderr)
        print("\n".join(path.read_text().splitlines()[-lines:]), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
