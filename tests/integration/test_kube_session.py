"""Kopf's API session as the operator builds it: non-watch requests are bounded, watch
streams are not (a long watch must never hold a slot that patches wait for)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import kopf
from aiohttp import web

from batch_image_operator.kube.session import bounded_session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serving(handle: Handler) -> AsyncIterator[int]:
    """A loopback HTTP server answering every path with ``handle``; yields its port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def test_requests_are_bounded_and_watches_are_not() -> None:
    in_flight, peak = 0, 0
    watches_open = asyncio.Event()
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, peak
        if request.query.get("watch") == "true":
            response = web.StreamResponse()
            await response.prepare(request)
            watches_open.set()
            await release.wait()  # a watch stays open for as long as the test runs
            return response
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return web.json_response({"kind": "Status"})

    async with serving(handle) as port:
        await _bounded_but_watches_are_not(port, watches_open, release, lambda: peak)


async def _bounded_but_watches_are_not(port: int, watches_open: asyncio.Event,
                                       release: asyncio.Event,
                                       peak: Callable[[], int]) -> None:
    context = bounded_session(kopf.ConnectionInfo(server=f"http://127.0.0.1:{port}"), 3)
    session = context.aiohttp_session
    try:
        watches = [asyncio.ensure_future(session.get(
            f"http://127.0.0.1:{port}/apis/x/v1/things", params={"watch": "true"}))
            for _ in range(5)]
        await asyncio.wait_for(watches_open.wait(), 5)

        async def patch(i: int) -> int:
            async with session.patch(f"http://127.0.0.1:{port}/apis/x/v1/things/{i}") as r:
                return r.status

        # Five open watches and a limit of 3: the 30 patches still all go through.
        statuses = await asyncio.wait_for(asyncio.gather(*(patch(i) for i in range(30))), 10)
        assert statuses == [200] * 30
        assert peak() == 3
    finally:
        release.set()
        for watch in watches:
            (await watch).close()
        await session.close()


async def test_one_namespaces_burst_does_not_hold_another_namespaces_patch() -> None:
    done: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.01)  # the API server's time per request
        done.append(request.path.split("/")[5])
        return web.json_response({"kind": "Status"})

    async with serving(handle) as port:
        await _other_namespace_first(f"http://127.0.0.1:{port}/apis/x/v1/namespaces", done)


async def _other_namespace_first(base: str, done: list[str]) -> None:
    session = bounded_session(kopf.ConnectionInfo(server=base), 2).aiohttp_session

    async def patch(namespace: str, name: str) -> None:
        async with session.patch(f"{base}/{namespace}/things/{name}") as r:
            assert r.status == 200

    try:
        burst = [asyncio.ensure_future(patch("burst", str(i))) for i in range(30)]
        await asyncio.sleep(0)  # the burst is queued first
        await asyncio.wait_for(asyncio.gather(*burst, patch("other", "first")), 20)
        # Served after a couple of the burst's patches, not after all thirty.
        assert done.index("other") <= 4, done
    finally:
        await session.close()


async def test_a_finalizer_patch_goes_ahead_of_its_namespaces_events() -> None:
    # Kopf's session carries its finalizer patches and the events it posts, per object
    # and concurrently: ten events queued first, then a new object's finalizer patch.
    done: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.01)  # the API server's time per request
        done.append(request.path.rsplit("/", 1)[-1])
        return web.json_response({"kind": "Status"})

    async with serving(handle) as port:
        base = f"http://127.0.0.1:{port}/apis/x/v1/namespaces/burst/things"
        events_url = f"http://127.0.0.1:{port}/api/v1/namespaces/burst/events"
        session = bounded_session(kopf.ConnectionInfo(server=base), 1).aiohttp_session

        async def send(method: str, url: str) -> None:
            async with session.request(method, url) as r:
                assert r.status == 200

        try:
            events = [asyncio.ensure_future(send("POST", f"{events_url}/e{i}"))
                      for i in range(10)]
            await asyncio.sleep(0)  # the events are queued first
            await asyncio.wait_for(asyncio.gather(*events, send("PATCH", f"{base}/new")), 20)
            # Served after the event in flight, not after all ten.
            assert done.index("new") <= 2, done
        finally:
            await session.close()
