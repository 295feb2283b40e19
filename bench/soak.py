"""Soak (issue 22): the whole platform under a fixed rate of casework for a long time, then a
ramp until something gives. `make soak` (not in `make test` or `make bench`).

The platform runs in this process as the browser tests run it (tests/browser/stack.py: the hub,
consent, risk, sessions, aftercare, audit and the web app, each over real uvicorn on fresh
schemas and topics of the real PostgreSQL and Kafka). The demo's journeys (mend_testkit
journeys, as tools/demo.py walks them) start open-loop at a fixed rate, many cases at once: the
complete journey, withdrawal while a meeting is scheduled, withdrawal during preparation, a
conference halted, a risk flag raised in a meeting, an acknowledgement withdrawn; each one also
reads its case back through the audit API. Every HTTP call is timed by method and route.

Reported (bench/results/soak-<mode>.json and .md): journeys started per second (asked and
held), p50/p99 per command and read, errors (goal 0), and every MEND_SOAK_SAMPLE_SECONDS the
process's RSS, its open sockets and the database's connections (goal: no growth). At the end
`mend audit verify` (every chain, Kafka against the stores) must pass and every withdrawal's
halt must be in its case's history.

Ramp (`MEND_SOAK_MODE=ramp`): from MEND_SOAK_RATE, the rate rises by MEND_SOAK_RAMP_STEP every
MEND_SOAK_RAMP_SECONDS until something gives: an error, a journey not done within its
patience, the rate not held (fewer than 90% of the journeys asked for started on time), or a
command p99 over MEND_SOAK_P99_LIMIT_MS; the report names which and at what rate.

Settings: MEND_SOAK_SECONDS (fixed mode, default 3600), MEND_SOAK_RATE (journeys/s, default
0.5), MEND_SOAK_MODE (fixed | ramp | both, default both); MEND_SOAK_TRACEMALLOC=<frames> to
list where the Python heap grew over the fixed phase (slows the run: a diagnosis, not figures)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from mend_audit.reader import AuditReader
from mend_events.app.db import create_pool
from mend_events.app.settings import Settings
from mend_events.messaging.topics import delete_topics
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.stories import (
    acknowledgement_withdrawn,
    causation_problems,
    complete_journey,
    halted_conference,
    risk_flag_in_meeting,
    verify_published,
    withdrawal_during_preparation,
    withdrawal_while_scheduled,
)

from bench.common import machine, percentile
from bench.soak_report import render

RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).resolve().parent.parent  # our code: this repository, not its .venv
JOURNEYS = (
    complete_journey,
    withdrawal_while_scheduled,
    risk_flag_in_meeting,
    halted_conference,
    withdrawal_during_preparation,
    acknowledgement_withdrawn,
)
AUDITOR = "aud-0050ak"
# Withdrawals with a meeting scheduled: each must end in its SessionHalted (R2). A withdrawal
# during preparation has nothing scheduled, so nothing to halt.
WITHDRAWALS = {"withdrawal_while_scheduled"}
_ID = re.compile(r"/[^/]*\d[^/]*")  # a path segment with a digit in it is an id


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


PORTS: dict[int, str] = {}  # port -> service, filled when the platform is up


def route(request: httpx.Request) -> str:
    service = PORTS.get(request.url.port or 0, str(request.url.port))
    return f"{request.method} {service} {_ID.sub('/{id}', request.url.path)}"


class Recorder:
    """Every HTTP call's latency by route, journeys done and failed, samples over time."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.done: list[Any] = []
        self.started = 0
        self.late = 0  # journeys started later than their slot by more than one interval
        self.samples: list[dict[str, float]] = []

    def hooks(self, client: httpx.AsyncClient) -> None:
        async def sent(request: httpx.Request) -> None:
            request.extensions["soak_t0"] = time.perf_counter()

        async def answered(response: httpx.Response) -> None:
            t0 = response.request.extensions.get("soak_t0")
            if t0 is not None:
                self.calls[route(response.request)].append((time.perf_counter() - t0) * 1000)

        client.event_hooks["request"].append(sent)
        client.event_hooks["response"].append(answered)

    def table(self) -> dict[str, dict[str, float]]:
        return {
            k: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)}
            for k, v in sorted(self.calls.items())
        }


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sockets() -> int:
    n = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            n += os.readlink(fd).startswith("socket:")
    return n


