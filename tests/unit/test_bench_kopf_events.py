"""bench/kopf_events.py measures what it says: Kopf's own processing of pool events with
this operator's handlers registered (the pools end up in the operator's pool index)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from batch_image_operator.runner.scheduled import ScheduledPasses

BENCH = Path(__file__).resolve().parents[2] / "bench" / "kopf_events.py"


async def test_the_events_go_through_kopf_and_the_operators_indexes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("kopf_events", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    requested: list[str] = []
    monkeypatch.setattr(ScheduledPasses, "request",
                        lambda self, kind, uid, status: requested.append(uid))
    figures, indexers = await module.measure(pools=10, rounds=2)
    assert len(figures) == 2 and all(f > 0 for f in figures)
    assert sorted(requested) == sorted(f"uid-{i}" for i in range(10))  # created once each
    pools = indexers.indices["pool_index"]
    assert len(list(pools[("ns", "default")])) == 10
    assert [e.name for e in pools[("ref", "default", "image-3")]] == ["pool-3"]
