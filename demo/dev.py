"""`make dev`: kubesim, azuresim and the operator left running until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
from pathlib import Path

from run import DEMO_SUBSCRIPTION, KUBECTL, ROOT, DemoFailed, Kubectl, run_operator

from simlaunch import run_azuresim, run_kubesim


def main() -> int:
    try:
        return _run()
    except DemoFailed as exc:
        print(f"\nmake dev failed: {exc}", file=sys.stderr)
        return 1


def _run() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bio-dev-"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with run_kubesim(workdir / "kubesim") as kube, run_azuresim(
            workdir / "azuresim", "--seed", str(ROOT / "demo" / "azuresim-seed.yaml"),
            "--subscription-id", DEMO_SUBSCRIPTION) as azure:
        Kubectl(kube.kubeconfig)("apply", "-f", str(ROOT / "crds"), show=False)
        with run_operator(workdir, kube, azure) as op:
            print(f"""
kubesim   {kube.url}
azuresim  {azure.url}   (admin: {azure.admin_url})
operator  log: {op.log}
metrics   {op.ports.metrics_url}
health    {op.ports.health_url}

Point kubectl at it:
  export KUBECONFIG={kube.kubeconfig}
  {KUBECTL} apply -f examples/snapshots/
  {KUBECTL} get mi,bp
  {KUBECTL} get bp -w

Azure SDK settings (KEY=VALUE): {azure.files['env']}
Ctrl-C stops everything.""", flush=True)
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