async def sampler(rec: Recorder, admin: asyncpg.Connection, every: float, t0: float) -> None:
    while True:
        connections = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
        rec.samples.append({
            "t_s": round(time.monotonic() - t0, 1), "rss_mb": round(_rss_mb(), 1),
            "sockets": _sockets(), "db_connections": connections,
            "journeys_done": len(rec.done), "errors": len(rec.errors),
            "load_1m": round(os.getloadavg()[0], 2),
        })  # fmt: skip
        await asyncio.sleep(every)


def _heap_snapshot() -> Any:
    """With MEND_SOAK_TRACEMALLOC=<frames>, where the Python heap stands now (tracemalloc,
    which slows the process: for finding a growth, not for the figures)."""
    frames = int(env("MEND_SOAK_TRACEMALLOC", "0"))
    if not frames:
        return None
    if not tracemalloc.is_tracing():
        tracemalloc.start(frames)
    return tracemalloc.take_snapshot()


def _growth(before: Any, top: int = 15) -> dict[str, Any]:
    """Where the Python heap grew since `before`: its total (to set beside the RSS), the places
    whose allocations still held grew most, each with the stack that made them, and the same
    growth summed by the first frame of our own code on each stack. A cache that keeps what
    many call sites allocate shows only in the sum: no single allocation place is large."""
    if before is None:
        return {}
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()  # the ramp after it runs untraced
    stats = after.compare_to(before, "traceback")
    places = []
    for stat in stats[:top]:
        frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback]
        places.append(f"+{stat.size_diff / 1024:.0f} KiB in {stat.count_diff:+d} blocks: "
                      f"{' <- '.join(frames)}")  # fmt: skip
    ours: dict[str, int] = defaultdict(int)
    for stat in stats:
        # Frames run from the oldest (this module's entry) to the allocation. Only those
        # above the event loop are a caller's: the nearest of ours among them is charged.
        frames = list(stat.traceback)
        loop = max((i for i, f in enumerate(frames) if _is_loop(f.filename)), default=-1)
        mine = next((f for f in reversed(frames[loop + 1 :]) if _ours(f.filename)), None)
        where = f"{_short(mine.filename)}:{mine.lineno}" if mine else "(no frame of ours)"
        ours[where] += stat.size_diff
    by_ours = sorted(ours.items(), key=lambda kv: -kv[1])[:top]
    return {
        "total_kib": round(sum(s.size_diff for s in stats) / 1024),
        "places": places,
        "by_our_frame": [f"+{size / 1024:.0f} KiB: {where}" for where, size in by_ours],
    }


def _is_loop(filename: str) -> bool:
    return filename.endswith(("asyncio/runners.py", "uvloop/__init__.py", "asyncio/events.py"))


def _ours(filename: str) -> bool:
    return filename.startswith(str(REPO)) and "site-packages" not in filename


def _short(filename: str) -> str:
    return str(Path(filename).relative_to(REPO))


async def drive(driver: Driver, rec: Recorder, rate: float, seconds: float) -> list[asyncio.Task]:
    """Start journeys open-loop at `rate` per second for `seconds`; returns their tasks."""
    tasks: list[asyncio.Task] = []
    interval = 1.0 / rate
    begin = time.monotonic()
    n = 0
    while (slot := begin + n * interval) < begin + seconds:
        delay = slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > interval:
            rec.late += 1
        walk = JOURNEYS[(rec.started) % len(JOURNEYS)]
        rec.started += 1
        tasks.append(asyncio.create_task(_journey(driver, rec, walk)))
        n += 1
    return tasks


