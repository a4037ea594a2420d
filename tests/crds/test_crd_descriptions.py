"""Every field of both CRDs says what it is, with an example, and `kubectl explain`
shows it."""

from __future__ import annotations

import re

from helpers.crds import SERVER_OWNED, Kubectl, fields, schema

KINDS = ("BatchPool", "ManagedImage")
LIST_SKUS = 'az batch pool supported-images list --account-name <acct> --query "[].nodeAgentSkuId"'


def test_every_field_has_a_description_with_an_example() -> None:
    missing = []
    for kind in KINDS:
        assert schema(kind).get("description")
        for f in fields(kind):
            if f.path == ("metadata",):
                continue  # the API server refuses a description on ObjectMeta
            text = f.schema.get("description") or ""
            if f.path not in SERVER_OWNED and "e.g." not in text:
                missing.append(f"{kind} {f.name}: {text!r}")
            elif not text:
                missing.append(f"{kind} {f.name}: no description")
    assert missing == []


def test_node_agent_sku_says_how_to_list_valid_values() -> None:
    text = schema("BatchPool")["properties"]["spec"]["properties"]["nodeAgentSkuId"]
    assert LIST_SKUS in " ".join(text["description"].split())


def explained(kubectl: Kubectl, field: str) -> str:
    return " ".join(kubectl("explain", field).stdout.split())


def test_kubectl_explain_prints_the_descriptions(kubectl: Kubectl) -> None:
    vm_size = explained(kubectl, "batchpool.spec.vmSize")
    assert "Azure VM size of every node, e.g. Standard_D4s_v3." in vm_size
    assert LIST_SKUS in explained(kubectl, "bp.spec.nodeAgentSkuId")
    vhd = explained(kubectl, "managedimage.spec.source.vhd.storageAccountId")
    assert "every blobUri must be on this account" in vhd
    # Deep fields too: a list item's field and the autoscale ceilings.
    env = explained(kubectl, "batchpool.spec.startTask.environmentSettings.value")
    assert re.search(r"Variable value .*e\.g\. render", env), env
    ceiling = explained(kubectl, "batchpool.spec.scale.autoScale.maxDedicatedNodes")
    assert "counted toward the custom-image lineage limit" in ceiling
