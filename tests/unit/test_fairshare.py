"""The fair share of Azure slots: a namespace alone uses them all, waiting namespaces are
served in turn, and no cancellation leaks or loses a slot."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from batch_image_operator.config import ConfigError, Settings
from batch_image_operator.fairshare import FairShare
from batch_image_operator.metrics import Metrics

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


class Holders:
    """Tasks that each take a slot, record when they got it, and hold it until told."""

    def __init__(self, share: FairShare) -> None:
        self.share = share
        self.granted: list[str] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.done: dict[str, asyncio.Event] = {}

    async def start(self, namespace: str, name: str) -> None:
        self.done[name] = asyncio.Event()

        async def hold() -> None:
            async with self.share.slot(namespace):
                self.granted.append(name)
                await self.done[name].wait()

        self.tasks[name] = asyncio.create_task(hold())
        await settle()

    async def finish(self, name: str) -> None:
        self.done[name].set()
        await self.tasks[name]
        await settle()


async def settle() -> None:
    """Let every ready task run until each blocks again (no timing involved)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_namespace_alone_uses_every_slot_then_queues() -> None:
    share = FairShare(3)
    h = Holders(share)
    for i in range(4):
        await h.start("a", f"a{i}")
    assert h.granted == ["a0", "a1", "a2"]
    assert share.waiting() == {"a": 1}
    await h.finish("a1")
    assert h.granted == ["a0", "a1", "a2", "a3"]
    assert share.waiting() == {}


async def test_waiting_namespaces_are_served_in_turn_each_in_order() -> None:
    share = FairShare(1)
    h = Holders(share)
    await h.start("burst", "holder")
    for i in range(4):
        await h.start("burst", f"burst{i}")
    await h.start("probe", "probe0")
    await h.start("probe", "probe1")
    await h.start("third", "third0")
    assert share.waiting() == {"burst": 4, "probe": 2, "third": 1}
    for name in ["holder", "burst0", "probe0", "third0", "burst1", "probe1", "burst2"]:
        before = len(h.granted)
        await h.finish(name)
        assert len(h.granted) == before + 1 and share.free == 0  # one freed, one granted
    assert h.granted == ["holder", "burst0", "probe0", "third0", "burst1", "probe1", "burst2",
                         "burst3"]


async def test_a_late_namespace_waits_one_turn_not_the_burst() -> None:
    share = FairShare(2)
    h = Holders(share)
    for i in range(100):
        await h.start("burst", f"b{i}")
    await h.start("probe", "probe")
    await h.finish("b0")  # the burst's own next waiter was already first in turn
    await h.finish("b1")
    assert "probe" in h.granted
    assert h.granted.index("probe") == 3


async def test_a_cancelled_waiter_leaves_its_queue_and_loses_no_slot() -> None:
    seen: list[tuple[str, int]] = []
    share = FairShare(1, on_waiting=lambda ns, n: seen.append((ns, n)))
    h = Holders(share)
    await h.start("a", "holder")
    await h.start("b", "cancelled")
    await h.start("c", "next")
    h.tasks["cancelled"].cancel()
    await settle()
    assert h.tasks["cancelled"].cancelled()
    assert share.waiting() == {"c": 1}
    assert ("b", 0) in seen
    await h.finish("holder")
    assert h.granted == ["holder", "next"]
    await h.finish("next")
    assert share.free == 1 and share.waiting() == {}


async def test_a_waiter_cancelled_after_its_grant_hands_the_slot_on() -> None:
    share = FairShare(1)
    h = Holders(share)
    release = asyncio.Event()

    async def holder() -> None:
        async with share.slot("a"):
            h.granted.append("holder")
            await release.wait()
        # The slot was just granted to the next waiter, whose task has not resumed yet.
        h.tasks["granted-then-cancelled"].cancel()

    task = asyncio.create_task(holder())
    await settle()
    await h.start("b", "granted-then-cancelled")
    await h.start("c", "next")
    release.set()
    await task
    await settle()
    assert h.tasks["granted-then-cancelled"].cancelled()
    assert h.granted == ["holder", "next"]
    await h.finish("next")
    assert share.free == 1 and share.waiting() == {}


