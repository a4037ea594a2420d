"""Structural-schema handling for custom resources: unknown-field detection,
pruning, defaulting, validation and x-kubernetes-validations (CEL)."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from . import errors
from .errors import Cause

log = logging.getLogger(__name__)

Schema = dict[str, Any]

# ObjectMeta fields; anything else under metadata is an unknown field.
OBJECT_META_FIELDS = {
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
}
_ROOT_FIELDS = {"apiVersion", "kind", "metadata"}


def _preserves(schema: Schema) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def _child_schema(schema: Schema, key: str) -> Schema | None:
    props = schema.get("properties")
    if isinstance(props, dict) and key in props:
        return props[key]  # type: ignore[no-any-return]
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    if extra is True:
        return {"x-kubernetes-preserve-unknown-fields": True}
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def unknown_meta_fields(obj: Any) -> list[str]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return []
    return [f"metadata.{k}" for k in meta if k not in OBJECT_META_FIELDS]


def unknown_fields(obj: Any, schema: Schema, path: str = "", root: bool = True) -> list[str]:
    """Paths of fields the schema would prune, for fieldValidation=Strict/Warn."""
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            sub = _join(path, key)
            if root and key in _ROOT_FIELDS:
                if key == "metadata" and isinstance(value, dict):
                    found += [_join(sub, k) for k in value if k not in OBJECT_META_FIELDS]
                continue
            child = _child_schema(schema, key)
            if child is None:
                if not _preserves(schema):
                    found.append(sub)
                continue
            found += unknown_fields(value, child, sub, root=False)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(obj):
            found += unknown_fields(item, schema["items"], f"{path}[{i}]", root=False)
    return found


def prune(obj: Any, schema: Schema, root: bool = True) -> Any:
    if isinstance(obj, dict):
        for key in list(obj):
            if root and key in _ROOT_FIELDS:
                continue
            child = _child_schema(schema, key)
            if child is None:
                if not _preserves(schema):
                    del obj[key]
                continue
            prune(obj[key], child, root=False)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            prune(item, schema["items"], root=False)
    return obj


def apply_defaults(obj: Any, schema: Schema) -> Any:
    if isinstance(obj, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for key, child in props.items():
                if not isinstance(child, dict):
                    continue
                if "default" in child and (
                    key not in obj or (obj[key] is None and not child.get("nullable"))
                ):
                    obj[key] = copy.deepcopy(child["default"])
                if key in obj:
                    apply_defaults(obj[key], child)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, value in obj.items():
                if not (isinstance(props, dict) and key in props):
                    apply_defaults(value, extra)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            apply_defaults(item, schema["items"])
    return obj


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        # The server decodes JSON into int64 or float64: a larger integer is a number.
        return "integer" if -(2 ** 63) <= value < 2 ** 63 else "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, schema: Schema) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, str | int) and not isinstance(value, bool)
    wanted = schema.get("type")
    if not wanted:
        return True
    actual = _type_name(value)
    if wanted == "number":
        return actual in ("integer", "number")
    if wanted == "integer" and isinstance(value, float) and value.is_integer() \
            and -(2 ** 63) <= value < 2 ** 63:
        return True
    return bool(actual == wanted)


def _fmt_num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def validate(obj: Any, schema: Schema, path: str = "", root: bool = True) -> list[Cause]:
    """Field errors phrased like kube-openapi's validator as the apiserver reports them."""
    causes: list[Cause] = []
    name = path or "<root>"
    if obj is None:
        if schema.get("nullable") or not schema.get("type"):
            return causes
        return [
            errors.type_invalid(
                path, "null", f'{name} in body must be of type {schema["type"]}: "null"'
            )
        ]
    if not _type_ok(obj, schema):
        wanted = schema.get("type", "integer or string")
        actual = _type_name(obj)
        return [
            errors.type_invalid(
                path, actual, f'{name} in body must be of type {wanted}: "{actual}"'
            )
        ]
    if "enum" in schema and obj not in schema["enum"]:
        causes.append(errors.unsupported_value(path, obj, schema["enum"]))
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        if "minimum" in schema:
            lo = schema["minimum"]
            if obj < lo or (schema.get("exclusiveMinimum") and obj == lo):
                word = (
                    "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
                )
                causes.append(
                    errors.invalid_value(
                        path, obj, f"{name} in body should be {word} {_fmt_num(lo)}"
                    )
                )
        if "maximum" in schema:
            hi = schema["maximum"]
            if obj > hi or (schema.get("exclusiveMaximum") and obj == hi):
                word = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
                causes.append(
                    errors.invalid_value(
                        path, obj, f"{name} in body should be {word} {_fmt_num(hi)}"
                    )
                )
    if isinstance(obj, str):
        if "minLength" in schema and len(obj) < schema["minLength"]:
            causes.append(
                errors.invalid_value(
                    path, obj, f"{name} in body should be at least {schema['minLength']} chars long"
                )
            )
        if "maxLength" in schema and len(obj) > schema["maxLength"]:
            causes.append(errors.too_long(path, obj, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], obj):
            causes.append(
                errors.invalid_value(
                    path, obj, f"{name} in body should match '{schema['pattern']}'"
                )
            )
    if isinstance(obj, list):
        if "minItems" in schema and len(obj) < schema["minItems"]:
            causes.append(
                errors.invalid_value(
                    path,
                    len(obj),
                    f"{name} in body should have at least {schema['minItems']} items",
                )
            )
        if "maxItems" in schema and len(obj) > schema["maxItems"]:
            causes.append(errors.too_many(path, len(obj), schema["maxItems"]))
        causes += _list_duplicates(obj, schema, path)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(obj):
                causes += validate(item, items, f"{path}[{i}]", root=False)
    if isinstance(obj, dict):
        for key in schema.get("required") or []:
            if key not in obj:
                causes.append(errors.required(_join(path, key)))
        if "minProperties" in schema and len(obj) < schema["minProperties"]:
            causes.append(
                errors.invalid_value(
                    path,
                    len(obj),
                    f"{name} in body should have at least {schema['minProperties']} properties",
                )
            )
        if "maxProperties" in schema and len(obj) > schema["maxProperties"]:
            causes.append(errors.too_many(path, len(obj), schema["maxProperties"]))
        for key, value in obj.items():
            if root and key in _ROOT_FIELDS:
                continue
            child = _child_schema(schema, key)
            if child is not None:
                causes += validate(value, child, _join(path, key), root=False)
    causes += _combinators(obj, schema, path, name)
    return causes


