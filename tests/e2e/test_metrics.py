"""What an operator sees: the four services on the real broker and database run a withdrawal
while a meeting is scheduled, and each one's `/metrics` then shows the work it did (commands by
outcome, group commits, relay, consumers and their lag, projection lag, the withdrawal-to-halt
latency), linted by `promtool check metrics`; no case or person id appears in any of it. The
probes answer as stated while everything runs."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import AsyncIterator

import httpx
import pytest
from mend_aftercare.app import build as build_aftercare
from mend_consent.app import build as build_consent
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocator
from mend_testkit.fixtures import running_service
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.stories import withdrawal_while_scheduled
from prometheus_client.parser import text_string_to_metric_families

BUILDS = {
    "consent": (build_consent, {"lapse_interval": 0.25}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {"max_consent_lag_ms": 15_000}),
    "aftercare": (build_aftercare, {}),
}


@pytest.fixture
async def running(platform, unique, topic_prefix, token) -> AsyncIterator[tuple]:
    async with contextlib.AsyncExitStack() as stack:
        clients, transports, runtimes = {}, {}, []
        for service, (build, options) in BUILDS.items():
            client, app, runtime = await stack.enter_async_context(
                running_service(build, service, platform, unique, topic_prefix, **options)
            )
            clients[service] = client
            transports[service] = httpx.ASGITransport(app=app)
            runtimes.append(runtime)
        driver = await stack.enter_async_context(
            Driver.connect(token, transports=transports, timeout=30, allocate=allocator(runtimes))
        )
        yield driver, clients, runtimes


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= ls)


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: deploy/local/system-deps.sh installs it"
    done = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


async def test_the_metrics_show_a_withdrawal_and_its_halt(running):
    driver, clients, runtimes = running
    journey = await withdrawal_while_scheduled(driver)
    for runtime in runtimes:
        await runtime._sampler().sample()  # the background sampler's pass, now
    text = (await clients["sessions"].get("/metrics")).text
    found = samples(text)

    # The withdrawal reached the sessions service through the broker and halted the meeting.
    assert value(found, "mend_withdrawal_to_halt_seconds_count") >= 1
    assert value(found, "mend_events_recorded_total", service="sessions",
                 type="SessionHalted") >= 1  # fmt: skip
    assert value(found, "mend_events_recorded_total", service="consent",
                 type="ConsentWithdrawn") >= 1  # fmt: skip
    assert value(found, "mend_commands_total", service="sessions", outcome="written") >= 2
    assert value(found, "mend_append_batch_events_count", service="sessions") >= 1
    assert value(found, "mend_relay_published_events_total", service="sessions") >= 1
    assert value(found, "mend_consumer_applied_messages_total") >= 1
    lags = [ls for (n, ls) in found if n == "mend_consumer_lag_messages"]
    assert lags, "no consumer lag reported"
    assert any(dict(ls)["group"].endswith("sessions.consent") for ls in lags), lags
    assert value(found, "mend_projection_lag_events", service="sessions") == 0
    assert ("mend_relay_active", frozenset({("service", "sessions")})) in found
    # Routes by their template, never by the ids a client sent.
    routes = {dict(ls).get("route") for (n, ls) in found if n.startswith("mend_http_request")}
    assert {"/cases/{case_id}/sessions", "/cases/{case_id}/withdrawals"} <= routes, routes
    c = journey.cast
    for secret in (journey.case_id, c.harmed, c.responsible, c.supporter):
        assert secret not in text, "an id of the case appears in the metrics"
    assert not re.search(r"case-[a-z0-9]{6,}", text)
    promtool_check(text)


async def test_the_probes_answer_while_everything_runs(running):
    _, clients, _ = running
    for service, client in clients.items():
        live = await client.get("/health/live")
        startup = await client.get("/health/startup")
        ready = await client.get("/health/ready")
        assert (live.status_code, startup.status_code) == (200, 200), service
        assert ready.status_code == 200, (service, ready.json())
        checks = ready.json()["checks"]
        assert checks["database"] and checks["started"], checks
        if service != "risk" or "broker" in checks:
            assert checks.get("broker", True), checks
