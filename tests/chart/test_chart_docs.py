"""Every value a user can set is documented in the chart README and covered by the
schema, so `helm show readme` never lies by omission."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from helpers.chart import CHART, ROOT

# Values that are Kubernetes objects in their own right (requests, label selectors).
FREE_FORM = {"resources.requests", "resources.limits", "networkPolicy.egress.dns.namespaceSelector",
             "networkPolicy.egress.dns.podSelector"}


def leaves(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in FREE_FORM:
            yield from leaves(value, f"{path}.")
        else:
            yield path


def schema_has(schema: dict[str, Any], path: str) -> bool:
    node = schema
    for part in path.split("."):
        props = node.get("properties", {})
        if part not in props:
            return False
        node = props[part]
    return True


def test_every_value_is_in_the_readme_table_and_the_schema() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    schema = json.loads((CHART / "values.schema.json").read_text())
    keys = list(leaves(values))
    assert "azure.clientSecret.existingSecret" in keys and "resources.limits" in keys
    undocumented = [k for k in keys if f"| `{k}` |" not in readme]
    unschema = [k for k in keys if not schema_has(schema, k)]
    assert undocumented == [] and unschema == []


def test_configuration_doc_names_every_env_var_the_chart_sets() -> None:
    deployment = (CHART / "templates" / "deployment.yaml").read_text()
    doc = (ROOT / "docs" / "configuration.md").read_text()
    names = {line.split("name:", 1)[1].strip() for line in deployment.splitlines()
             if line.strip().startswith("- name: ") and line.strip()[8:].isupper()}
    assert {"AZURE_SUBSCRIPTION_ID", "BIO_ALLOWLIST_FILE", "BIO_NAMESPACES"} <= names
    assert [n for n in sorted(names) if f"`{n}`" not in doc] == []
