"""docs/metrics.md against a running operator's /metrics: every series it serves is
documented, every documented series is served, and no label carries an unbounded value."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from batch_image_operator.azure.observe import OPERATIONS
from helpers.system import CRs, has_condition, load_example, running_operator
from simlaunch import Emulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
# A documented series: a table row whose first cell is a backticked metric name.
ROW = re.compile(r"^\| `([a-z_:][a-z0-9_:]*)` \|", re.M)
POOL_SERIES = {"batchimage_pool_current_nodes", "batchimage_pool_target_nodes",
               "batchimage_pool_resize_attempts"}


def documented() -> set[str]:
    """The series in the table under "## Every series" (up to the next heading)."""
    section = DOC.read_text().split("## Every series", 1)[1].split("\n#", 1)[0]
    return set(ROW.findall(section))


Sample = tuple[str, dict[str, str], float]


def served(text: str) -> dict[str, list[Sample]]:
    """Series name as a user queries it (counters with _total, info with _info) ->
    its samples (name, labels, value)."""
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
        out[family.name + suffix] = [(s.name, dict(s.labels), s.value) for s in family.samples]
    return out


def test_documented_metrics_are_exactly_the_served_ones(kubesim: Emulator, azuresim: Emulator,
                                                        crs: CRs) -> None:
    with running_operator(kubesim.url, azuresim.env) as op:
        for doc in load_example("snapshots"):
            crs.create(doc)
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        crs.wait("batchpools", "render-pool", has_condition("Ready"))
        live = served(op.metrics())

        docs = documented()
        assert len(docs) > 20, "the table of docs/metrics.md was not found"
        assert sorted(set(live) - docs) == [], "served but not in docs/metrics.md"
        assert sorted(docs - set(live)) == [], "in docs/metrics.md but not served"
        assert not [n for n in live if n.endswith("_created")]

        labels = [lab for samples in live.values() for _, lab, _ in samples]
        operations = {lab["operation"] for lab in labels if "operation" in lab}
        assert operations and operations <= OPERATIONS
        assert {"nodeCounts.list", "images.put", "pools.put"} <= operations
        # No account, resource or host name in any label but the pool gauges' own.
        for name, samples in live.items():
            for _, lab, _ in samples:
                values = [v for k, v in lab.items()
                          if not (name in POOL_SERIES and k in ("namespace", "name"))]
                assert not [v for v in values if re.search(
                    r"batchdemo|render-pool|ubuntu-hpc|rg-batch|127\.0\.0\.1|://", v)], lab

        pool = crs.get("batchpools", "render-pool")
        target = pool["spec"]["scale"]["fixed"]["targetDedicatedNodes"]
        for series, want in (("batchimage_pool_current_nodes", pool["status"]),
                             ("batchimage_pool_target_nodes", None)):
            got = {lab["priority"]: value for _, lab, value in live[series]
                   if (lab["namespace"], lab["name"]) == ("default", "render-pool")}
            assert set(got) == {"dedicated", "lowPriority"}
            assert got["dedicated"] == (want["currentDedicatedNodes"] if want else target)
        builds = [(lab, value) for n, lab, value in live["batchimage_image_build_duration_seconds"]
                  if n.endswith("_count")]
        assert builds == [({"result": "succeeded"}, 1.0)]
        reasons = {(lab["kind"], lab["reason"]): value
                   for _, lab, value in live["batchimage_objects_by_reason"] if value}
        assert reasons == {("ManagedImage", "ImageReady"): 1.0, ("BatchPool", "Steady"): 1.0}

        # The per-pool series go with the pool.
        crs.delete("batchpools", "render-pool")
        crs.wait_deleted("batchpools", "render-pool")
        after = served(op.metrics())
        for name in POOL_SERIES:
            assert after[name] == [], (name, after[name])
