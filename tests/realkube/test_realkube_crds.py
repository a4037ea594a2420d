"""crds/ and examples/ on the real kube-apiserver: the schemas are structural and their
CEL rules within the cost limits (the server refuses the CRD otherwise), `kubectl explain`
and the printer columns work, every example applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers.realkube import REPO, kubectl
from realkube.launch import RealKube

pytestmark = pytest.mark.realkube

EXAMPLES = sorted(p.name for p in (REPO / "examples").iterdir() if p.is_dir())


def crd_file(name: str) -> dict[str, object]:
    return yaml.safe_load((REPO / "crds" / f"{name}.yaml").read_text())  # type: ignore[no-any-return]


def test_crds_are_accepted_as_structural(realkube: RealKube, crds: list[str],
                                         kubectl_cache: Path) -> None:
    for name in crds:
        out = kubectl(realkube.kubeconfig, "get", f"crd/{name}", "-o", "json",
                      cache_dir=kubectl_cache).stdout
        conditions = {c["type"]: c["status"] for c in json.loads(out)["status"]["conditions"]}
        assert conditions.get("Established") == "True", (name, conditions)
        assert conditions.get("NamesAccepted") == "True", (name, conditions)
        assert "NonStructuralSchema" not in conditions, (name, conditions)


def test_kubectl_explain_reads_the_crd_descriptions(realkube: RealKube, crds: list[str],
                                                     kubectl_cache: Path) -> None:
    out = kubectl(realkube.kubeconfig, "explain", "batchpool.spec.vmSize",
                  cache_dir=kubectl_cache).stdout
    assert "FIELD: vmSize <string>" in out, out
    assert "Azure VM size of every node, e.g. Standard_D4s_v3." in " ".join(out.split()), out
    out = kubectl(realkube.kubeconfig, "explain", "managedimage.spec.source",
                  cache_dir=kubectl_cache).stdout
    assert "snapshots" in out and "virtualMachine" in out, out


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_applies_with_the_real_kubectl(example: str, realkube: RealKube,
                                                      crds: list[str], namespace: str,
                                                      kubectl_cache: Path) -> None:
    out = kubectl(realkube.kubeconfig, "apply", "-n", namespace, "-f",
                  str(REPO / "examples" / example), cache_dir=kubectl_cache).stdout
    assert "created" in out, out
    documents = [d for f in sorted((REPO / "examples" / example).glob("*.yaml"))
                 for d in yaml.safe_load_all(f.read_text()) if d]
    listed = json.loads(kubectl(realkube.kubeconfig, "get", "batchimage", "-n", namespace,
                                "-o", "json", cache_dir=kubectl_cache).stdout)["items"]
    assert sorted(o["metadata"]["name"] for o in listed) == sorted(
        d["metadata"]["name"] for d in documents)


def test_printer_columns_are_served(realkube: RealKube, crds: list[str], namespace: str,
                                    kubectl_cache: Path) -> None:
    kubectl(realkube.kubeconfig, "apply", "-n", namespace, "-f",
            str(REPO / "examples" / "snapshots"), cache_dir=kubectl_cache)
    for name, short in (("batchpools.batchimage.dev", "bp"),
                        ("managedimages.batchimage.dev", "mi")):
        spec = crd_file(name)["spec"]
        assert isinstance(spec, dict)
        columns = [c["name"].upper() for c in spec["versions"][0]["additionalPrinterColumns"]]
        out = kubectl(realkube.kubeconfig, "get", short, "-n", namespace, "-o", "wide",
                      cache_dir=kubectl_cache).stdout
        header = out.splitlines()[0].split()
        assert header == ["NAME", *columns], (header, columns)
    row = kubectl(realkube.kubeconfig, "get", "bp", "render-pool", "-n", namespace,
                  "--no-headers", "-o", "wide", cache_dir=kubectl_cache).stdout.split()
    assert "Standard_D4s_v3" in row and "ubuntu-hpc" in row, row
