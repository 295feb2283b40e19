"""Password (and passphrase) hashing: argon2id with parameters chosen on purpose.

Parameters: RFC 9106 section 4, the SECOND recommended option (for memory-constrained
environments): argon2id, t=3 passes, m=64 MiB, p=4 lanes, 16-byte salt, 32-byte tag
(`argon2.profiles.RFC_9106_LOW_MEMORY`). The first option (2 GiB) is out of reach of a small
hub's server; 64 MiB is above OWASP's floor (19 MiB, t=2) and costs an attacker with a GPU far
more per guess, for a check we can afford at sign-in rates (bench/signin.py measures it). At
most `concurrency` checks run at once, so a burst of sign-ins holds at most that many times 64 MiB
instead of exhausting memory; the rest wait their turn.

A stored hash made with other parameters still verifies, and is replaced by one with the current
parameters on the next successful sign-in (`Verdict.rehashed`). An unknown login name is checked
against a dummy hash made with the same parameters, so the time taken does not tell whether an
account exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# RFC 9106, 4. "Parameter Choice", second recommended option.
TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 4
HASH_LEN = 32
SALT_LEN = 16

# A passphrase is long rather than complicated: a minimum length, no composition rules
# (NIST SP 800-63B 5.1.1.2); the maximum only bounds the work one request can cause.
MIN_LENGTH = 12
MAX_LENGTH = 256


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rehashed: str | None = None  # a new hash with the current parameters, to store


def hasher(
    *,
    time_cost: int = TIME_COST,
    memory_cost: int = MEMORY_COST_KIB,
    parallelism: int = PARALLELISM,
) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=HASH_LEN,
        salt_len=SALT_LEN,
        type=Type.ID,
    )


class Passwords:
    """Hash and verify off the event loop (argon2 releases the GIL), `concurrency` at a time."""

    def __init__(self, ph: PasswordHasher | None = None, *, concurrency: int = 4) -> None:
        self._ph = ph or hasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy = self._ph.hash("mend: no such account, same cost as a real one")

    @property
    def parameters(self) -> dict[str, int]:
        ph = self._ph
        return {
            "time_cost": ph.time_cost,
            "memory_cost_kib": ph.memory_cost,
            "parallelism": ph.parallelism,
            "hash_len": ph.hash_len,
            "salt_len": ph.salt_len,
        }

    async def hash(self, secret: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._ph.hash, secret)

    async def verify(self, stored: str | None, secret: str) -> Verdict:
        """Whether `secret` matches `stored`; with `stored` None (no such account) the dummy is
        checked instead and the answer is always no, after the same work."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored, secret)

    def _verify(self, stored: str | None, secret: str) -> Verdict:
        target = stored if stored is not None else self._dummy
        try:
            self._ph.verify(target, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verdict(False)
        if stored is None:
            return Verdict(False)
        if self._ph.check_needs_rehash(stored):
            return Verdict(True, self._ph.hash(secret))
        return Verdict(True)
