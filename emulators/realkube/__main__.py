"""``python -m realkube --kubeconfig PATH``: a real Kubernetes control plane until
SIGTERM/SIGINT, then everything stopped and its data removed."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from .cluster import Cluster, StartError, default_bin_dir
from .launch import READY_MARKER, unavailable_reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="realkube",
        description="etcd + the real kube-apiserver and kube-controller-manager on loopback",
    )
    parser.add_argument("--kubeconfig", required=True,
                        help="where to write the admin kubeconfig once /readyz is ok")
    parser.add_argument("--bin-dir", type=Path, default=None,
                        help="where the binaries are (default: .realkube/bin of this checkout)")
    args = parser.parse_args(argv)
    bin_dir = args.bin_dir or default_bin_dir()
    reason = unavailable_reason(bin_dir)
    if reason:
        print(reason, file=sys.stderr)
        return 2

    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="realkube-")), bin_dir)
    kubeconfig = Path(args.kubeconfig)
    try:
        try:
            cluster.start(should_stop=lambda: bool(stopping))
        except StartError as error:
            print(f"realkube: {error}", file=sys.stderr)
            return 1
        cluster.write_admin_kubeconfig(kubeconfig)
        print(f"{READY_MARKER} {cluster.url}", flush=True)
        print(f"realkube: kubectl --kubeconfig {kubeconfig} ...; Ctrl-C stops it",
              file=sys.stderr)
        # From here signals are awaited, not handled: a child's exit (SIGCHLD) or a stop.
        watched = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
        signal.pthread_sigmask(signal.SIG_BLOCK, watched)
        while not stopping:
            for name, proc in cluster.processes.items():
                if proc.poll() is not None:
                    print(f"realkube: {name} exited with code {proc.returncode}:\n"
                          f"{cluster.log_tail(name)}", file=sys.stderr)
                    return 1
            if signal.sigwait(watched) != signal.SIGCHLD:
                break
        return 0
    finally:
        cluster.stop()
        kubeconfig.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
