"""Halt latency (issue 6): from a withdrawal's acceptance by the consent service to the
SessionHalted the sessions service writes for it (R2), through the real broker and database,
while ~200 events/s of unrelated consent events flow through the same store, relay, topic and
consumer. Baseline: raw aiokafka produce -> consume on the same broker at the same rates,
measured as bench/e2e.py measures it.

The consent and sessions services run as two processes (uvicorn, uvloop, as `python -m
mend_<service>` runs them) on fresh schemas and topics. Each sampled case has a take-part grant
given through the consent API and a face-to-face session scheduled in the sessions store
(appended directly: the gates are not what is measured). A sample is one withdrawal of that
grant through the consent API; its latency runs from the withdrawal's `recorded_at` (stamped
by the consent service's writer just before its append) to the `recorded_at` of the
SessionHalted whose causation id is that withdrawal (stamped by the sessions service's writer):
one machine, one clock. Background: ConsentGiven events for other cases, appended open-loop
to the consent store by this process.

Where the time goes is reported per stage from the same samples: consent append -> relay
publish (the Kafka record's CreateTime, set when the relay batches it), -> the sessions
consumer's inbox transaction (its row's `processed_at`, the transaction's start), -> the
halt's `recorded_at` (the messages before it in its batch, then the reaction: case lock,
view write, load, decide, append). Also printed: the sessions consumer's batches during the
sampling window (size, gap between their starts) and the CPU share each process used."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import multiprocessing
import os
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from mend_events.app.settings import Settings, events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import ConsentGiven
from mend_events.contracts.catalog.sessions import (
    JusticeStage,
    Participant,
    ParticipantRole,
    SessionScheduled,
)
from mend_events.contracts.envelope import Metadata, NewEvent
from mend_events.contracts.vocabulary import ContactForm
from mend_events.messaging.topics import delete_topics, ensure_topics
from mend_events.store import EventStore
from mend_events.store.migrate import migrate_schema
from mend_testkit.devkeys import ensure_agency_keys, issue_token
from mend_testkit.samples import case_opened, consent_body

from bench.common import Result, app_pool, latency_results, percentile
from bench.e2e import FETCH_MAX_WAIT_MS, paced, raw

SAMPLES, SAMPLE_RATE = 240, 5  # withdrawals timed, per second (48 s)
BACKGROUND_RATE = 200  # unrelated consent events/s, relayed and consumed meanwhile
WARMUP = 2.0  # seconds of background load before the first sample
AGENCY = "agency-bench"
FACILITATOR, SURVIVOR_SPECIALIST, HSB_SPECIALIST = "prac-bfac01", "prac-bsrv01", "prac-bhsb01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(
    service: str, settings: Settings, schema: str, prefix: str, port: int, keys: str
) -> None:
    """A service process on its own schema and topics, served as every process of the platform
    is (`serve_app`)."""
    from mend_events.app.logging import configure_logging
    from mend_events.app.serve import serve_app

    os.environ["MEND_KEYS_DIR"] = keys
    configure_logging(service, "WARNING")
    build = importlib.import_module(f"mend_{service}.app").build
    app, _ = build(settings, schema=schema, topic_prefix=prefix)
    serve_app(app, host="127.0.0.1", port=port, loop="uvloop")


@contextlib.asynccontextmanager
async def _service(settings: Settings, service: str, schema: str, prefix: str, keys: str):
    """Start `service` in its own process; yield (base URL, pid) once /health answers."""
    port = _free_port()
    child = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(service, settings, schema, prefix, port, keys), daemon=True
    )
    child.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/health")).status_code == 200:
                        break
                if not child.is_alive():
                    raise RuntimeError(f"the {service} process exited ({child.exitcode})")
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError(f"the {service} process did not become healthy")
        yield base, child.pid
    finally:
        child.terminate()
        child.join(20)
        if child.is_alive():
            child.kill()


async def _schema(settings: Settings, service: str, name: str) -> None:
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate_schema(conn, name, service)
    finally:
        await conn.close()


async def _drop(settings: Settings, *names: str) -> None:
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        for name in names:
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


def _meta(actor: str, role: Role) -> Metadata:
    return Metadata(
        actor_id=actor,
        role=role,
        agency=AGENCY,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        occurred_at=datetime.now(UTC),
    )


def _scheduled_case(person: str) -> list[NewEvent]:
    """A case as the sessions service holds it once a face-to-face meeting is scheduled."""
    opened = case_opened(person, AGENCY, JusticeStage.POST_SENTENCE)
    session = SessionScheduled(
        session_id="sess-meet01",
        form=ContactForm.FACE_TO_FACE,
        participants=(
            Participant(id=person, role=ParticipantRole.HARMED_PERSON),
            Participant(id="rp-" + person[3:], role=ParticipantRole.RESPONSIBLE_PERSON),
        ),
        facilitator_id=FACILITATOR,
        team=(SURVIVOR_SPECIALIST, HSB_SPECIALIST),
        scheduled_for=datetime.now(UTC) + timedelta(days=7),
        speaks_first=person,
    )
    return [
        NewEvent(uuid.uuid4(), opened, _meta(person, Role.HARMED_PERSON)),
        NewEvent(uuid.uuid4(), session, _meta(FACILITATOR, Role.PRACTITIONER)),
    ]


def _background_consent(i: int) -> tuple[str, list[NewEvent]]:
    person = f"hp-bg{i:07d}"
    given = ConsentGiven(
        grant_id=uuid.uuid4(),
        participant_id=person,
        participant_role=Role.HARMED_PERSON,
        scope="take_part",
        informed_how="both",
        no_incentive_attested=True,
    )
    return f"case-bg{i:07d}", [NewEvent(uuid.uuid4(), given, _meta(person, Role.HARMED_PERSON))]


class Stages:
    """Per withdrawal event id, the moments it passed each stage (epoch seconds)."""

    def __init__(self) -> None:
        self.accepted: dict[uuid.UUID, float] = {}  # the 201 arrived at the client
        self.recorded: dict[uuid.UUID, float] = {}  # consent writer's recorded_at
        self.published: dict[uuid.UUID, float] = {}  # Kafka CreateTime (relay batching it)
        self.consumed: dict[uuid.UUID, float] = {}  # sessions inbox transaction began
        self.halted: dict[uuid.UUID, float] = {}  # sessions writer's recorded_at of the halt
        self.cpu: dict[str, float] = {}  # share of one core each process used while sampling
        self.batch_sizes: list[float] = []  # messages per inbox transaction (consent)
        self.batch_gaps: list[float] = []  # ms between the starts of consecutive ones

    def span(self, start: dict[uuid.UUID, float], end: dict[uuid.UUID, float]) -> list[float]:
        return [(end[k] - start[k]) * 1000 for k in start if k in end]

    def slowest(self, n: int = 5) -> list[str]:
        """The `n` slowest withdrawals, each with its stages and the wall-clock time it was
        recorded (to set beside the broker's GC log and the database's log)."""
        marks = (self.recorded, self.published, self.consumed, self.halted)
        whole = [k for k in self.recorded if all(k in m for m in marks)]
        whole.sort(key=lambda k: self.halted[k] - self.recorded[k], reverse=True)
        lines = []
        for k in whole[:n]:
            legs = [(b[k] - a[k]) * 1000 for a, b in itertools.pairwise(marks)]
            at = datetime.fromtimestamp(self.recorded[k], UTC).strftime("%H:%M:%S.%f")[:-3]
            lines.append(
                f"{(self.halted[k] - self.recorded[k]) * 1000:.1f} ms at {at} = "
                + " + ".join(f"{leg:.1f}" for leg in legs)
            )
        return lines


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _halts(pool: asyncpg.Pool, schema: str) -> dict[uuid.UUID, float]:
    rows = await pool.fetch(
        f"SELECT (metadata->>'causation_id')::uuid AS cause, "
        f"extract(epoch FROM recorded_at)::float8 AS at FROM {schema}.events "
        f"WHERE event_type = 'SessionHalted'"
    )
    return {r["cause"]: r["at"] for r in rows}


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not await check():
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


async def ours(settings: Settings, keys: str) -> Stages:
    tag = uuid.uuid4().hex[:8]
    consent_schema, sessions_schema = f"bench_halt_consent_{tag}", f"bench_halt_sessions_{tag}"
    prefix = f"bench.halt{tag}."
    await _schema(settings, "consent", consent_schema)
    await _schema(settings, "sessions", sessions_schema)
    await ensure_topics(settings.kafka_bootstrap, ["consent", "sessions", "risk"], prefix=prefix)
    pool = await app_pool(settings, 6)
    consent_store = EventStore(pool, consent_schema, service="consent")
    sessions_store = EventStore(pool, sessions_schema, service="sessions")
    stages = Stages()
    try:
        async with (
            _service(settings, "consent", consent_schema, prefix, keys) as consent,
            _service(settings, "sessions", sessions_schema, prefix, keys) as sessions,
            httpx.AsyncClient(
                base_url=consent[0], timeout=30, limits=httpx.Limits(max_connections=32)
            ) as http,
        ):
            warm = 20
            people = [f"hp-h{tag}{i:05d}" for i in range(SAMPLES + warm)]
            cases = [f"case-h{tag}{i:05d}" for i in range(SAMPLES + warm)]
            grants = [uuid.uuid4() for _ in people]
            auth = [
                {
                    "Authorization": "Bearer "
                    + issue_token(AGENCY, "harmed_person", p, keys_dir=keys)
                }
                for p in people
            ]
            sem = asyncio.Semaphore(16)

            async def prepare(i: int) -> None:
                async with sem:
                    # The case opens in sessions first; consent learns of it over the broker
                    # (404 naming case_id until then).
                    await sessions_store.append(
                        cases[i], _scheduled_case(people[i]), expected_version=0
                    )
                    for _ in range(100):
                        r = await http.post(
                            f"/cases/{cases[i]}/consents",
                            headers=auth[i],
                            json=consent_body(people[i], grant_id=str(grants[i])),
                        )
                        if r.status_code != 404:
                            break
                    assert r.status_code == 201, r.text

            await asyncio.gather(*(prepare(i) for i in range(len(people))))

            async def withdraw(i: int) -> uuid.UUID:
                r = await http.post(
                    f"/cases/{cases[i]}/consents/{grants[i]}/withdrawal", headers=auth[i], json={}
                )
                at = time.time()
                assert r.status_code == 201, r.text
                event_id = uuid.UUID(r.json()["events"][0]["event_id"])
                stages.accepted[event_id] = at
                return event_id

            # Warm-up: until the sessions consumer has joined its group and halts.
            first = SAMPLES

            async def warmed() -> bool:
                nonlocal first
                if first < len(people):
                    await withdraw(first)
                    first += 1
                return bool(set(await _halts(pool, sessions_schema)) & set(stages.accepted))

            await _until(warmed, "the sessions service never halted a warm-up session", 60)
            stages.accepted.clear()

            stop = asyncio.Event()

            async def background(i: int) -> None:
                stream, events = _background_consent(i)
                await consent_store.append(stream, events, expected_version=0)

            load = asyncio.create_task(paced(BACKGROUND_RATE, None, background, stop))
            try:
                await asyncio.sleep(WARMUP)
                pids = {"consent": consent[1], "sessions": sessions[1], "bench": os.getpid()}
                cpu0, t0 = {k: _cpu_seconds(p) for k, p in pids.items()}, time.perf_counter()
                began = time.time()
                await paced(SAMPLE_RATE, SAMPLES, withdraw)
                window = time.perf_counter() - t0
                stages.cpu = {k: (_cpu_seconds(p) - cpu0[k]) / window for k, p in pids.items()}
                ended = time.time()
                ids = set(stages.accepted)

                async def all_halted() -> bool:
                    return ids <= set(await _halts(pool, sessions_schema))

                await _until(all_halted, "withdrawals left without a halt", 120)
            finally:
                stop.set()
                await load
            halts = await _halts(pool, sessions_schema)
            stages.halted = {k: halts[k] for k in ids}
            rows = await pool.fetch(
                f"SELECT event_id, extract(epoch FROM recorded_at)::float8 AS at "
                f"FROM {consent_schema}.events WHERE event_id = ANY($1)",
                list(ids),
            )
            stages.recorded = {r["event_id"]: r["at"] for r in rows}
            rows = await pool.fetch(
                f"SELECT event_id, extract(epoch FROM processed_at)::float8 AS at "
                f"FROM {sessions_schema}.inbox WHERE event_id = ANY($1)",
                list(ids),
            )
            stages.consumed = {r["event_id"]: r["at"] for r in rows}
            # The consumer's batches: one inbox transaction each (processed_at = its start).
            rows = await pool.fetch(
                f"SELECT extract(epoch FROM processed_at)::float8 AS at, count(*) AS n "
                f"FROM {sessions_schema}.inbox WHERE consumer LIKE '%.consent' "
                f"AND processed_at BETWEEN to_timestamp($1) AND to_timestamp($2) "
                f"GROUP BY processed_at ORDER BY processed_at",
                began,
                ended,
            )
            starts = [r["at"] for r in rows]
            stages.batch_sizes = [float(r["n"]) for r in rows]
            stages.batch_gaps = [(b - a) * 1000 for a, b in itertools.pairwise(starts)]
        stages.published = await _create_times(settings, events_topic("consent", prefix), ids)
    finally:
        await consent_store.close()
        await sessions_store.close()
        await pool.close()
        with contextlib.suppress(Exception):
            await delete_topics(settings.kafka_bootstrap, prefix)
        await _drop(settings, consent_schema, sessions_schema)
    return stages


async def _create_times(
    settings: Settings, topic: str, ids: set[uuid.UUID]
) -> dict[uuid.UUID, float]:
    """The CreateTime of each of `ids`' messages on `topic`, read back after the run."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_options(settings.kafka_bootstrap),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[uuid.UUID, float] = {}
    try:
        await _until(lambda: _assigned(consumer), "no partitions assigned", 30)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for msg in records:
                    event_id = uuid.UUID(dict(msg.headers)["ce_id"].decode())
                    if event_id in ids:
                        found[event_id] = msg.timestamp / 1000
    finally:
        await consumer.stop()
    return found


