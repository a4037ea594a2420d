"""The one place azure-core exceptions become the operator's classified AzureError.

Every gateway call runs inside ``azure_errors(operation)`` (httpx's ``map_exceptions``
is the model): reads pass ``missing_ok=True`` so a 404 ends the block and the call
returns None; deletes pass it so an already-gone resource is done.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, overload

from azure.core.exceptions import AzureError as CoreError
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from ..planning.errors import Classified, ErrorKind, classify, describe


class AzureError(Exception):
    """An Azure failure, classified; str() is safe for status and events."""

    def __init__(self, operation: str, info: Classified) -> None:
        self.operation = operation
        self.info = info
        super().__init__(describe(operation, info))


def _first_line(value: Any, limit: int) -> str:
    if isinstance(value, dict):  # the Batch data plane: {"lang", "value"}
        value = value.get("value")
    lines = str(value or "").splitlines()
    return lines[0][:limit] if lines else ""


def wrap_http_error(operation: str, exc: CoreError) -> AzureError:
    """Classify any azure-core error; no response (connection failures) is transient."""
    if isinstance(exc, ClientAuthenticationError) and not getattr(exc.error, "code", None):
        # The token request itself was refused (AAD answers 400 invalid_client, which is
        # not in ARM's error shape); an ARM 401 carries its own code.
        detail = _first_line(exc.message or "credential refused", 300)
        return AzureError(operation, classify(401, "AuthenticationFailed",
                                              f"Azure AD refused the credential: {detail}"))
    if not isinstance(exc, HttpResponseError):
        text = _first_line(exc.message or type(exc).__name__, 300)
        return AzureError(operation, classify(None, "ServiceUnavailable", text))
    error = exc.error
    code = getattr(error, "code", None) if error else None
    message = _first_line(getattr(error, "message", None) if error else None, 500)
    target = getattr(error, "target", None) if error else None
    if target and target not in message:
        message = f"{message} (target: {_first_line(target, 200)})"
    retry_after: float | None = None
    headers = getattr(exc.response, "headers", None) or {}
    raw = headers.get("Retry-After")
    if raw and str(raw).isdigit():
        retry_after = float(raw)
    text = message or _first_line(exc.reason or "request failed", 500)
    return AzureError(operation, classify(exc.status_code, code, text, retry_after))


class _Mapping:
    """Swallows not-found answers: the statement after the block runs instead."""

    def __init__(self, operation: str, missing_ok: bool) -> None:
        self.operation = operation
        self.missing_ok = missing_ok

    def __enter__(self) -> None:
        return None

    def _map(self, exc: BaseException | None) -> bool:
        if not isinstance(exc, CoreError):
            return False
        mapped = wrap_http_error(self.operation, exc)
        if self.missing_ok and mapped.info.kind is ErrorKind.NOT_FOUND:
            return True
        raise mapped from exc

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        return self._map(exc)


class _StrictMapping(_Mapping):
    """Never swallows (so type checkers know the block's return is the only way out)."""

    def __exit__(self, exc_type: type[BaseException] | None,  # type: ignore[override]
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self._map(exc)


@overload
def azure_errors(operation: str) -> _StrictMapping: ...
@overload
def azure_errors(operation: str, *, missing_ok: bool) -> _Mapping: ...
def azure_errors(operation: str, *, missing_ok: bool = False) -> _Mapping:
    """Re-raise azure-core errors inside the block as a classified AzureError.

    With ``missing_ok`` a not-found answer is swallowed and the statement after the block
    runs (a read returns None there; a delete is done).
    """
    return _Mapping(operation, True) if missing_ok else _StrictMapping(operation, False)
