"""How many attempts are allowed, and the refusals that say so.

Per account: `MAX_FAILURES` consecutive wrong passwords or codes lock it for `LOCK_FOR` (or until
a coordinator unlocks it). Per client address: at most `PER_ADDRESS` attempts in any `WINDOW`,
whatever the account, so one address cannot try many accounts (a spray) under each one's limit.
The address limit is kept in this process's memory: a small hub runs one hub process; behind a
proxy, the proxy must pass the client's address (uvicorn's --forwarded-allow-ips)."""

from __future__ import annotations

import time
from collections import deque
from datetime import timedelta

from mend_events.errors import MendError

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
PER_ADDRESS = 30
WINDOW = 60.0  # seconds


class Locked(MendError, status=423, code="locked"):
    """An account locked after too many failures (until `LOCK_FOR` has passed, or unlocked)."""


class RateLimited(MendError, status=429, code="rate_limited"):
    """Too many attempts from one client address within `WINDOW`."""


class AddressLimit:
    """A sliding window of attempt times per address (bounded: the oldest addresses go first)."""

    def __init__(self, limit: int = PER_ADDRESS, window: float = WINDOW, size: int = 10_000):
        self._limit, self._window, self._size = limit, window, size
        self._seen: dict[str, deque[float]] = {}

    def check(self, address: str) -> None:
        now = time.monotonic()
        times = self._seen.pop(address, None) or deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) >= self._limit:
            self._seen[address] = times
            raise RateLimited("too many sign-in attempts from this address; try again later")
        times.append(now)
        self._seen[address] = times  # re-inserted: most recent last
        while len(self._seen) > self._size:
            self._seen.pop(next(iter(self._seen)))
