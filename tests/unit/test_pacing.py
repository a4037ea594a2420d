"""The pacing policy in an azure-core pipeline: waits for ARM's budget only where ARM
reports one, learns from 429s, and remembers each LRO's Retry-After."""

import asyncio
import itertools

from azure.core.pipeline import PipelineContext, PipelineRequest, PipelineResponse
from azure.core.rest import HttpRequest

from batch_image_operator.azure.pacing import ArmPacer, PacingPolicy
from batch_image_operator.planning.armbudget import Limit

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
POOL = (f"https://arm/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Batch/"
        "batchAccounts/a/pools/p?api-version=2024-07-01")


class FakeResponse:
    def __init__(self, status, headers):
        self.status_code, self.headers = status, headers


class Next:
    """The rest of the pipeline: answers from a script, records when each call was sent."""

    def __init__(self, clock, answers):
        self.clock, self.answers, self.sent = clock, list(answers), []

    async def send(self, request):
        self.sent.append((request.http_request.method, self.clock[0]))
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        return PipelineResponse(request.http_request, FakeResponse(status, headers),
                                request.context)


def run(policy, clock, method="GET", url=POOL, n=1):
    async def go():
        real_sleep = asyncio.sleep

        async def fake_sleep(seconds):
            clock[0] += seconds
            await real_sleep(0)
        asyncio.sleep = fake_sleep
        try:
            for _ in range(n):
                await policy.send(PipelineRequest(HttpRequest(method, url),
                                                  PipelineContext(None)))
        finally:
            asyncio.sleep = real_sleep
    asyncio.run(go())


def make(answers, limit=None):
    limit = limit or Limit(3, 1)
    clock = [0.0]
    pacer = ArmPacer({"reads": limit, "writes": limit, "deletes": limit},
                     clock=lambda: clock[0])
    policy = PacingPolicy(pacer)
    policy.next = Next(clock, answers)
    return clock, pacer, policy


def test_requests_wait_for_tokens_where_arm_reports_a_budget():
    header = {"x-ms-ratelimit-remaining-subscription-reads": "2"}
    clock, _, policy = make([(200, header)] * 10, Limit(5, 1))
    run(policy, clock, n=5)
    # ARM keeps saying 2 are left; with the safety margin that is none: from the second
    # request on, each waits for the refill (1 a second).
    times = [t for _, t in policy.next.sent]
    assert times[0] == 0
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(times))


def test_an_endpoint_without_rate_limit_headers_is_not_paced():
    clock, _, policy = make([(200, {})] * 20)
    run(policy, clock, n=20)
    assert clock[0] < 3.0   # the first answer shows no budget: the rest go at once


def test_a_429_holds_the_next_request_for_retry_after():
    header = {"x-ms-ratelimit-remaining-subscription-writes": "0", "Retry-After": "9"}
    clock, pacer, policy = make([(429, header), (200, {
        "x-ms-ratelimit-remaining-subscription-writes": "5"})], Limit(100, 10))
    run(policy, clock, method="PUT", n=2)
    assert pacer.throttled == 1
    assert policy.next.sent[1][1] >= 9.0


def test_an_lros_retry_after_is_remembered_for_its_resource():
    clock, pacer, policy = make([(201, {"Retry-After": "60",
                                        "x-ms-ratelimit-remaining-subscription-writes": "9"})])
    run(policy, clock, method="PUT")
    path = POOL.split("https://arm", 1)[1].split("?")[0]
    assert pacer.poll_interval(path) == 60
    assert pacer.poll_interval(path.upper().replace("SUBSCRIPTIONS", "subscriptions")) == 60
    assert pacer.poll_interval("/subscriptions/x/other") == 0