async def test_a_body_that_raises_or_is_cancelled_releases_its_slot() -> None:
    share = FairShare(1)
    with pytest.raises(RuntimeError):
        async with share.slot("a"):
            raise RuntimeError("Azure said no")
    assert share.free == 1
    h = Holders(share)
    await h.start("a", "holder")
    h.tasks["holder"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await h.tasks["holder"]
    assert share.free == 1


async def test_off_means_no_gate() -> None:
    h = Holders(FairShare(None))
    for i in range(50):
        await h.start("a", f"a{i}")
    assert len(h.granted) == 50


def test_the_setting_defaults_to_the_connection_pool_and_can_be_turned_off() -> None:
    env = {"AZURE_SUBSCRIPTION_ID": SUB, "BIO_ALLOWLIST_FILE": "unrestricted"}
    assert Settings.from_env(env).azure_concurrency == 4 * 32
    assert Settings.from_env({**env, "BIO_AZURE_CONNECTIONS": "8"}).azure_concurrency == 32
    assert Settings.from_env({**env, "BIO_AZURE_CONCURRENCY": "4"}).azure_concurrency == 4
    assert Settings.from_env({**env, "BIO_AZURE_CONCURRENCY": "off"}).azure_concurrency is None
    for bad in ("0", "-1", "many", "2.5"):
        with pytest.raises(ConfigError, match="BIO_AZURE_CONCURRENCY"):
            Settings.from_env({**env, "BIO_AZURE_CONCURRENCY": bad})


async def test_the_waiting_gauge_follows_each_namespaces_queue() -> None:
    metrics = Metrics()
    share = FairShare(1, on_waiting=metrics.slot_waiting)
    h = Holders(share)
    await h.start("a", "holder")
    await h.start("team-b", "waiting")
    assert 'batchimage_azure_slot_waiting{namespace="team-b"} 1.0' in exposition(metrics)
    await h.finish("holder")
    # Served: the namespace's series goes, rather than staying at 0 for ever.
    assert 'namespace="team-b"' not in exposition(metrics)
    await h.finish("waiting")


def exposition(metrics: Metrics) -> str:
    return metrics.exposition().decode()


async def test_a_released_slot_goes_to_a_waiter_and_comes_back_in_turn() -> None:
    from batch_image_operator.fairshare import slot_released

    share = FairShare(1)
    h = Holders(share)
    order: list[str] = []
    go_on = asyncio.Event()

    async def sleeper() -> None:
        async with share.slot("a"):
            order.append("sleeper has it")
            async with slot_released():
                await go_on.wait()
            order.append("sleeper has it again")

    task = asyncio.create_task(sleeper())
    await settle()
    await h.start("b", "b0")  # gets the slot the sleeper gave back
    assert h.granted == ["b0"] and share.free == 0
    go_on.set()
    await settle()
    assert order == ["sleeper has it"]  # queued behind b0's slot
    await h.finish("b0")
    await task
    assert order == ["sleeper has it", "sleeper has it again"] and share.free == 1


async def test_cancelled_while_released_neither_leaks_nor_doubles_a_slot() -> None:
    from batch_image_operator.fairshare import slot_released

    share = FairShare(2)

    async def sleeper() -> None:
        async with share.slot("a"), slot_released():
            await asyncio.Event().wait()

    task = asyncio.create_task(sleeper())
    await settle()
    assert share.free == 2  # given back for the wait
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert share.free == 2  # not released a second time


async def test_released_outside_any_slot_is_a_no_op() -> None:
    from batch_image_operator.fairshare import slot_released

    share = FairShare(1)
    async with slot_released():
        pass
    assert share.free == 1


async def test_a_task_started_inside_a_slot_does_not_give_the_holders_slot_away() -> None:
    """The shared Batch account read (one task awaited by every pass that needs it) once
    gave its first caller's slot away while it waited for an ARM token, then queued for a
    slot held by the other passes awaiting it: the whole operator stopped (bench, ARM
    limits run)."""
    from batch_image_operator.fairshare import slot_released

    share = FairShare(1)
    shared: asyncio.Task[None] | None = None
    paced = asyncio.Event()

    async def account_read() -> None:
        async with slot_released():  # waiting for an ARM token
            paced.set()
            await asyncio.sleep(0.01)

    async def first_pass() -> None:
        nonlocal shared
        async with share.slot("a"):
            shared = asyncio.create_task(account_read())
            await shared

    async def second_pass() -> None:
        await paced.wait()
        async with share.slot("a"):
            assert shared is not None
            await shared

    await asyncio.wait_for(asyncio.gather(first_pass(), second_pass()), timeout=5)
    assert share.free == 1


async def test_a_holder_back_from_its_wait_goes_before_passes_not_yet_started() -> None:
    """Its write was reserved for now: queued behind every pass not yet started, it went
    out seconds late, into a bucket the estimate believed refilled (bench: 172 429s)."""
    from batch_image_operator.fairshare import slot_released

    share = FairShare(1)
    h = Holders(share)
    back = asyncio.Event()
    granted_before_writer: list[str] = []

    async def writer() -> None:
        async with share.slot("a"):
            async with slot_released():
                await back.wait()
            granted_before_writer.extend(h.granted)

    task = asyncio.create_task(writer())
    await settle()
    await h.start("a", "new0")  # takes the given-back slot
    await h.start("a", "new1")  # queued before the writer comes back
    back.set()
    await settle()
    await h.finish("new0")
    # The slot goes to the writer, then to new1 (FIFO would hold the writer behind new1).
    await asyncio.wait_for(task, 2)
    assert granted_before_writer == ["new0"]
    await settle()
    await h.finish("new1")
    assert share.free == 1


async def test_holders_coming_back_are_served_in_the_order_they_came_back() -> None:
    """Served newest first, the first writer to wake waited longest and went out late
    (found in review: 20 writers, 2 slots, writer 3 went last)."""
    from batch_image_operator.fairshare import slot_released

    share = FairShare(1)
    h = Holders(share)
    wake = {name: asyncio.Event() for name in ("w1", "w2", "w3")}
    order: list[str] = []

    async def writer(name: str) -> None:
        async with share.slot("a"):
            async with slot_released():
                await wake[name].wait()
            order.append(name)

    tasks = [asyncio.create_task(writer(name)) for name in wake]
    await settle()
    await h.start("a", "new0")  # takes the slot the writers gave back
    await h.start("a", "new1")  # a pass not yet started
    for name in ("w1", "w2", "w3"):
        wake[name].set()
        await settle()
    await h.finish("new0")
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert order == ["w1", "w2", "w3"]
    await settle()
    await h.finish("new1")
    assert share.free == 1 and share.waiting() == {}


async def test_a_holder_waiting_gives_back_the_slots_of_both_shares_it_holds() -> None:
    """A pass holds its admission (runner/scheduled.py) around its Azure slot. Asleep
    for an ARM token with its admission kept, a thousand such passes held every
    admission, and the reads confirming created pools could not start."""
    from batch_image_operator.fairshare import slot_released

    admission, azure = FairShare(1), FairShare(1)
    go_on = asyncio.Event()
    order: list[str] = []

    async def sleeper() -> None:
        async with admission.slot("a"), azure.slot("a"):
            async with slot_released():
                order.append("asleep")
                await go_on.wait()
            order.append("back")

    async def reader() -> None:
        async with admission.slot("b"), azure.slot("b"):
            order.append("read")
            await go_on.wait()

    asleep = asyncio.create_task(sleeper())
    await settle()
    assert (admission.free, azure.free) == (1, 1)
    read = asyncio.create_task(reader())
    await settle()
    assert order == ["asleep", "read"]
    go_on.set()
    await asyncio.wait_for(asyncio.gather(asleep, read), 2)
    assert order == ["asleep", "read", "back"]
    assert (admission.free, azure.free) == (1, 1)


async def test_a_holder_cancelled_while_taking_its_slots_back_leaks_neither() -> None:
    from batch_image_operator.fairshare import slot_released

    admission, azure = FairShare(1), FairShare(1)
    woke = asyncio.Event()
    h = Holders(azure)

    async def sleeper() -> None:
        async with admission.slot("a"), azure.slot("a"), slot_released():
            await woke.wait()

    task = asyncio.create_task(sleeper())
    await settle()
    await h.start("b", "b0")  # takes the Azure slot the sleeper gave back
    woke.set()
    await settle()  # the sleeper has its admission again and queues for the Azure slot
    assert (admission.free, azure.free) == (0, 0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await h.finish("b0")
    assert (admission.free, azure.free) == (1, 1)


async def test_first_at_once_lets_a_namespace_holding_none_past_a_full_share() -> None:
    """The passes' admission: a namespace's first pass must not wait for another
    namespace's passes to end (early in a 5,000-object burst they wait on the API server
    for seconds)."""
    share = FairShare(2, first_at_once=True)
    h = Holders(share)
    for name in ("a0", "a1", "a2"):
        await h.start("a", name)
    await h.start("b", "b0")  # beyond the bound: b held none
    await h.start("b", "b1")  # b holds one now: it queues
    assert h.granted == ["a0", "a1", "b0"] and share.waiting() == {"a": 1, "b": 1}
    await h.finish("a0")  # brings the share back to its bound: nobody is let in
    assert h.granted == ["a0", "a1", "b0"]
    await h.finish("b0")  # b's last holder: its slot goes to b's next caller
    assert h.granted == ["a0", "a1", "b0", "b1"]
    await h.finish("a1")  # a's last holder, the same
    assert h.granted == ["a0", "a1", "b0", "b1", "a2"]
    await h.finish("a2")
    await h.finish("b1")
    assert share.free == 2 and share.waiting() == {}
    await h.start("c", "c0")
    await h.finish("c0")
    assert share.free == 2


async def test_a_namespace_with_callers_never_holds_none() -> None:
    """Found in review: a's last holder left, its queued a1 waited for b's pass to end,
    and a later a2 got in ahead of it, beyond the bound."""
    share = FairShare(1, first_at_once=True)
    h = Holders(share)
    await h.start("a", "a0")
    await h.start("b", "b0")  # beyond the bound
    await h.start("a", "a1")  # queued: a holds one
    await h.finish("a0")
    assert h.granted == ["a0", "b0", "a1"]
    await h.start("a", "a2")  # a holds a1: it queues, however a1 was granted
    assert h.granted == ["a0", "b0", "a1"] and share.waiting() == {"a": 1}
    await h.finish("b0")  # back at the bound: nobody let in
    assert h.granted == ["a0", "b0", "a1"]
    await h.finish("a1")
    await h.finish("a2")
    assert share.free == 1 and share.waiting() == {}


async def test_a_namespace_let_in_beyond_the_bound_holds_none_once_it_ends() -> None:
    share = FairShare(1, first_at_once=True)
    h = Holders(share)
    await h.start("a", "a0")
    await h.start("b", "b0")  # beyond the bound
    await h.finish("b0")
    await h.start("b", "b1")  # b holds none again: in at once
    assert h.granted == ["a0", "b0", "b1"]
    await h.finish("b1")
    await h.finish("a0")
    assert share.free == 1


async def test_slots_given_back_are_taken_again_outermost_first() -> None:
    """Every holder takes its admission before its Azure slot. A holder back from its
    wait that took the Azure slot first, then queued for the admission held by a pass
    queued for that Azure slot, would stop both for good."""
    from batch_image_operator.fairshare import slot_released

    admission, azure = FairShare(1), FairShare(1)
    woke, admitted, go_on = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def sleeper() -> None:
        async with admission.slot("a"), azure.slot("a"), slot_released():
            await woke.wait()

    async def admitted_then_azure() -> None:
        async with admission.slot("b"):
            admitted.set()
            await go_on.wait()
            async with azure.slot("b"):
                pass

    first = asyncio.create_task(sleeper())
    await settle()
    second = asyncio.create_task(admitted_then_azure())
    await admitted.wait()
    woke.set()
    await settle()  # the sleeper is back, queued for what it gave back
    go_on.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert (admission.free, azure.free) == (1, 1)


def test_a_share_needs_at_least_one_slot() -> None:
    for slots in (0, -1):
        with pytest.raises(ValueError):
            FairShare(slots)
    assert FairShare(1).free == 1


class Writers:
    """Holders that each take a slot, give it back for a wait (an ARM token), and come
    back when told; they record the order in which they have their slot again."""

    def __init__(self, share: FairShare, order: list[str]) -> None:
        from batch_image_operator.fairshare import slot_released

        self.share, self.order = share, order
        self.wake: dict[str, asyncio.Event] = {}
        self.done: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._released = slot_released

    async def start(self, namespace: str, name: str) -> None:
        self.wake[name], self.done[name] = asyncio.Event(), asyncio.Event()

        async def write() -> None:
            async with self.share.slot(namespace):
                async with self._released():
                    await self.wake[name].wait()
                self.order.append(name)
                await self.done[name].wait()

        self.tasks[name] = asyncio.create_task(write())
        await settle()


async def test_holders_back_from_waits_keep_their_order_as_they_are_served() -> None:
    """Each holder back from a wait goes after those back before it and before passes not
    started, however many of them were served meanwhile."""
    share = FairShare(1)
    order: list[str] = []
    w = Writers(share, order)
    for name in ("w1", "w2", "w3"):
        await w.start("a", name)  # each takes the free slot, then gives it back
    h = Holders(share)
    for name in ("n0", "n1", "n2"):
        await h.start("a", name)
    assert h.granted == ["n0"]
    for name in ("w1", "w2"):
        w.wake[name].set()
        await settle()
    await h.finish("n0")  # -> w1
    assert order == ["w1"]
    w.wake["w3"].set()  # back now: after w2, before n1
    await settle()
    for name in ("w1", "w2", "w3"):
        w.done[name].set()
        await settle()
    assert order == ["w1", "w2", "w3"] and h.granted == ["n0", "n1"]
    await h.finish("n1")
    await h.finish("n2")
    await asyncio.gather(*w.tasks.values())
    assert share.free == 1 and share.waiting() == {}


async def test_cancelled_waiters_leave_the_order_of_those_back_from_waits_intact() -> None:
    share = FairShare(1)
    order: list[str] = []
    w = Writers(share, order)
    for name in ("w1", "w2", "w3", "w4"):
        await w.start("a", name)
    h = Holders(share)
    for name in ("n0", "n1", "n2", "n3"):
        await h.start("a", name)

    async def cancel(task: asyncio.Task[None]) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def back(name: str) -> None:
        w.wake[name].set()
        await settle()

    await back("w1")
    await back("w2")  # w1 w2 | n1 n2 n3
    await cancel(h.tasks["n3"])  # passes not started, behind and just behind those back
    await cancel(h.tasks["n1"])
    await back("w3")  # w1 w2 w3 | n2
    await cancel(w.tasks["w1"])  # one back, cancelled
    await back("w4")  # w2 w3 w4 | n2
    await h.finish("n0")
    for name in ("w2", "w3", "w4"):
        w.done[name].set()
        await settle()
    assert order == ["w2", "w3", "w4"] and h.granted == ["n0", "n2"]
    await h.finish("n2")
    assert share.free == 1 and share.waiting() == {}


async def test_a_waiter_cancelled_as_the_slot_frees_lets_the_next_one_in() -> None:
    """Cancelled in the same loop turn the holder ends, its task not yet resumed: the
    freed slot goes on to the next namespace, and the cancelled one leaves cleanly."""
    share = FairShare(1)
    h = Holders(share)
    await h.start("h", "holder")
    await h.start("a", "a0")
    await h.start("b", "b0")
    h.done["holder"].set()  # the holder resumes first...
    h.tasks["a0"].cancel()  # ...then a0, cancelled
    with pytest.raises(asyncio.CancelledError):
        await h.tasks["a0"]
    await h.tasks["holder"]
    await settle()
    assert h.granted == ["holder", "b0"] and share.waiting() == {}
    await h.finish("b0")
    assert share.free == 1


async def test_a_namespace_counts_each_slot_it_holds_as_they_end() -> None:
    share = FairShare(2, first_at_once=True)
    h = Holders(share)
    await h.start("a", "a0")
    await h.start("a", "a1")
    await h.start("b", "b0")  # beyond the bound
    await h.start("b", "b1")  # queued
    await h.finish("a0")  # back at the bound
    await h.finish("a1")  # a holds none: the freed slot goes to b1
    assert h.granted == ["a0", "a1", "b0", "b1"]
    await h.start("a", "a2")  # a holds none: in at once, beyond the bound
    assert h.granted[-1] == "a2"
    for name in ("b0", "b1", "a2"):
        await h.finish(name)
    assert share.free == 2


async def test_a_namespace_holding_one_of_three_is_not_taken_for_holding_none() -> None:
    share = FairShare(3, first_at_once=True)
    h = Holders(share)
    for name in ("a0", "a1", "a2"):
        await h.start("a", name)
    await h.start("b", "b0")  # beyond the bound
    await h.finish("a0")  # back at the bound
    await h.finish("a1")  # a still holds a2; one slot free
    await h.start("c", "c0")  # takes it: the share is full again
    await h.start("a", "a3")  # a holds a2: it queues
    assert h.granted == ["a0", "a1", "a2", "b0", "c0"]
    for name in ("a2", "b0", "c0", "a3"):
        await h.finish(name)
    assert share.free == 3


async def test_current_namespace_is_the_innermost_slots() -> None:
    from batch_image_operator.fairshare import current_namespace
    outer, inner = FairShare(2), FairShare(2)
    assert current_namespace() is None
    async with outer.slot("team-a"):
        assert current_namespace() == "team-a"
        async with inner.slot("team-b"):
            assert current_namespace() == "team-b"
        assert current_namespace() == "team-a"
    assert current_namespace() is None


async def test_a_slot_apart_is_neither_named_nor_given_back_by_a_wait() -> None:
    from batch_image_operator.fairshare import current_namespace, slot_released
    apart = FairShare(1)
    async with apart.slot("team-a", nested=False):
        assert current_namespace() is None
        async with slot_released():
            assert apart.free == 0  # still held through the wait
    assert apart.free == 1
