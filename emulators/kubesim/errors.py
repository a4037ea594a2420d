"""Status objects phrased the way kube-apiserver phrases them.

Clients (kubectl, Kopf, the python client) branch on ``reason`` and ``code`` and show
``message`` verbatim, so the wording follows the real server.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("kubesim")


class ApiError(Exception):
    """An error answered to the client as a ``Status`` object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def qualified(plural: str, group: str) -> str:
    """``managedimages.batchimage.dev`` or ``configmaps`` for the core group."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(plural, group)} "{name}" not found',
        {"name": name, "group": group, "kind": plural},
    )


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(plural, group)} "{name}" already exists',
        {"name": name, "group": group, "kind": plural},
    )


def conflict(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": '
        "the object has been modified; please apply your changes to the latest "
        "version and try again",
        {"name": name, "group": group, "kind": plural},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def resource_not_found() -> ApiError:
    # What the real server answers for a path that names no known resource.
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def patch_rejected(detail: str) -> ApiError:
    """A JSON patch that does not apply: 422 and, as kube-apiserver 1.37 answers, no
    details (``detail`` is what the patch library would say, kept for kubesim's log)."""
    log.debug("JSON patch rejected: %s", detail)
    return ApiError(
        422, "Invalid", "the server rejected our request due to an error in our request", {})


def field_manager_required() -> ApiError:
    """Server-side apply without ``fieldManager``: PatchOptions are invalid (422)."""
    cause = Cause("FieldValueRequired", "fieldManager",
                  "Required value: is required for apply patch")
    return ApiError(
        422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {cause.render()}',
        {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [cause.as_dict()]})


def expired(requested: int, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        f'application/apply-patch+yaml; got "{content_type}"',
    )


class Cause:
    """One field error; ``render`` gives the ``field: Reason: detail`` text."""

    def __init__(self, reason: str, field: str, text: str) -> None:
        self.reason = reason  # e.g. FieldValueRequired
        self.field = field
        self.text = text  # e.g. "Required value" or 'Invalid value: "x": must be ...'

    def render(self) -> str:
        return f"{self.field}: {self.text}" if self.field else self.text

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.text, "field": self.field}


def required(field: str) -> Cause:
    return Cause("FieldValueRequired", field, "Required value")


def invalid_value(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", field, f"Invalid value: {go_repr(value)}: {detail}")


def unsupported_value(field: str, value: Any, allowed: list[Any]) -> Cause:
    options = ", ".join(go_repr(v) for v in allowed)
    return Cause(
        "FieldValueNotSupported",
        field,
        f"Unsupported value: {go_repr(value)}: supported values: {options}",
    )


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", field, f"Forbidden: {detail}")


def too_long(field: str, value: Any, limit: int) -> Cause:
    return Cause("FieldValueTooLong", field, f"Too long: may not be more than {limit} bytes")


def too_many(field: str, count: int, limit: int) -> Cause:
    return Cause("FieldValueTooMany", field, f"Too many: {count}: must have at most {limit} items")


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueTypeInvalid", field, f"Invalid value: {go_repr(value)}: {detail}")


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    qualified_kind = f"{kind}.{group}" if group else kind
    rendered = [c.render() for c in causes]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified_kind} "{name}" is invalid: {summary}',
        {"name": name, "group": group, "kind": kind, "causes": [c.as_dict() for c in causes]},
    )


def go_repr(value: Any) -> str:
    """Render a value the way the apiserver's field errors print it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_repr(v) for v in value) + "}"
    if isinstance(value, dict):
        return (
            "map[string]interface {}{"
            + ", ".join(f'"{k}":{go_repr(v)}' for k, v in value.items())
            + "}"
        )
    return str(value)