def _list_duplicates(items: list[Any], schema: Schema, path: str) -> list[Cause]:
    """x-kubernetes-list-type set/map: entries (or their map keys) must be unique."""
    list_type = schema.get("x-kubernetes-list-type")
    if list_type not in ("set", "map"):
        return []
    keys = schema.get("x-kubernetes-list-map-keys") or []
    seen: list[Any] = []
    causes: list[Cause] = []
    for i, item in enumerate(items):
        if list_type == "map" and isinstance(item, dict):
            ident: Any = {k: item[k] for k in keys if k in item}
        else:
            ident = item
        if ident in seen:
            shown = errors.go_repr(ident)
            causes.append(Cause("FieldValueDuplicate", f"{path}[{i}]", f"Duplicate value: {shown}"))
        else:
            seen.append(ident)
    return causes


def _fewest(results: list[list[Cause]]) -> list[Cause]:
    """The alternative that came closest: kube-openapi reports its errors."""
    return sorted(results, key=lambda causes: len(causes))[0]


def _combinators(obj: Any, schema: Schema, path: str, name: str) -> list[Cause]:
    """allOf/anyOf/oneOf/not as kube-openapi reports them: a composite error on the
    field, plus the closest alternative's own errors when none matched."""
    causes: list[Cause] = []
    kind = _type_name(obj)
    if isinstance(schema.get("allOf"), list):
        for sub in schema["allOf"]:
            causes += validate(obj, sub, path, root=False)
    if isinstance(schema.get("anyOf"), list):
        results = [validate(obj, sub, path, root=False) for sub in schema["anyOf"]]
        if all(results):
            message = f"{name} in body must validate at least one schema (anyOf)"
            causes.append(errors.invalid_value(path, kind, message))
            causes += _fewest(results)
    if isinstance(schema.get("oneOf"), list):
        results = [validate(obj, sub, path, root=False) for sub in schema["oneOf"]]
        matched = sum(1 for r in results if not r)
        if matched != 1:
            found = "Found none valid" if matched == 0 else f"Found {matched} valid alternatives"
            # kube-apiserver 1.37 reports this one without a field path, the name quoted.
            message = f'"{name}" must validate one and only one schema (oneOf). {found}'
            causes.append(errors.Cause("FieldValueInvalid", "<nil>",
                                       f'Invalid value: "": {message}'))
            if matched == 0:
                causes += _fewest(results)
    if isinstance(schema.get("not"), dict) and not validate(obj, schema["not"], path, root=False):
        message = f"{name} in body must not validate the schema (not)"
        causes.append(errors.invalid_value(path, kind, message))
    return causes


# -- x-kubernetes-validations -------------------------------------------------

_ENV = celpy.Environment()
_PROGRAMS: dict[str, Any] = {}


def _program(rule: str) -> Any:
    prog = _PROGRAMS.get(rule)
    if prog is None:
        prog = _ENV.program(_ENV.compile(rule))
        _PROGRAMS[rule] = prog
    return prog


