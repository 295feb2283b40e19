"""The disclosure gateway (issue 18): its events/s with two partner agencies against the
relay's on the same number of events (goal: at least 0.5x), and the latency it adds from an
event on its source topic to the partner's share topic (p50, p99; the hold included).

Gateway: EVENTS RiskFlagRaised events of CASES cases, each case's harmed person having granted
both partners safety_concerns for RiskFlagRaised, occurred a minute ago (their hold has
passed), published on the risk topic; timed from the first publish (the gateway running, the
grants and cases taken in) until both partners' share topics hold every disclosure (decided,
ledger and outbox rows written, published). Relay:
`mend_events.messaging.relay.Relay` publishing EVENTS stored events from its start until its
checkpoint reaches the head. Latency: LATENCY events published one at a time with occurred_at
now, each timed until it is on a partner's topic. `MEND_BENCH_DISCLOSURE_EVENTS` (default 2000)
and `MEND_BENCH_DISCLOSURE_HOLD` (seconds, default 0.2) set the sizes; the lead runs it full."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer
from mend_events.app.settings import SERVICES, Settings, kafka_options, share_topic
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import consent as cev
from mend_events.contracts.catalog import hub as hev
from mend_events.contracts.catalog import risk as rev
from mend_events.contracts.catalog import sessions as sev
from mend_events.messaging.cloudevents import to_message
from mend_events.messaging.relay import Relay, producer_for
from mend_events.messaging.topics import delete_topics, ensure_named, ensure_topics
from mend_events.store import EventStore

from bench.common import (
    Result,
    Timer,
    app_pool,
    copy_events,
    fresh_schema,
    fresh_topics,
    latency_results,
    result,
)

EVENTS = int(os.environ.get("MEND_BENCH_DISCLOSURE_EVENTS", "2000"))
HOLD = float(os.environ.get("MEND_BENCH_DISCLOSURE_HOLD", "0.2"))
CASES = max(1, EVENTS // 20)
LATENCY = min(200, max(20, EVENTS // 10))
PARTNERS = ("bench-police", "bench-care")


def _key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def _flag() -> rev.RiskFlagRaised:
    return rev.RiskFlagRaised(flag_id=uuid.uuid4(), severity="high", category="coercive_control",
                              affects=None)  # fmt: skip


class _Feed:
    def __init__(self, producer, prefix: str) -> None:
        self.producer, self.prefix = producer, prefix

    async def send(self, service: str, stream: str, model, at: datetime, role=Role.PRACTITIONER):
        from mend_testkit.samples import delivered

        event = delivered(service, stream, model, actor="prac-bench01", role=role, at=at)
        key, value, headers = to_message(event)
        return await self.producer.send(f"{self.prefix}{service}.events.v1", value, key=key,
                                        headers=headers)  # fmt: skip


class _Counter:
    """Counts the messages on the partners' share topics as they arrive (started before)."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.consumer = AIOKafkaConsumer(*topics, **kafka_options(settings.kafka_bootstrap),
                                         auto_offset_reset="earliest",
                                         enable_auto_commit=False)  # fmt: skip
        self.seen = 0

    async def until(self, expect: int, within: float) -> None:
        started = time.perf_counter()
        while self.seen < expect and time.perf_counter() - started < within:
            batch = await self.consumer.getmany(timeout_ms=50)
            self.seen += sum(len(v) for v in batch.values())
        if self.seen < expect:
            raise TimeoutError(f"{self.seen} of {expect} disclosures within {within}s")


