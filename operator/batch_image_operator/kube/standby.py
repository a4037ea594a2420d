"""What a standby replica serves while it waits for the Lease."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from ..config import Settings


@asynccontextmanager
async def standby_endpoints(settings: Settings) -> AsyncIterator[None]:
    """While waiting to lead (Kopf and the metrics server, which serve these later, are
    not running yet): ``/healthz`` for the probes, so a live standby is not restarted
    for being a standby, and an empty ``/metrics`` so its scrape target is up."""
    ports = [(host, port) for host, port in ((settings.health_host, settings.health_port),
                                             (settings.metrics_host, settings.metrics_port))
             if port is not None]
    if not ports:
        yield
        return

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="standby")

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text="", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for host, port in ports:
        await web.TCPSite(runner, host, port).start()
    try:
        yield
    finally:
        await runner.cleanup()