async def _assigned(consumer: AIOKafkaConsumer) -> bool:
    return bool(consumer.assignment())


def _p(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.1f} / p99 {percentile(values, 99):.1f} ms"


async def run(settings: Settings) -> list[Result]:
    keys = os.path.join(os.environ.get("MEND_HOME", ".mend"), "keys")
    ensure_agency_keys(AGENCY, keys)
    prefix = f"bench.haltraw{uuid.uuid4().hex[:8]}."
    await ensure_topics(settings.kafka_bootstrap, ["raw"], prefix=prefix)
    try:
        base = await raw(
            settings, events_topic("raw", prefix), samples=SAMPLES, rate=SAMPLE_RATE, warmup=WARMUP
        )
    finally:
        with contextlib.suppress(Exception):
            await delete_topics(settings.kafka_bootstrap, prefix)
    stages = await ours(settings, keys)
    mine = stages.span(stages.recorded, stages.halted)
    breakdown = {
        "append->relay publish": stages.span(stages.recorded, stages.published),
        "relay publish->inbox txn": stages.span(stages.published, stages.consumed),
        "inbox txn->halt recorded": stages.span(stages.consumed, stages.halted),
        "201 at client->halt recorded": stages.span(stages.accepted, stages.halted),
    }
    for name, values in breakdown.items():
        print(f"# halt stage {name}: {_p(values)} (n={len(values)})", file=sys.stderr)
    for line in stages.slowest():
        print(f"# halt slowest (publish, inbox, halt): {line}", file=sys.stderr)
    cpu = ", ".join(f"{k} {v:.0%}" for k, v in stages.cpu.items())
    batches = (
        f"sessions consent consumer: {len(stages.batch_sizes)} inbox transactions, "
        f"size p50 {percentile(stages.batch_sizes, 50):.0f} / p99 "
        f"{percentile(stages.batch_sizes, 99):.0f}, gap between starts "
        f"{_p(stages.batch_gaps)}; CPU of one core while sampling: {cpu}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"# {batches}", file=sys.stderr)
    note = (
        f"{len(mine)} withdrawals (consent API, one take-part grant each) open-loop at "
        f"{SAMPLE_RATE}/s, each halting one scheduled face-to-face session, timed from the "
        f"withdrawal's recorded_at to the recorded_at of the SessionHalted naming it; consent "
        f"and sessions services as two uvicorn processes on fresh schemas/topics; meanwhile "
        f"{BACKGROUND_RATE} ConsentGiven/s for other cases appended to the consent store, "
        f"relayed and consumed by the same sessions subscription. Stages: "
        + "; ".join(f"{k} {_p(v)}" for k, v in breakdown.items())
        + f". {batches}. Raw: send_and_wait (idempotent, acks=all, linger 1 ms) to arrival at an "
        f"AIOKafkaConsumer, same rates, fetch_max_wait_ms={FETCH_MAX_WAIT_MS}. Goal: p99 <= 50 ms."
    )
    return latency_results(
        "halt.latency.p{p}", mine, "raw aiokafka produce->consume p{p}", base, note=note
    )