async def gateway_rate(settings: Settings) -> tuple[float, list[float]]:
    from mend_disclosure.app import build
    from mend_testkit.fixtures import running_service

    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await ensure_topics(settings.kafka_bootstrap, list(SERVICES), prefix=prefix)
    await ensure_named(settings.kafka_bootstrap, [share_topic(a, prefix) for a in PARTNERS])
    producer = producer_for(settings.kafka_bootstrap)
    await producer.start()
    feed = _Feed(producer, prefix)
    past = datetime.now(UTC) - timedelta(minutes=1)
    terms = cev.ShareTerms(purpose="safeguarding", legal_basis="explicit_consent",
                           categories=("safety_concerns",), event_types=("RiskFlagRaised",),
                           valid_from=past - timedelta(minutes=1),
                           valid_until=past + timedelta(days=1))  # fmt: skip
    counter = _Counter(settings, [share_topic(a, prefix) for a in PARTNERS])
    latencies: list[float] = []
    try:
        async with running_service(build, "disclosure", settings, uuid.uuid4().hex[:8], prefix,
                                   hold=HOLD, interval=0.01) as (_, _, runtime):  # fmt: skip
            acks = []
            for agency in PARTNERS:
                model = hev.AgencySharingKeySet(agency_id=agency, kid="k1", public_key=_key())
                acks.append(await feed.send("hub", f"agency:{agency}", model, past,
                                            Role.COORDINATOR))  # fmt: skip
            cases = [(f"case-bench{n:05d}", f"hp-bench{n:05d}") for n in range(CASES)]
            for case, hp in cases:
                opened = sev.CaseOpened(harm_category="sexual_assault", justice_stage="none",
                                        agency="agency-a", harmed_person_id=hp,
                                        route="self_referral")  # fmt: skip
                acks.append(await feed.send("sessions", case, opened, past - timedelta(seconds=30)))
                for agency in PARTNERS:
                    given = cev.ConsentGiven(
                        grant_id=uuid.uuid4(), participant_id=hp, participant_role="harmed_person",
                        scope=cev.share_scope(agency), informed_how="both",
                        no_incentive_attested=True, share_terms=terms,
                    )  # fmt: skip
                    acks.append(
                        await feed.send(
                            "consent", case, given, past - timedelta(seconds=30), Role.HARMED_PERSON
                        )
                    )
            await asyncio.gather(*acks)
            await _settled(runtime, 2 * CASES)
            await counter.consumer.start()
            # Timed: the events on their topic until both partners hold every disclosure.
            with Timer() as t:
                acks = [await feed.send("risk", cases[n % CASES][0], _flag(), past)
                        for n in range(EVENTS)]  # fmt: skip
                await asyncio.gather(*acks)
                await counter.until(2 * EVENTS, within=600)
            rate = EVENTS / t.elapsed
            for n in range(LATENCY):  # one at a time, occurred now: the hold is in the figure
                sent = time.perf_counter()
                await (await feed.send("risk", cases[n % CASES][0], _flag(), datetime.now(UTC)))
                await counter.until(2 * EVENTS + 2 * (n + 1), within=30)
                latencies.append((time.perf_counter() - sent) * 1000)
    finally:
        await counter.consumer.stop()
        await producer.stop()
        await delete_topics(settings.kafka_bootstrap, prefix)
    return rate, latencies


async def _settled(runtime, grants: int) -> None:
    """The gateway has taken in the grants and cases (set-up, not timed)."""
    while True:
        async with runtime.pool.acquire() as conn:
            got = await conn.fetchval(f"SELECT count(*) FROM {runtime.schema}.share_grants")
            cases = await conn.fetchval(f"SELECT count(*) FROM {runtime.schema}.case_directory")
        if got >= grants and cases >= grants // 2:
            return
        await asyncio.sleep(0.05)


async def relay_rate(settings: Settings) -> float:
    async with (
        fresh_schema(settings, "disclosure_relay") as schema,
        fresh_topics(settings, "disclosure_relay", 1) as topics,
    ):
        await copy_events(settings, schema, EVENTS)
        pool = await app_pool(settings, 2)
        store = EventStore(pool, schema)
        relay = Relay(store, settings.database_url, settings.kafka_bootstrap, topics[0])
        with Timer() as t:
            task = asyncio.create_task(relay.run())
            while relay.published < EVENTS:
                await asyncio.sleep(0.005)
        relay.stop()
        await task
        await pool.close()
    return EVENTS / t.elapsed


async def run(settings: Settings) -> list[Result]:
    relay = await relay_rate(settings)
    rate, latencies = await gateway_rate(settings)
    note = (
        f"{EVENTS:,} events of {CASES} cases, two partners each receiving every event; gateway: "
        f"from the first publish on the risk topic (consume, decide, ledger and outbox, share "
        f"relay) until both share topics hold all; relay: Relay.run on {EVENTS:,} stored "
        f"events from its start; goal >= 0.5x"
    )
    out = [result("disclosure.gateway", rate, "events/s", "relay events/s", relay, note=note)]
    lat_note = (
        f"{LATENCY} events published one at a time on the risk topic, occurred now, until on a "
        f"partner's topic; hold {HOLD}s included (the ordering's price)"
    )
    out += latency_results("disclosure.p{p}", latencies, "hold {p}", [HOLD * 1000] * 2,
                           note=lat_note)  # fmt: skip
    return out