async def _journey(driver: Driver, rec: Recorder, walk: Any) -> None:
    try:
        journey = await walk(driver)
        auditor = driver.auth("auditor", AUDITOR)
        read = await driver.clients["audit"].get(
            f"/audit/cases/{journey.case_id}/history", headers=auditor
        )
        if read.status_code != 200:
            raise RuntimeError(f"audit history answered {read.status_code}")
        rec.done.append((walk.__name__, journey))
    except Exception as exc:  # a failed journey is the soak's finding: counted and named
        rec.errors.append(f"{walk.__name__}: {type(exc).__name__}: {str(exc)[:300]}")


async def finish(stack: Any, rec: Recorder, settings: Settings) -> dict[str, Any]:
    """`mend audit verify` over the stack's stores, and every withdrawal's halt in its history."""
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    try:
        from tests.browser.stack import BUILDS

        schemas = {s: f"{s}_{stack.unique}" for s in BUILDS}
        reader = AuditReader(pool, bootstrap=settings.kafka_bootstrap, schemas=schemas,
                             topic_prefix=stack.topic_prefix)  # fmt: skip
        report = await verify_published(reader, within=120.0)
        missing_halts, causation = [], []
        for walk, journey in rec.done:
            doc = await reader.history(journey.case_id)
            causation += causation_problems(journey, doc)
            if walk in WITHDRAWALS and "SessionHalted" not in json.dumps(doc, default=str):
                missing_halts.append(journey.case_id)
        return {
            "verify_ok": report.ok,
            "verify": report.lines(),
            "withdrawals": sum(walk in WITHDRAWALS for walk, _ in rec.done),
            "withdrawals_without_halt": missing_halts,
            "causation_problems": causation[:20],
        }
    finally:
        await pool.close()


def summary(rec: Recorder, rate: float, seconds: float, elapsed: float) -> dict[str, Any]:
    return {
        "rate_asked": rate,
        "rate_held": round(rec.started / elapsed, 3) if elapsed else 0.0,
        "seconds": round(elapsed, 1),
        "journeys_started": rec.started,
        "journeys_done": len(rec.done),
        "late_starts": rec.late,
        "errors": len(rec.errors),
        "first_errors": rec.errors[:10],
        "calls": rec.table(),
    }


async def fixed(driver: Driver, rec: Recorder, rate: float, seconds: float) -> dict[str, Any]:
    started = time.monotonic()
    tasks = await drive(driver, rec, rate, seconds)
    elapsed = time.monotonic() - started
    await asyncio.gather(*tasks)
    return summary(rec, rate, seconds, elapsed)


async def ramp(driver: Driver, rate: float) -> dict[str, Any]:
    step = float(env("MEND_SOAK_RAMP_STEP", str(rate)))
    hold = float(env("MEND_SOAK_RAMP_SECONDS", "60"))
    limit = float(env("MEND_SOAK_P99_LIMIT_MS", "1000"))
    stages = []
    while True:
        rec = Recorder()
        for client in driver.clients.values():
            client.event_hooks = {"request": [], "response": []}
            rec.hooks(client)
        result = await fixed(driver, rec, rate, hold)
        commands = {k: v for k, v in result["calls"].items() if k.startswith("POST")}
        worst = max(commands.items(), key=lambda kv: kv[1]["p99_ms"], default=("-", {"p99_ms": 0}))
        gave = None
        if result["errors"]:
            gave = f"errors: {result['first_errors'][0]}"
        elif (
            result["rate_held"] < 0.9 * rate
            or result["late_starts"] > 0.1 * result["journeys_started"]
        ):
            gave = f"rate not held: {result['rate_held']}/s of {rate}/s asked"
        elif worst[1]["p99_ms"] > limit:
            gave = f"command p99 over {limit:.0f} ms: {worst[0]} {worst[1]['p99_ms']:.0f} ms"
        stages.append({"rate": rate, "worst_command": worst[0], "worst_p99_ms": worst[1]["p99_ms"],
                       "gave": gave, "machine": machine(), **{k: result[k] for k in
                       ("rate_held", "journeys_done", "errors", "late_starts")}})  # fmt: skip
        print(f"# ramp {rate}/s: {stages[-1]}", file=sys.stderr)
        if gave:
            return {"stages": stages, "gave_at_rate": rate, "what_gave": gave}
        rate = round(rate + step, 3)