def _rule_cause(path: str, value: Any, rule: dict[str, Any], message: str) -> Cause:
    field = path
    if rule.get("fieldPath"):
        field = (
            path + rule["fieldPath"]
            if rule["fieldPath"].startswith(".")
            else _join(path, rule["fieldPath"])
        )
    reason = rule.get("reason", "FieldValueInvalid")
    if reason == "FieldValueForbidden":
        return errors.forbidden(field, message)
    if reason == "FieldValueRequired":
        return Cause(reason, field, f"Required value: {message}")
    if reason == "FieldValueDuplicate":
        return Cause(reason, field, f"Duplicate value: {message}")
    if isinstance(value, dict | list):
        # The real server omits an object's or array's value from the message.
        return errors.Cause("FieldValueInvalid", field, f"Invalid value: {message}")
    return errors.invalid_value(field, value, message)


def _rule_message(rule: dict[str, Any], activation: dict[str, Any]) -> str:
    """``messageExpression`` when it evaluates to a string, else ``message``."""
    if rule.get("messageExpression"):
        try:
            text = _program(rule["messageExpression"]).evaluate(activation)
            if isinstance(text, str) and text:
                return str(text)
        except Exception:  # the real server falls back to message as well
            log.debug("messageExpression failed: %s", rule["messageExpression"])
    if rule.get("message"):
        return str(rule["message"])
    return f"failed rule: {rule.get('rule')}"


# Schema errors that stop the real server from evaluating any CEL rule (apiextensions'
# hasBlockingErr); it then adds one cause saying so instead.
_BLOCKING = frozenset({"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong",
                       "FieldValueTooMany", "FieldValueTypeInvalid"})
RULES_NOT_CHECKED = ("Invalid value: null: some validation rules were not checked because "
                     "the object was invalid; correct the existing errors to complete validation")


def has_rules(schema: Any) -> bool:
    """Whether any ``x-kubernetes-validations`` appear anywhere in the schema."""
    if isinstance(schema, dict):
        return bool(schema.get("x-kubernetes-validations")) or any(
            has_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_rules(v) for v in schema)
    return False


def validate_all(obj: Any, old: Any, schema: Schema) -> list[Cause]:
    """Schema validation, then the CEL rules unless a blocking error stopped them."""
    causes = validate(obj, schema)
    if not has_rules(schema):
        return causes
    if any(c.reason in _BLOCKING for c in causes):
        return [*causes, errors.Cause("FieldValueInvalid", "<nil>", RULES_NOT_CHECKED)]
    return causes + cel_validate(obj, old, schema)


def cel_validate(obj: Any, old: Any, schema: Schema, path: str = "") -> list[Cause]:
    """Evaluate ``x-kubernetes-validations`` bottom-up; rules using ``oldSelf``
    are transition rules and run only when an old value exists.

    A value an update leaves unchanged is not evaluated again: the real server ratchets
    validation (an unchanged value's errors are ignored, GA since 1.33), so the outcome is
    the same, and a status write then costs no spec rule (at a thousand pools, CEL on
    every status patch was most of the emulator's CPU)."""
    if old is not None and obj == old:
        return []
    causes: list[Cause] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not path and key in _ROOT_FIELDS:
                continue
            child = _child_schema(schema, key)
            if child is not None:
                old_value = old.get(key) if isinstance(old, dict) else None
                causes += cel_validate(value, old_value, child, _join(path, key))
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(obj):
            causes += cel_validate(item, None, schema["items"], f"{path}[{i}]")
    for rule in schema.get("x-kubernetes-validations") or []:
        expr = rule.get("rule", "")
        if "oldSelf" in expr and old is None and not rule.get("optionalOldSelf"):
            continue
        activation: dict[str, Any] = {}
        try:
            activation["self"] = json_to_cel(_cel_view(obj, path))
            if "oldSelf" in expr:
                activation["oldSelf"] = json_to_cel(_cel_view(old, path))
            result = _program(expr).evaluate(activation)
        except Exception as exc:  # a rule that cannot be evaluated fails, as on the server
            causes.append(_rule_cause(path, obj, rule, f"{expr}: {exc}"))
            continue
        if isinstance(result, CELEvalError) or not bool(result):
            causes.append(_rule_cause(path, obj, rule, _rule_message(rule, activation)))
    return causes


def _cel_view(obj: Any, path: str) -> Any:
    # At the root, CEL sees apiVersion/kind/metadata.name/generateName only.
    if path or not isinstance(obj, dict):
        return obj
    view = {k: v for k, v in obj.items() if k != "metadata"}
    meta = obj.get("metadata") or {}
    view["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
    return view
