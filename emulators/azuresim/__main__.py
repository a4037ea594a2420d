"""``python -m azuresim``: serve the emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
import uuid
from pathlib import Path

import uvloop
from aiohttp import web

from . import profiles
from .aad import Identity
from .arm.batch import refresh_endpoints
from .rbac import RoleFileError, load_role
from .seed import SeedError, apply_file
from .server import make_app
from .sim import Settings, Sim
from .store import write_atomic
from .tls import server_context

log = logging.getLogger("azuresim")
# Stable defaults so a restarted emulator (with --state) is the same "tenant".
DEFAULT_SUBSCRIPTION = "6f1c2c56-8b7a-4c6e-9d35-0b8e6a1f2d01"
DEFAULT_TENANT = "d1b3a5c7-2e4f-4a6b-8c9d-0e1f2a3b4c5d"
DEFAULT_CLIENT = "2b4f1a3c-5d6e-4f70-8a91-b2c3d4e5f607"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="azuresim", description="Loopback Azure emulator")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--env-file", type=Path, required=True)
    p.add_argument("--seed", type=Path)
    p.add_argument("--state", type=Path)
    p.add_argument("--lro-seconds", type=float, default=1.0)
    p.add_argument("--allocation-seconds", type=float, default=3.0)
    p.add_argument("--custom-image-resize-cap", type=int, default=300)
    p.add_argument("--profile", choices=("fast", "realistic"), default="fast",
                   help="operation timings: fast (--lro-seconds) or as real Azure measures")
    p.add_argument("--factor", type=float, default=1.0,
                   help="scales the realistic profile's durations and Retry-After values")
    p.add_argument("--throttling", choices=("on", "off"),
                   help="ARM token-bucket throttling (default: on in the realistic profile)")
    p.add_argument("--subscription-id", default=DEFAULT_SUBSCRIPTION)
    p.add_argument("--tenant-id", default=DEFAULT_TENANT)
    p.add_argument("--client-id", default=DEFAULT_CLIENT)
    p.add_argument("--role-file", type=Path,
                   help="role definition JSON the principal holds (default: allow everything)")
    return p.parse_args(argv)


def _guid(value: str, flag: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        sys.exit(f"azuresim: {flag} must be a GUID, got {value!r}")


async def serve(args: argparse.Namespace) -> int:
    env_file: Path = args.env_file.resolve()
    ca_path = env_file.parent / "azuresim-ca.pem"
    allowlist_path = env_file.parent / "azuresim-allowlist.yaml"
    identity = Identity(
        tenant_id=_guid(args.tenant_id, "--tenant-id"),
        client_id=_guid(args.client_id, "--client-id"),
        client_secret=secrets.token_urlsafe(30),
    )
    settings = Settings(
        subscription_id=_guid(args.subscription_id, "--subscription-id"),
        lro_seconds=args.lro_seconds,
        allocation_seconds=args.allocation_seconds,
        custom_image_resize_cap=args.custom_image_resize_cap,
        state_file=args.state.resolve() if args.state else None,
        profile=profiles.make(args.profile, args.factor),
    )
    if args.profile == "realistic":
        settings.allocation_seconds = profiles.REALISTIC_ALLOCATION_SECONDS * args.factor
    sim = Sim(settings, identity)
    if args.role_file:
        try:
            sim.role = load_role(args.role_file)
        except (RoleFileError, OSError) as exc:
            log.error("role file failed: %s", exc)
            return 2
        log.info("enforcing role %r from %s", sim.role.name, args.role_file)
    sim.throttle.enabled = (args.throttling or
                            ("on" if args.profile == "realistic" else "off")) == "on"
    runner = web.AppRunner(make_app(sim), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=server_context(ca_path))
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"https://127.0.0.1:{port}"
    sim.bind(base_url)

    loaded = bool(settings.state_file and settings.state_file.exists())
    sim.load()
    refresh_endpoints(sim)
    if args.seed and not loaded:
        try:
            count = apply_file(sim, args.seed)
        except (SeedError, OSError) as exc:
            log.error("seed failed: %s", exc)
            await runner.cleanup()
            return 2
        log.info("seeded %d resources from %s", count, args.seed)
    sim.save()

    env = {
        "AZURE_TENANT_ID": identity.tenant_id,
        "AZURE_CLIENT_ID": identity.client_id,
        "AZURE_CLIENT_SECRET": identity.client_secret,
        "AZURE_AUTHORITY_HOST": base_url,
        "AZURE_SUBSCRIPTION_ID": settings.subscription_id,
        "AZURE_RESOURCE_MANAGER_ENDPOINT": base_url,
        "AZURE_CA_BUNDLE": str(ca_path),
        "AZURESIM_ADMIN_URL": f"{base_url}/_azuresim",
        # The operator's side of "these variables are all it needs": the emulator's Batch
        # account endpoints live on this listener, and namespaces may target its
        # subscription (the operator refuses to start without an explicit allow-list).
        "AZURE_BATCH_ENDPOINT_SUFFIX": base_url.split("://", 1)[1],
        "BIO_ALLOWLIST_FILE": str(allowlist_path),
    }
    write_atomic(allowlist_path, f'"*":\n  - /subscriptions/{settings.subscription_id}\n')
    write_atomic(env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
    # Handlers go in before READY: a client may stop us the moment it reads that line.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"AZURESIM READY {base_url}", flush=True)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()
    sim.store.dirty = True
    sim.save()
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    return uvloop.run(serve(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