async def main() -> int:
    from tests.browser.stack import running_stack  # the browser tests' in-process platform

    settings = Settings.from_env()
    mode = env("MEND_SOAK_MODE", "both")
    rate = float(env("MEND_SOAK_RATE", "0.5"))
    seconds = float(env("MEND_SOAK_SECONDS", "3600"))
    every = float(env("MEND_SOAK_SAMPLE_SECONDS", "10"))
    unique = uuid.uuid4().hex[:10]
    prefix = f"soak{unique}."
    RESULTS.mkdir(exist_ok=True)
    out: dict[str, Any] = {"machine_before": machine(), "rate": rate, "seconds": seconds}
    with tempfile.TemporaryDirectory() as keys:
        from mend_events.security.identity import reset_default_verifier

        os.environ["MEND_KEYS_DIR"] = keys  # as the tests' keys_dir fixture: the verifier reads it
        reset_default_verifier()
        async with running_stack(settings, unique, prefix, Path(keys)) as stack:
            stack.topic_prefix, stack.unique = prefix, unique
            coordinator = stack.headers("coordinator", stack.team.coordinator)
            body = {"person_id": AUDITOR, "role": "auditor"}
            await stack.hub(f"/agencies/{stack.agency}/staff", body, coordinator)
            await stack.trusted("the auditor", lambda t: (stack.agency, AUDITOR) in t.staff)
            PORTS.update({int(u.rsplit(":", 1)[1].split("/")[0]): s for s, u in stack.urls.items()})
            # The servers (uvicorn) close a connection idle for 5 s; a client that keeps one
            # as long may send on it as it closes (RemoteProtocolError, ReadError). The soak's
            # clients let theirs go after 2 s, so what fails is the platform, not that race.
            limits = httpx.Limits(keepalive_expiry=2.0)
            http: dict[str, httpx.AsyncClient] = {}
            async with contextlib.AsyncExitStack() as clients:
                for service, url in stack.urls.items():
                    client = httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits)
                    http[service] = await clients.enter_async_context(client)
                driver = Driver(http, stack.token, allocate=stack.allocate, timeout=60.0)
                admin = await asyncpg.connect(settings.admin_database_url)
                t0 = time.monotonic()
                rec = Recorder()
                for client in driver.clients.values():
                    rec.hooks(client)
                watch = asyncio.create_task(sampler(rec, admin, every, t0))
                try:
                    if mode in ("fixed", "both"):
                        before = _heap_snapshot()
                        out["fixed"] = await fixed(driver, rec, rate, seconds)
                        out["fixed"]["memory_growth"] = _growth(before)
                        out["fixed"]["samples"] = rec.samples
                        out["fixed"]["end"] = await finish(stack, rec, settings)
                    if mode in ("ramp", "both"):
                        out["ramp"] = await ramp(driver, rate)
                finally:
                    watch.cancel()
                    await admin.close()
    # Its topics go with it, as a test's do: topics left on the broker are in every full
    # metadata answer, which each Kafka client without topics of its own asks for (and holds).
    await delete_topics(settings.kafka_bootstrap, prefix)
    out["machine_after"] = machine()
    name = f"soak-{mode}"
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(render(out))
    print(render(out))
    fixed_ok = "fixed" not in out or (
        out["fixed"]["errors"] == 0
        and out["fixed"]["end"]["verify_ok"]
        and not out["fixed"]["end"]["withdrawals_without_halt"]
    )
    return 0 if fixed_ok else 1


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