def test_a_pass_waiting_for_a_token_gives_its_azure_slot_to_others():
    """Under ARM's write limit, passes asleep before their write held every Azure slot,
    so the reads confirming pools already created waited for the whole burst (the bench's
    ARM-limits run: 1,000 confirming GETs all after the last write)."""
    from batch_image_operator.fairshare import FairShare

    header = {"x-ms-ratelimit-remaining-subscription-writes": "0", "Retry-After": "30"}
    clock, _, policy = make([(429, header), (200, {})], Limit(100, 10))
    share = FairShare(1)
    seen: list[str] = []

    async def go():
        async def writer():
            async with share.slot("burst"):
                for _ in range(2):  # the 429, then the write that waits for Retry-After
                    await policy.send(PipelineRequest(HttpRequest("PUT", POOL),
                                                      PipelineContext(None)))
                seen.append("written")

        async def reader():
            await asyncio.sleep(0.01)
            async with share.slot("burst"):
                seen.append("read")

        w = asyncio.create_task(writer())
        r = asyncio.create_task(reader())
        await asyncio.wait_for(asyncio.gather(w, r), timeout=30)  # real time: a guard
        assert share.free == 1

    real_sleep = asyncio.sleep

    async def fake_sleep(seconds):
        if seconds >= 1:  # the pacer's wait: virtual time, yet long enough to interleave
            clock[0] += seconds
            await real_sleep(0.05)
        else:
            await real_sleep(seconds)
    asyncio.sleep = fake_sleep
    try:
        asyncio.run(go())
    finally:
        asyncio.sleep = real_sleep
    # The read got the only slot while the write waited for its token.
    assert seen == ["read", "written"]


def _one_put_behind(queued: int, during_sleep):
    """One PUT behind ``queued`` reserved writes (it must wait for its token); each of
    its sleeps first calls ``during_sleep(budget, clock, sleeps)``, then advances the
    clock by what it was asked. Returns (budget, its sleeps)."""
    header = {"x-ms-ratelimit-remaining-subscription-writes": "50"}
    clock, pacer, policy = make([(200, header)] * 3, Limit(10, 1))
    run(policy, clock, method="PUT")             # learns the subscription is paced
    budget = pacer.budget(SUB, "writes")
    for _ in range(queued):
        budget.reserve(clock[0])
    sleeps = []

    async def go():
        real_sleep = asyncio.sleep

        async def fake_sleep(seconds):
            sleeps.append(seconds)
            during_sleep(budget, clock, sleeps)
            clock[0] += seconds
            await real_sleep(0)
        asyncio.sleep = fake_sleep
        try:
            await policy.send(PipelineRequest(HttpRequest("PUT", POOL), PipelineContext(None)))
        finally:
            asyncio.sleep = real_sleep
    asyncio.run(go())
    return budget, sleeps


def _late_write(others_during_sleep: int, oversleep: float):
    """One PUT that must wait for its token and wakes ``oversleep`` s after its turn,
    while ``others_during_sleep`` writes reserve behind it. Returns (budget, its sleeps)."""
    def meanwhile(budget, clock, sleeps):
        clock[0] += oversleep
        for _ in range(others_during_sleep):
            budget.reserve(clock[0] + sleeps[-1])
    return _one_put_behind(20, meanwhile)


def test_a_late_write_behind_a_queue_is_sent_without_paying_twice():
    # Others queued behind it while it slept: the estimate never reached its cap, so the
    # token it reserved is still counted; a second one would put it behind the queue.
    budget, sleeps = _late_write(others_during_sleep=30, oversleep=5)
    assert len(sleeps) == 1                     # sent on waking, not after another wait
    assert budget.tokens < 0                    # the queue behind it is still there


def test_a_late_write_after_the_estimate_refilled_takes_a_fresh_token():
    # Nobody behind it and it woke 30 s late: the estimate refilled to its cap meanwhile,
    # so its first token was lost to the cap; ARM will still take one.
    budget, _ = _late_write(others_during_sleep=0, oversleep=30)
    assert budget.tokens == budget.limit.capacity - budget.safety - 1


def test_a_queued_write_is_pushed_back_when_another_client_drains_the_bucket():
    """Review finding: what ARM reported could not lower the estimate while requests
    were queued, so another client of the same principal during a burst meant 429s for
    every queued request until the queue drained. Now ARM's shortfall moves the queue."""
    def meanwhile(budget, clock, sleeps):
        if len(sleeps) == 1:
            # Meanwhile an answer to one of ours: ARM has 4 tokens fewer than we
            # thought (another client took them); 8 of ours are still unsent.
            budget.sent()
            expected = budget.tokens + budget.pending + budget.safety
            budget.observe(int(expected) - 4, clock[0])
    budget, sleeps = _one_put_behind(8, meanwhile)
    # Its turn moved back by the 4 tokens' refill (1 a second), then it was sent.
    assert len(sleeps) == 2 and sleeps[1] == 4.0
    assert sleeps[0] == 3.0                     # its turn behind the queue
    assert budget.pending == 7                  # the eight queued, less the one answered
