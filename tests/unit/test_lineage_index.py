"""A pool's admission finds the pools of its image lineage through the lineage index:
every sibling (same image, same snapshots, same image id), nothing else, and without
reading the keys of unrelated images (a walk over them was O(images) per pass)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from batch_image_operator.models.references import ImageInfo
from batch_image_operator.runner.indexes import (
    ImageKey,
    PoolEntry,
    admitted_demands,
    image_info_of,
    images_by_lineage,
)

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-batch-images/providers/Microsoft.Compute"


def image_doc(snapshot: str) -> dict[str, Any]:
    """A valid ManagedImage spec built from one snapshot of ``snapshot``."""
    return {"resourceGroup": "rg-batch-images", "location": "westeurope",
            "source": {"snapshots": {"osDisk": {
                "snapshotId": f"{RG}/snapshots/{snapshot}", "osType": "Linux",
                "osState": "Generalized"}}}}


class Recording(Mapping[Any, list[Any]]):
    """A Kopf index as a mapping that records the keys read and refuses to be walked."""

    def __init__(self, data: dict[Any, list[Any]]) -> None:
        self.data, self.read = data, set()

    def __getitem__(self, key: Any) -> list[Any]:
        self.read.add(key)
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        self.read.add(key)
        return key in self.data

    def __iter__(self) -> Iterator[Any]:
        raise AssertionError("the whole index was walked")

    def __len__(self) -> int:
        return len(self.data)


def indexes(images: dict[str, str], pools: dict[str, ImageKey]) -> tuple[Any, Any, Any]:
    image_index: dict[Any, list[ImageInfo]] = {}
    lineage_index: dict[Any, list[Any]] = {}
    for name, snapshot in images.items():
        meta = {"uid": f"uid-{name}", "generation": 1}
        spec, status = image_doc(snapshot), {"imageId": f"{RG}/images/{name}"}
        for element, key in images_by_lineage("ns", name, meta, spec, status, SUB).items():
            lineage_index.setdefault(element, []).append(key)
        for key, info in image_info_of("ns", name, meta, spec, status, SUB).items():
            image_index[key] = [info]
    pool_index: dict[Any, list[PoolEntry]] = {}
    for name, key in pools.items():
        entry = PoolEntry("ns", name, f"uid-{name}", None, "", 5, 0, admitted=(5, 0))
        pool_index.setdefault(key, []).append(entry)
        pool_index.setdefault(("ns", "ns"), []).append(entry)
    return Recording(pool_index), Recording(image_index), Recording(lineage_index)


def test_siblings_by_image_by_snapshot_and_by_id_and_nothing_else() -> None:
    images = {"a": "snap-a", "a2": "snap-a", **{f"other{i}": f"snap-{i}" for i in range(200)}}
    pools = {"on-a": ("ref", "ns", "a"), "on-a2": ("ref", "ns", "a2"),
             "by-id": ("id", f"{RG}/images/a".lower()),
             "on-missing": ("ref", "ns", "gone"),
             **{f"p{i}": ("ref", "ns", f"other{i}") for i in range(200)}}
    pool_index, image_index, lineage_index = indexes(images, pools)
    lineage = image_index.data[("ns", "a")][0].lineage
    found = admitted_demands(lineage, pool_index, image_index, lineage_index, {})
    assert sorted(d.name for d in found) == ["by-id", "on-a", "on-a2"]
    assert all(d.nodes == (5, 0) for d in found)
    # O(siblings): only the keys the lineage can meet were read, never the 200 others.
    assert not any(key[1:] == ("ns", f"other{i}") for key in pool_index.read
                   for i in range(200))
    assert len(image_index.read) <= 3


def test_this_process_newer_record_of_admitted_nodes_wins() -> None:
    pool_index, image_index, lineage_index = indexes(
        {"a": "snap-a"}, {"x": ("ref", "ns", "a"), "y": ("ref", "ns", "a")})
    lineage = image_index.data[("ns", "a")][0].lineage
    found = admitted_demands(lineage, pool_index, image_index, lineage_index,
                             {"uid-x": (40, 2)})
    assert {d.name: d.nodes for d in found} == {"x": (40, 2), "y": (5, 0)}
