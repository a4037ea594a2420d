"""Azure connections granted per namespace in turn, not first come first served.

All clients of one identity share one aiohttp connection pool (``BIO_AZURE_CONNECTIONS``),
and the Azure slots (fairshare.py) let more passes call at once than there are
connections: a pass holds its slot through its own CPU work too. aiohttp queues the
requests beyond the pool first come first served, so under a 1,000-pool burst another
namespace's request waited behind the burst's queued ones: 0.7 s median between a
pool's PUT leaving its pipeline and reaching azuresim (`make bench`, probe timelines).
This per-retry policy takes, for each attempt, one of as many slots as there are
connections, granted per namespace in turn like the Azure slots, so aiohttp's own
queue stays empty and a namespace's request waits for about one freed connection, not
for the burst. It comes after the ARM token wait (a pass asleep for a token holds no
connection) and before the leadership fence, so the fence is still checked after the
last wait; azure-core's authentication policy runs inside it (a token refresh goes
through the credential's own transport, not this pool).

The namespace is the one of the pass's Azure slot (``current_namespace``). Requests
made outside any pass (the operator's startup reads), and every request when the
Azure slots are off (``BIO_AZURE_CONCURRENCY=off``), share the "" namespace: first
come first served, as before. A read shared by many passes (an account's node counts,
azure/dataplane.py) queues in the namespace of the pass that started it.
A response read as a stream (``stream=True``) releases its slot at its headers, its
connection once its body has arrived: the pool may be short by the bodies in transit,
and those requests queue in aiohttp's pool as before, briefly.
"""

from __future__ import annotations

from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy

from ..fairshare import FairShare, current_namespace


class FairConnections(AsyncHTTPPolicy[Any, Any]):
    """Per-retry policy over one identity's shared connection slots (one instance per
    client pipeline: azure-core links each instance to the next policy of its own)."""

    def __init__(self, share: FairShare) -> None:
        super().__init__()
        self._share = share

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        async with self._share.slot(current_namespace()):
            return await self.next.send(request)
