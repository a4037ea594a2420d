"""Azure RBAC for the emulator's one principal: a role definition loaded at start.

The file is a role definition as `az role definition create --role-definition @file`
takes it (``Actions``, ``NotActions``, ``DataActions``, ``NotDataActions``) or as ARM
returns it (``properties.permissions[]`` with the same keys in camelCase). Without a
file every request is allowed, as before.

Each request is turned into the action Azure checks: ARM
``{Namespace}/{type}[/{subtype}]/{read|write|delete}`` (or ``…/{verb}/action`` for a
POST action); the Batch data plane's pool operations are checked, as Azure does,
against the ``Microsoft.Batch/batchAccounts/pools/*`` *actions* (the built-in Batch
roles grant only jobs and job schedules as data actions). Wildcards (``*``) match as in
Azure, case-insensitively; ``NotActions`` subtract from ``Actions``. A denied request
gets 403 ``AuthorizationFailed`` in ARM's shape (Batch: ``AuthorizationFailure``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arm.ids import Route, parse
from .errors import ArmError, BatchError

_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
_RG_TYPE = "Microsoft.Resources/subscriptions/resourceGroups"
POOL_ACTIONS = "Microsoft.Batch/batchAccounts/pools"


class RoleFileError(ValueError):
    pass


def _pattern(action: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in action.split("*")), re.IGNORECASE)


def _strings(raw: Any, key: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise RoleFileError(f"{key} must be a list of strings")
    return list(raw)


@dataclass(frozen=True)
class Role:
    name: str
    actions: tuple[re.Pattern[str], ...]
    not_actions: tuple[re.Pattern[str], ...]
    data_actions: tuple[re.Pattern[str], ...]
    not_data_actions: tuple[re.Pattern[str], ...]

    def allows(self, action: str, *, data: bool = False) -> bool:
        grant, deny = ((self.data_actions, self.not_data_actions) if data
                       else (self.actions, self.not_actions))
        return any(p.fullmatch(action) for p in grant) and not any(
            p.fullmatch(action) for p in deny)


def parse_role(doc: Any) -> Role:
    """A role definition in the az CLI form or the ARM form."""
    if not isinstance(doc, dict):
        raise RoleFileError("a role definition is a JSON object")
    lowered = {k.lower(): v for k, v in doc.items()}
    props = lowered.get("properties")
    if isinstance(props, dict):  # ARM: properties.permissions[]
        name = str(props.get("roleName") or "")
        blocks = props.get("permissions")
        if not isinstance(blocks, list) or not blocks:
            raise RoleFileError("properties.permissions must be a non-empty list")
    else:
        name = str(lowered.get("name") or lowered.get("rolename") or "")
        blocks = [doc]
    keys = {"actions": [], "notactions": [], "dataactions": [], "notdataactions": []}
    for block in blocks:
        if not isinstance(block, dict):
            raise RoleFileError("each permission block is a JSON object")
        fields = {k.lower(): v for k, v in block.items()}
        for key, values in keys.items():
            values.extend(_strings(fields.get(key), key))
    if not keys["actions"] and not keys["dataactions"]:
        raise RoleFileError("the role grants no actions")

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(_pattern(a) for a in keys[key])

    return Role(name, compile_all("actions"), compile_all("notactions"),
                compile_all("dataactions"), compile_all("notdataactions"))


def load_role(path: Path) -> Role:
    try:
        return parse_role(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise RoleFileError(f"{path}: not JSON: {exc}") from exc


def arm_action(method: str, route: Route) -> str:
    """The action ARM authorizes a request against."""
    types = _RG_TYPE if route.namespace is None else "/".join([route.namespace, *route.types])
    if route.action:
        return f"{types}/{route.action}/action"
    return f"{types}/{_VERBS.get(method.upper(), 'action')}"


def arm_scope(route: Route) -> str:
    """The scope named in the refusal: the resource (or collection) addressed."""
    scope = f"/subscriptions/{route.subscription}"
    if route.resource_group:
        scope += f"/resourceGroups/{route.resource_group}"
    if route.namespace:
        pairs = [f"{t}/{n}" for t, n in zip(route.types, route.names, strict=False)]
        if len(route.types) > len(route.names):
            pairs.append(route.types[-1])
        scope += f"/providers/{route.namespace}/" + "/".join(pairs)
    return scope


def batch_action(method: str, tail: str) -> str:
    """The action a Batch data-plane request (path after the account prefix) needs."""
    parts = [p for p in tail.split("/") if p]
    if parts[:1] == ["supportedimages"]:
        return "Microsoft.Batch/batchAccounts/read"
    if method.upper() == "POST":
        return f"{POOL_ACTIONS}/write"
    return f"{POOL_ACTIONS}/read"


def refusal(client_id: str, action: str, scope: str) -> ArmError:
    return ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{client_id}' with object id '{client_id}' does not have authorization "
        f"to perform action '{action}' over scope '{scope}' or the scope is invalid. If "
        "access was recently granted, please refresh your credentials.",
    )


def check(role: Role | None, client_id: str, method: str, path: str, surface: str) -> None:
    """Raise the refusal Azure sends when the role does not grant the request."""
    if role is None:
        return
    if surface == "arm":
        route = parse(path)
        if route is None:
            return  # unroutable: answered as such by the handler
        action = arm_action(method, route)
        if not role.allows(action):
            raise refusal(client_id, action, arm_scope(route))
    elif surface == "batch":
        # /batch/{sub}/{rg}/{account}/<tail>
        tail = "/".join(path.split("/")[5:]).lower()
        if not role.allows(batch_action(method, tail)):
            raise BatchError(403, "AuthorizationFailure",
                             "This request is not authorized to perform this operation.")
