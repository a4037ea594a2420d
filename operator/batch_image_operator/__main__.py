"""Entry point: ``python -m batch_image_operator`` runs the operator."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from . import __version__
from .config import ConfigError, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batch-image-operator",
        description="Kubernetes operator for Azure Batch custom-image pools "
                    "(ManagedImage and BatchPool). Configured from the environment: "
                    "KUBECONFIG or in-cluster service account for Kubernetes; "
                    "AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, AZURE_CLIENT_ID and "
                    "AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET (or managed identity) "
                    "for Azure; AZURE_RESOURCE_MANAGER_ENDPOINT, AZURE_AUTHORITY_HOST and "
                    "AZURE_CA_BUNDLE for other clouds; BIO_NAMESPACES, BIO_POLL_INTERVAL, "
                    "BIO_DRIFT_INTERVAL, BIO_BLOCKED_RETRY for behaviour.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    for what, host, port in (("metrics", settings.metrics_host, settings.metrics_port),
                             ("health", settings.health_host, settings.health_port)):
        problem = _cannot_listen(host, port)
        if problem is not None:
            # One clear line and a non-zero exit: a supervisor (kubelet, make demo) sees
            # the failure at once instead of an operator alive but doing nothing.
            print(f"cannot listen for {what} on {_hostport(host, port)}: {problem}",
                  file=sys.stderr, flush=True)
            return 1

    # Imported only now: Kopf and the Azure SDKs take seconds to import, and a
    # configuration or port problem should be reported without that wait.
    import kopf

    from .handlers import kopf_reactor
    from .handlers.registration import register

    kopf_reactor.install(settings.kube_connections)

    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.JSON
                   if settings.log_format == "json" else kopf.LogFormat.FULL)
    registry = kopf.OperatorRegistry()

    def kube_login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    register(registry, settings, dict(os.environ), kube_login=kube_login)

    namespaces = list(settings.namespaces)

    async def operate() -> None:
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces,
            liveness_endpoint=(
                f"http://{_hostport(settings.health_host, settings.health_port)}/healthz"
                if settings.health_port is not None else None),
        )

    _tune_gc()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        if settings.leader_election:
            from .azure.clients import install_fence
            from .kube.leader import run_as_leader
            lease_login = partial(kube_login, settings=kopf.OperatorSettings(),
                                  logger=logging.getLogger("batch_image_operator.leader"))
            return runner.run(run_as_leader(settings, lease_login, operate,
                                            install_fence))
        runner.run(operate())
    return 0


def _hostport(host: str, port: int | None) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _cannot_listen(host: str, port: int | None) -> str | None:
    """Why ``host:port`` cannot be bound now (None: it can, or nothing is to listen).

    Checked before Kopf starts, with the SO_REUSEADDR that aiohttp's server also sets, so
    a port another process listens on fails here rather than inside Kopf's startup."""
    if port is None or port == 0:
        return None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        return str(exc)
    return None


def _tune_gc() -> None:
    """Fewer and shorter full collections. With a thousand objects' bodies in memory each
    one stops the event loop for 0.1-0.3 s: 2 s of a 1,000-pool burst, measured. Startup's
    objects (Kopf, the Azure SDKs) never become garbage, so they leave the scans; the
    young generation is collected less often (refcounting frees most garbage anyway)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed, as `kopf run` does: the operator is one event loop,
    and at a thousand objects that loop is its bottleneck."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


if __name__ == "__main__":
    sys.exit(main())
