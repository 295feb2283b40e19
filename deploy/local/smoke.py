"""Shows the running platform working: every service answers; a case opened in the sessions
service becomes known to the consent service over Kafka; a consent given and withdrawn through
the consent service's API is stored and reaches Kafka as CloudEvents.
Run by `make up` after the launcher started everything; reads the `MEND_*` settings."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer
from mend_events.app.settings import SERVICES, Settings, events_topic, kafka_options, service_url
from mend_events.messaging.cloudevents import MalformedMessage, from_message
from mend_testkit.devkeys import ensure_agency_keys, issue_token

AGENCY = "agency-smoke"
# Every process the launcher starts (the disclosure gateway and circles where the checkout has
# them).
PROCESSES = (*SERVICES, "audit", "web", "disclosure", "circles")


async def main() -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # a not-yet-created topic is fine
    settings = Settings.from_env()
    keys = os.environ.get("MEND_KEYS_DIR")
    ensure_agency_keys(AGENCY, keys)
    case = f"case-smoke{uuid.uuid4().hex[:8]}"
    person = f"hp-{uuid.uuid4().hex[:8]}"
    auth = {
        "Authorization": "Bearer " + issue_token(AGENCY, "harmed_person", person, keys_dir=keys)
    }
    async with httpx.AsyncClient(timeout=10) as http:
        silent = []
        for name in PROCESSES:  # every process the launcher starts
            try:
                r = await http.get(f"{service_url(name)}/health")
                print(f"  {name:<10} {service_url(name)}  {r.json()['status']}")
            except httpx.HTTPError:
                print(f"  {name:<10} not running")
                silent.append(name)
        if silent:
            return 1  # every process answers, or `make up` says it did not come up
        opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
        opened = await http.post(
            f"{service_url('sessions')}/cases/{case}/open",
            headers=auth,
            json={**opening, "route": "self_referral"},
        )
        if opened.status_code != 201:
            return failed("sessions", "open a case", opened)
        base = f"{service_url('consent')}/cases/{case}"
        consent = {
            "participant_id": person,
            "scope": "take_part",
            "informed_how": "both",
            "no_incentive_attested": True,
        }
        # The consent service learns of the case from the sessions service's CaseOpened, over
        # the broker; until then it answers 404 on case_id (a consumer group's first join
        # takes a few seconds).
        started = time.monotonic()
        while True:
            given = await http.post(f"{base}/consents", headers=auth, json=consent)
            waited = time.monotonic() - started
            if given.status_code != 404 or waited > 60:
                break
            await asyncio.sleep(0.5)
        if given.status_code != 201:
            return failed("consent", "give consent", given)
        grants = (await http.get(f"{base}/consent-history", headers=auth)).json()["events"]
        grant_id = grants[0]["data"]["grant_id"]
        withdrawn = await http.post(f"{base}/consents/{grant_id}/withdrawal", headers=auth, json={})
        if withdrawn.status_code != 201:
            return failed("consent", "withdraw consent", withdrawn)
    wanted = {e["event_id"] for e in given.json()["events"] + withdrawn.json()["events"]}
    seen = await find_on_kafka(settings.kafka_bootstrap, events_topic("consent"), wanted)
    # One line for the whole journey: a case opened, consent learnt of over Kafka, given and
    # withdrawn, and the events found on the topic.
    print(
        f"  journey    {case}: opened; consent learnt of over Kafka in {waited:.1f} s, given and "
        f"withdrawn; {len(seen)}/{len(wanted)} events on {events_topic('consent')}"
    )
    return 0 if len(seen) == len(wanted) else 1


def failed(service: str, what: str, response: httpx.Response) -> int:
    """One clear line (the service's own error: field and reason, never a value)."""
    print(f"  {service:<10} could not {what}: HTTP {response.status_code} {response.text[:200]}")
    return 1


async def find_on_kafka(bootstrap: str, topic: str, wanted: set[str]) -> dict[str, str]:
    consumer = AIOKafkaConsumer(
        topic, **kafka_options(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 20
    try:
        while len(seen) < len(wanted) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    try:
                        e = from_message(r.value, r.headers)
                    except MalformedMessage:  # not ours to judge here: verify names it
                        continue
                    if str(e.event_id) in wanted:
                        seen[str(e.event_id)] = e.event_type
    finally:
        await consumer.stop()
    return seen


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
