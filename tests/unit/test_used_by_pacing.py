"""An image's `usedBy` changes are coalesced: written at once after a quiet spell, then
at doubling intervals while pools keep joining, never more than a bound behind."""

from __future__ import annotations

from batch_image_operator.planning.usedby import UsedByPacing


def stream(pacing: UsedByPacing, joins: list[float], until: float,
           tick: float = 1.0) -> tuple[int, float, list[str]]:
    """Pools join at ``joins``; the image looks every ``tick`` s (its daemon's poll).
    Returns the writes, the longest any pool waited to be shown, and the list shown."""
    written: list[str] = []
    writes, waited, now = 0, 0.0, 0.0
    while now <= until:
        users = [f"p{i}" for i, at in enumerate(joins) if at <= now]
        shown = pacing.shown("img", users, written, now)
        if shown != written:
            writes, written = writes + 1, shown
        missing = [at for i, at in enumerate(joins) if at <= now and f"p{i}" not in written]
        waited = max([waited, *(now - at for at in missing)])
        now = round(now + tick, 6)
    return writes, waited, written


def test_a_long_burst_costs_a_few_writes_not_one_per_pool() -> None:
    # 20 pools join an image over 90 s (5,000 pools over 250 images, picked up over a
    # minute and a half): written at every change, that was 20 PATCHes of the image.
    joins = [i * 4.5 for i in range(20)]
    writes, waited, shown = stream(UsedByPacing(1.0, 60.0), joins, until=200)
    assert shown == [f"p{i}" for i in range(20)]
    assert writes <= 8
    assert waited <= 60.0
    # A short burst (1,000 pools: the same 20 over 10 s) costs about as many.
    short, _, _ = stream(UsedByPacing(1.0, 60.0), [i * 0.5 for i in range(20)], until=100)
    assert short <= 6 and writes - short <= 3


def test_after_a_quiet_spell_a_change_is_shown_at_once() -> None:
    pacing = UsedByPacing(10.0, 60.0)
    assert pacing.shown("img", ["a"], [], 0.0) == ["a"]
    # A minute later nothing is held back, however busy it was before.
    assert pacing.shown("img", ["a", "b"], ["a"], 61.0) == ["a", "b"]
    # Right after a write a change waits for the next interval ...
    assert pacing.shown("img", ["a", "b", "c"], ["a", "b"], 65.0) == ["a", "b"]
    assert pacing.shown("img", ["a", "b", "c"], ["a", "b"], 71.0) == ["a", "b", "c"]
    # ... and a pool leaving is coalesced the same way; nothing to change, nothing held.
    assert pacing.shown("img", ["a", "b", "c"], ["a", "b", "c"], 72.0) == ["a", "b", "c"]
    assert pacing.shown("img", ["a"], ["a", "b", "c"], 80.0) == ["a", "b", "c"]
    assert pacing.shown("img", ["a"], ["a", "b", "c"], 91.0) == ["a"]


def test_images_are_paced_each_on_its_own_and_forgotten() -> None:
    pacing = UsedByPacing(10.0, 60.0)
    assert pacing.shown("one", ["a"], [], 0.0) == ["a"]
    assert pacing.shown("two", ["b"], [], 1.0) == ["b"]
    assert pacing.shown("one", ["a", "c"], ["a"], 2.0) == ["a"]
    pacing.forget("one")
    assert pacing.shown("one", ["a", "c"], ["a"], 3.0) == ["a", "c"]


def test_looking_without_a_change_uses_up_no_write() -> None:
    pacing = UsedByPacing(1.0, 60.0)
    assert pacing.shown("img", ["a"], ["a"], 0.0) == ["a"]    # nothing changed
    # So the first real change after it is still written at once.
    assert pacing.shown("img", ["a", "b"], ["a"], 0.0) == ["a", "b"]


def test_the_spacing_boundaries() -> None:
    pacing = UsedByPacing(1.0, 60.0)
    assert pacing.shown("img", ["a"], [], 0.0) == ["a"]              # gap now 1 s
    assert pacing.shown("img", ["a", "b"], ["a"], 0.5) == ["a"]       # within the gap
    assert pacing.shown("img", ["a", "b"], ["a"], 1.5) == ["a", "b"]  # past it: gap 2 s
    assert pacing.shown("img", ["a", "b", "c"], ["a", "b"], 3.5) == ["a", "b", "c"]
    # Exactly the longest spacing after the last write counts as a quiet spell: the gap
    # starts again from the first one.
    assert pacing.shown("img", ["a", "b", "c", "d"], ["a", "b", "c"], 63.5) == [
        "a", "b", "c", "d"]
    assert pacing.shown("img", ["e"], ["a", "b", "c", "d"], 64.5) == ["e"]
