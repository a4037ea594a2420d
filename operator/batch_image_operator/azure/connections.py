"""Azure connections granted per namespace in turn, not first come first served.

All clients of one identity share one aiohttp connection pool (``BIO_AZURE_CONNECTIONS``),
and the Azure slots (fairshare.py) let more passes call at once than there are
connections: a pass holds its slot through its own CPU work too. aiohttp queues the
requests beyond the pool first come first served, so under a 1,000-pool burst another
namespace's request waited behind the burst's queued ones: 0.7 s median between a
pool's PUT leaving its pipeline and reaching azuresim (`make bench`, probe timelines).
This policy, the last before the transport on every attempt, takes one of as many
slots as there are connections, granted per namespace in turn like the Azure slots,
so aiohttp's own queue stays empty and a namespace's request waits for about one
freed connection, not for the burst.

The namespace is the one of the pass's Azure slot (``current_namespace``): requests
made outside any pass (the operator's own startup reads) share the "" namespace.
A response read as a stream (``stream=True``) releases its slot at its headers and its
connection after its body: the pool may then be short by the few bodies being read,
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
