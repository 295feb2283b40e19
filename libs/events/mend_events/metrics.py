"""What an operator can watch: every metric of a Mend process, in one place, named `mend_*` in
base units (seconds, events, bytes), served at `/metrics` by every service.

Labels carry only names of our own (services, routes as templates, commands, consumer groups,
topics, reasons): never a case id, a person id or anything a client sent, so no personal data
and no unbounded label sets. The hot paths only increment or observe (a dict lookup and an add);
anything that needs a query (relay backlog, projection lag) is sampled by `Sampler` in the
background, never on the request path and never at scrape time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = structlog.get_logger("mend.metrics")

# Latencies of a request or an append: 0.5 ms to 10 s.
_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

HTTP_SECONDS = Histogram(
    "mend_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status",
    ["service", "method", "route", "status"],
    buckets=_FAST,
)
COMMANDS = Counter(
    "mend_commands",
    "Commands handled, by command and outcome (written, satisfied: a retry or no change, "
    "refused: a rule of the domain or a conflict, failed: a fault of ours)",
    ["service", "command", "outcome"],
)
COMMAND_SECONDS = Histogram(
    "mend_command_duration_seconds",
    "Time to decide and append a command",
    ["service", "command"],
    buckets=_FAST,
)
APPEND_BATCH_EVENTS = Histogram(
    "mend_append_batch_events",
    "Events written by one group commit",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
APPEND_SECONDS = Histogram(
    "mend_append_batch_duration_seconds",
    "Time of one group commit (one statement, one WAL flush)",
    ["service"],
    buckets=_FAST,
)
RELAY_PUBLISHED = Counter(
    "mend_relay_published_events", "Events the relay published and the broker acknowledged",
    ["service"],
)  # fmt: skip
RELAY_BACKLOG = Gauge(
    "mend_relay_backlog_events", "Events stored and not yet published by this process's relay",
    ["service"],
)  # fmt: skip
RELAY_BACKLOG_AGE = Gauge(
    "mend_relay_backlog_oldest_age_seconds",
    "Age of the oldest event not yet published (0 when none waits)",
    ["service"],
)
RELAY_ACTIVE = Gauge(
    "mend_relay_active", "1 while this process's relay holds the lock and publishes", ["service"]
)
CONSUMER_LAG = Gauge(
    "mend_consumer_lag_messages",
    "Messages on the partition after the last one this consumer applied",
    ["group", "topic", "partition"],
)
CONSUMED = Counter(
    "mend_consumer_applied_messages", "Messages applied (handler and inbox row committed)",
    ["group"],
)  # fmt: skip
INBOX_DUPLICATES = Counter(
    "mend_inbox_duplicates", "Redelivered messages the inbox absorbed (no effect twice)",
    ["group"],
)  # fmt: skip
DEAD_LETTERS = Counter(
    "mend_dead_letters", "Messages sent to the dead-letter topic, by kind of reason",
    ["group", "reason"],
)  # fmt: skip
# The disclosure gateway (issue 18): what left Mend, what waits, and why it waits.
DISCLOSED = Counter(
    "mend_disclosure_sent", "Messages recorded for partners (ledger and outbox), by kind",
    ["kind"],
)  # fmt: skip
DISCLOSURE_HELD = Gauge(
    "mend_disclosure_held_events",
    "Candidates due (hold passed) and waiting for the consent consumer to reach their barrier",
)
DISCLOSURE_NO_KEY = Counter(
    "mend_disclosure_no_sharing_key",
    "Disclosures a grant allowed but not sent: the agency has set no sharing key",
)
PROJECTION_LAG = Gauge(
    "mend_projection_lag_events", "Events stored and not yet applied to the projection",
    ["service", "projection"],
)  # fmt: skip
EVENTS = Counter(
    "mend_events_recorded",
    "Events recorded by commands, by type: SessionHalted and ConsentWithdrawn are the halts "
    "and withdrawals applied",
    ["service", "type"],
)
WITHDRAWAL_TO_HALT_SECONDS = Histogram(
    "mend_withdrawal_to_halt_seconds",
    "From a withdrawal's recording to the halt of the session that depended on it (R2)",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 30.0),
)
VERIFY_RUNS = Counter(
    "mend_audit_verify_runs", "Hash chain verifications run by the audit, by result", ["result"]
)
VERIFY_FAILURES = Counter(
    "mend_audit_verify_failures", "Chain breaks (or missing messages) found by a verification"
)
SIGN_INS = Counter("mend_sign_ins", "Sign-in attempts at the hub, by outcome", ["outcome"])
LOOP_LAG = Gauge(
    "mend_event_loop_lag_seconds", "How late the process's event loop ran a timer (liveness)"
)


def exposition(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def since(start: float) -> float:
    return time.perf_counter() - start


class Sampler:
    """Gauges that need a query, refreshed every `interval` seconds in the background, each
    by a probe (`add(name, probe)`); a failing probe is logged once per kind, and retried."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self._probes: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        self._failing: set[str] = set()

    def add(self, name: str, probe: Callable[[], Awaitable[Any]]) -> None:
        self._probes.append((name, probe))

    async def sample(self) -> None:
        for name, probe in self._probes:
            try:
                await probe()
                self._failing.discard(name)
            except Exception as exc:  # the database away: the gauges keep their last value
                if name not in self._failing:
                    log.warning("metrics.probe_failed", probe=name, error=type(exc).__name__)
                    self._failing.add(name)

    async def run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.interval)


class Heartbeat:
    """Liveness: a timer that should fire every `interval`; the process is alive while it does
    (its event loop turns). How late it fired is `mend_event_loop_lag_seconds`."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.last = time.monotonic()

    def alive(self, within: float = 10.0) -> bool:
        return time.monotonic() - self.last < within

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            self.last = time.monotonic()
            LOOP_LAG.set(max(0.0, self.last - before - self.interval))


@contextlib.contextmanager
def timed(histogram: Histogram, *labels: str):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(*labels).observe(time.perf_counter() - start)
