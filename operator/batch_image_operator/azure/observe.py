"""An azure-core pipeline policy that counts every HTTP attempt by operation and status."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

_SEGMENT = re.compile(r"/providers/[^/]+/(.+)$", re.IGNORECASE)


def operation_name(method: str, url: str) -> str:
    """`images.get`, `pools.list`, `pools.stopResize`… from an ARM URL, names stripped."""
    verb = method.lower()
    path = url.split("?", 1)[0].rstrip("/")
    if re.search(r"/(operations|asyncoperations|operationresults)/[^/]+$", path, re.I):
        return "operations.get"
    match = _SEGMENT.search(path)
    if match is None:  # resource groups, AAD, data plane
        segments = [s for s in path.split("/") if s]
        return f"{segments[-2] if len(segments) > 1 else 'root'}.{verb}"
    parts = match.group(1).split("/")
    if len(parts) % 2 == 0:                      # .../pools/{name}
        return f"{parts[-2]}.{verb}"
    if verb == "get":                            # .../pools  (a collection)
        return f"{parts[-1]}.list"
    if len(parts) >= 3:                          # .../pools/{name}/stopResize
        return f"{parts[-3]}.{parts[-1]}"
    return f"{parts[-1]}.{verb}"


class ObservePolicy(SansIOHTTPPolicy[Any, Any]):
    def __init__(self, record: Callable[[str, int | str], None]) -> None:
        self._record = record

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
                    ) -> None:
        http = request.http_request
        self._record(operation_name(http.method, http.url), response.http_response.status_code)

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        self._record(operation_name(http.method, http.url), "error")
