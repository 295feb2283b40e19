"""`make demo` (`python tools/demo.py`): three cases through the running platform.

Against the services `make up` started (`MEND_<SERVICE>_URL`), as people of a demo agency whose
tokens are signed with its development key (`MEND_KEYS_DIR`, default `<repo>/.mend/keys`), it
drives three journeys through the services' own APIs, each on a new case (so it can run again
and again): the complete journey; the harmed person withdrawing consent while a face-to-face
meeting is scheduled; the harmed person halting a running conference. Then it prints each case's
history as `mend audit history CASE` does, replayed from the stores, and ends with the summary of
`mend audit verify` (every hash chain, and Kafka against the stores).

Exit code 0 when every journey ran, every consequence names its cause and verification holds.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from mend_audit.reader import AuditReader
from mend_audit.render import render_history
from mend_audit.verify_report import Problem, Report
from mend_events.app.config import MendSettings
from mend_events.app.db import create_pool
from mend_events.app.settings import SERVICES, Settings, service_url
from mend_testkit.devkeys import ensure_agency_keys, issue_token
from mend_testkit.directory import database_allocator
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import Journey, NotInTime, StepFailed
from mend_testkit.journeys.stories import (
    causation_problems,
    complete_journey,
    halted_conference,
    withdrawal_while_scheduled,
)

AGENCY = "agency-demo"
ROOT = Path(__file__).resolve().parents[1]
DEMO = (complete_journey, withdrawal_while_scheduled, halted_conference)
RULE = "=" * 100


def keys_dir() -> Path:
    return MendSettings.load().keys_dir or ROOT / ".mend" / "keys"


def token_source(keys: Path):
    ensure_agency_keys(AGENCY, keys)

    def token(role: str, person: str) -> dict[str, str]:
        raw = issue_token(AGENCY, role, person, keys_dir=keys)
        return {"Authorization": f"Bearer {raw}"}

    return token


def say(text: str = "") -> None:
    print(text, flush=True)


async def store_heads(reader: AuditReader) -> dict[str, int]:
    """Each store's last global position: the cut the demo's own events lie below."""
    async with reader.pool.acquire() as conn:
        return {
            service: await conn.fetchval(
                f"SELECT coalesce(max(global_position), 0) FROM {schema}.events"
            )
            for service, schema in reader.schemas.items()
        }


async def verify_up_to(
    reader: AuditReader, cut: Mapping[str, int], within: float = 60.0
) -> tuple[Report, int]:
    """`mend audit verify` on a platform others may be writing to: everything recorded up to
    `cut` must be published and match, so verification is asked again while a relay's
    checkpoint is still below the cut (until `within`). What verify counts as not yet
    published then was recorded after the cut, by others: in flight, no break. Any problem
    returns at once; a relay still below the cut at `within` is one. Returns the report and
    how many events were in flight."""
    deadline = time.monotonic() + within
    while True:
        report = await reader.verify()
        behind = [s for s in report.services if (s.checkpoint or 0) < cut.get(s.service, 0)]
        if not report.ok or not behind:
            return report, sum(s.unpublished for s in report.services)
        if time.monotonic() > deadline:
            for s in behind:
                s.problems.append(
                    Problem(
                        s.service,
                        "not_published",
                        f"the demo's events up to position {cut[s.service]} are not all on "
                        f"{s.topic} after {within:.0f}s (relay checkpoint {s.checkpoint})",
                    )
                )
            return report, 0
        await asyncio.sleep(0.5)


async def run() -> int:
    settings = Settings.from_env()
    urls = {s: service_url(s) for s in SERVICES}
    journeys: list[Journey] = []
    # Until the hub service allocates cases, the demo does as its coordinator would.
    allocate = database_allocator(settings.database_url, SERVICES, agency=AGENCY)
    async with Driver.connect(token_source(keys_dir()), urls=urls, allocate=allocate) as driver:
        down = [s for s, up in (await driver.health()).items() if not up]
        if down:
            say(f"mend demo: not running: {', '.join(down)} (start the platform with `make up`)")
            return 2
        say(f"Mend demo: three cases through {', '.join(f'{s} {urls[s]}' for s in SERVICES)}")
        say(f"as people of {AGENCY} (pseudonymous ids only; tokens signed with its dev key)")
        say()
        for n, walk in enumerate(DEMO, start=1):
            started = time.monotonic()
            try:
                journey = await walk(driver)
            except (StepFailed, NotInTime) as exc:
                say(f"mend demo: journey {n} stopped: {exc}")
                return 1
            journeys.append(journey)
            say(
                f"  {n}. {journey.title}: {journey.case_id} "
                f"({len(journey.events)} events written by its steps, {len(journey.effects)} "
                f"consequences awaited, {time.monotonic() - started:.1f}s)"
            )
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    ok = True
    try:
        reader = AuditReader(pool, bootstrap=settings.kafka_bootstrap)
        cut = await store_heads(reader)
        for n, journey in enumerate(journeys, start=1):
            doc = await reader.history(journey.case_id)
            say()
            say(RULE)
            say(f"{n}. {journey.title.capitalize()}")
            say(f"   $ mend audit history {journey.case_id}")
            say(RULE)
            say(render_history(doc))
            problems = causation_problems(journey, doc)
            ok = ok and not problems
            if problems:
                say("   causation NOT as expected:")
                say("\n".join(f"     {p}" for p in problems))
            else:
                say(
                    f"   causation checked: the {len(journey.events)} events its steps wrote are "
                    f"all here, and each of the {len(journey.effects)} consequences awaited "
                    f"names its cause"
                )
        say()
        say(RULE)
        say("$ mend audit verify")
        say(RULE)
        report, in_flight = await verify_up_to(reader, cut)
        say("\n".join(report.lines()))
        if in_flight:
            say(
                f"({in_flight} event(s) recorded by others after the demo's last step were still "
                f"on their way to Kafka while it verified: in flight, not counted)"
            )
        ok = ok and report.ok
    finally:
        await pool.close()
    return 0 if ok else 1


def main() -> int:
    # The Kafka client logs each connection attempt; the verify report says what matters.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    logging.getLogger("aiokafka").propagate = False
    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
