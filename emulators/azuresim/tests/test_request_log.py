"""azuresim's request log tells callers apart and orders them in time: each entry has
the caller's User-Agent and when it was answered (the leader election tests use both to
show which operator process wrote what, and when)."""

from __future__ import annotations

import time

from azuresim_support import Azure, http


def test_each_entry_names_its_caller_and_time(azure: Azure) -> None:
    token = azure.arm_token()
    before = time.time()
    for agent in ("batch-image-operator/pod-a_1", "batch-image-operator/pod-b_2"):
        status, _, _ = http(
            "GET", f"{azure.url}/subscriptions/{azure.sub}/resourceGroups/rg-none/providers/"
            f"Microsoft.Compute/images/{agent[-4:]}?api-version=2024-03-01", azure.ca,
            headers={"Authorization": f"Bearer {token}", "User-Agent": agent})
        assert status == 404
    after = time.time()
    log = azure.admin("GET", "/requests")["requests"][-2:]
    assert [e["userAgent"] for e in log] == ["batch-image-operator/pod-a_1",
                                            "batch-image-operator/pod-b_2"]
    assert before <= log[0]["at"] <= log[1]["at"] <= after
