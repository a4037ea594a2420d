"""``python -m kubesim --port N --kubeconfig PATH``: serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

import uvloop
import yaml
from aiohttp import web

from .server import KubeSim

log = logging.getLogger("kubesim")


def write_kubeconfig(path: Path, url: str) -> None:
    """Write atomically: readers never see a half-written file."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubesim", "cluster": {"server": url}}],
        "users": [{"name": "kubesim", "user": {"token": "kubesim-token"}}],
        "contexts": [
            {
                "name": "kubesim",
                "context": {"cluster": "kubesim", "user": "kubesim", "namespace": "default"},
            }
        ],
        "current-context": "kubesim",
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kubeconfig.")
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(config, handle)
    os.replace(tmp, path)


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp has no public accessor for the bound port
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1])


async def serve(args: argparse.Namespace) -> None:
    sim = KubeSim(
        history=args.watch_history,
        bookmark_interval=args.bookmark_interval,
        deployments_ready=not args.no_deployment_status,
    )
    # handler_cancellation: a client hanging up ends its watch handler.
    runner = web.AppRunner(
        sim.app(), handler_cancellation=True, access_log=None, shutdown_timeout=2
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = _bound_port(site)
    url = f"http://127.0.0.1:{port}"
    sim.server_address = f"127.0.0.1:{port}"
    write_kubeconfig(Path(args.kubeconfig), url)
    print(f"KUBESIM READY {url}", flush=True)
    log.info("serving on %s", url)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    sim.close_watches()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubesim", description="Kubernetes API server emulator")
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument(
        "--kubeconfig", required=True, help="where to write a kubeconfig for clients"
    )
    parser.add_argument(
        "--watch-history", type=int, default=2000, help="events kept for watch resumption"
    )
    parser.add_argument(
        "--bookmark-interval", type=float, default=15.0, help="seconds between watch bookmarks"
    )
    parser.add_argument(
        "--no-deployment-status",
        action="store_true",
        help="leave Deployment status alone (by default every rollout is reported complete)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uvloop.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
