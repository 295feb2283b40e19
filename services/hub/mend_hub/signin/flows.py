"""Signing in: password, then the second factor, then tokens; refresh; sign-out.

Every refusal a client sees is the same 401 "invalid credentials", whichever part failed (login
name, password, code, standing), except a locked account (423) and too many attempts from one
address (429). A failure is counted in the transaction that holds the account's row, and the
refusal is raised only after that transaction commits, so no count is lost to a rollback.
A correct password does not reset the count when a second factor follows: only a complete
sign-in does, so knowing the password gives no fresh round of guesses at the code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg
from mend_events import metrics
from mend_events.contracts.catalog.hub import (
    AccountLocked,
    AccountUnlocked,
    Credential,
    CredentialsChanged,
    LockReason,
    UnlockReason,
    account_stream,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import MendError, Unauthenticated

from mend_hub.signin import totp
from mend_hub.signin.accounts import Account
from mend_hub.signin.limits import LOCK_FOR, MAX_FAILURES, Locked
from mend_hub.signin.parts import Parts

INVALID = "invalid credentials"
_TOTP = "totp-secret"


def invalid() -> Unauthenticated:
    return Unauthenticated(INVALID)


@dataclass
class _Outcome:
    """What a flow decided inside its transaction: the answer or the refusal, and the events."""

    answer: dict[str, Any] | None = None
    refusal: MendError | None = None
    events: list[DomainEvent] | None = None
    account: Account | None = None


def _locked(account: Account, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


class SignInFlows:
    def __init__(self, parts: Parts) -> None:
        self.p = parts

    async def _finish(self, outcome: _Outcome, now: datetime, step: str) -> dict[str, Any]:
        refused = outcome.refusal
        metrics.SIGN_INS.labels(f"{step}_{'ok' if refused is None else refused.code}").inc()
        if outcome.events and outcome.account is not None:
            a = outcome.account
            await self.p.journal.record(
                account_stream(a.person_id), outcome.events, actor=None, agency=a.agency, now=now
            )
        if outcome.refusal is not None:
            raise outcome.refusal
        assert outcome.answer is not None
        return outcome.answer

    async def _failure(self, conn: asyncpg.Connection, account: Account, now: datetime) -> _Outcome:
        locks = account.failures + 1 >= MAX_FAILURES
        until = now + LOCK_FOR if locks else None
        failures = await self.p.accounts.failed(conn, account, until)
        events: list[DomainEvent] = []
        if until is not None:
            # The person's sessions go on: failures are someone trying the password, which a
            # stranger can do too, and ending a practitioner's session mid-meeting would let
            # anyone who knows a login name do that at will.
            events.append(
                AccountLocked(
                    agency_id=account.agency,
                    person_id=account.person_id,
                    reason=LockReason.REPEATED_FAILURES,
                    failures=failures,
                    until=until,
                )
            )
        return _Outcome(refusal=invalid(), events=events, account=account)

    async def _expired_lock(
        self, conn: asyncpg.Connection, account: Account, now: datetime
    ) -> tuple[Account, list[DomainEvent]]:
        """A lock that has run out ends here, with a fresh count."""
        if account.locked_until is None or account.locked_until > now:
            return account, []
        await self.p.accounts.unlock(conn, account)
        event = AccountUnlocked(
            agency_id=account.agency, person_id=account.person_id, reason=UnlockReason.LOCK_EXPIRED
        )
        return replace(account, failures=0, locked_until=None), [event]

    async def _tokens(self, conn: asyncpg.Connection, account: Account, now: datetime) -> _Outcome:
        standing = await self.p.role_now(account)
        if standing is None:
            return _Outcome(refusal=invalid())
        role, retired = standing
        access, ttl = await self.p.keys.mint(
            conn, account.agency, account.person_id, role, now, retired=retired
        )
        refresh, refresh_ttl = await self.p.refresh.start(
            conn, account.agency, account.person_id, now
        )
        return _signed_in(access, ttl, refresh, refresh_ttl)

    async def sign_in(self, agency: str, login: str, password: str, address: str) -> dict:
        self.p.address_limit.check(address)
        now = self.p.clock()
        lookup = self.p.vault.lookup(agency, login)
        async with self.p.pool.acquire() as conn, conn.transaction():
            account = await self.p.accounts.by_login(conn, agency, lookup)
            outcome = await self._password(conn, account, password, now)
        return await self._finish(outcome, now, "password")

    async def _password(
        self, conn: asyncpg.Connection, account: Account | None, password: str, now: datetime
    ) -> _Outcome:
        if account is not None and _locked(account, now):
            await self.p.passwords.verify(None, password)  # the same time as any attempt
            return _Outcome(refusal=Locked("this account is locked; try again later"))
        verdict = await self.p.passwords.verify(
            account.password_hash if account else None, password
        )
        if account is None:
            return _Outcome(refusal=invalid())
        account, events = await self._expired_lock(conn, account, now)
        if not verdict.ok:
            failed = await self._failure(conn, account, now)
            failed.events = events + (failed.events or [])
            return failed
        if verdict.rehashed is not None:
            await self.p.accounts.rehash(conn, account, verdict.rehashed)
        if account.totp_sealed is None and not account.is_staff:
            await self.p.accounts.succeeded(conn, account)
            done = await self._tokens(conn, account, now)
        else:
            # Staff always have a second factor: without one yet, the challenge enrols it.
            status = "second_factor_required" if account.totp_sealed else "enrol_second_factor"
            challenge = await self.p.refresh.challenge(conn, account.agency, account.person_id, now)
            done = _Outcome(answer={"status": status, "challenge": challenge})
        done.events, done.account = events, account
        return done

    async def second_factor(self, challenge: str, code: str, address: str) -> dict:
        self.p.address_limit.check(address)
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            outcome = await self._code(conn, challenge, code, now)
        return await self._finish(outcome, now, "second_factor")

    async def _code(
        self, conn: asyncpg.Connection, challenge: str, code: str, now: datetime
    ) -> _Outcome:
        holder = await self.p.refresh.challenged(conn, challenge, now, consume=False)
        account = await self.p.accounts.by_person(conn, *holder) if holder else None
        if account is None:
            return _Outcome(refusal=invalid())
        if _locked(account, now):
            return _Outcome(refusal=Locked("this account is locked; try again later"))
        account, expired = await self._expired_lock(conn, account, now)
        sealed = account.totp_sealed or account.totp_pending
        if sealed is None:
            return _Outcome(refusal=invalid())
        secret = self.p.vault.open(account.agency, _TOTP, account.person_id, sealed).decode()
        step = totp.accepted_step(secret, code, now, account.totp_last_step)
        if step is None:
            failed = await self._failure(conn, account, now)
            failed.events = expired + (failed.events or [])
            return failed
        await self.p.refresh.challenged(conn, challenge, now, consume=True)
        enrolled = account.totp_sealed is None
        await self.p.accounts.succeeded(conn, account, totp_step=step, confirm_totp=enrolled)
        done = await self._tokens(conn, account, now)
        done.account, done.events = account, expired
        if enrolled and done.refusal is None:
            done.events = [
                *expired,
                CredentialsChanged(
                    agency_id=account.agency,
                    person_id=account.person_id,
                    credential=Credential.TOTP,
                ),
            ]
        return done

    async def refresh(self, token: str, address: str) -> dict:
        self.p.address_limit.check(address)
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            outcome = await self._rotate(conn, token, now)
        return await self._finish(outcome, now, "refresh")

    async def _rotate(self, conn: asyncpg.Connection, token: str, now: datetime) -> _Outcome:
        rotated = await self.p.refresh.rotate(conn, token, now)
        if rotated is None:
            return _Outcome(refusal=invalid())
        holder, next_token, refresh_ttl = rotated
        account = await self.p.accounts.by_person(conn, holder.agency, holder.person_id)
        standing = await self.p.role_now(account) if account is not None else None
        if standing is None:
            await self.p.refresh.revoke(conn, holder.family, now)
            return _Outcome(refusal=invalid())
        role, retired = standing
        access, ttl = await self.p.keys.mint(
            conn, holder.agency, holder.person_id, role, now, retired=retired
        )
        return _signed_in(access, ttl, next_token, refresh_ttl)

    async def sign_out(self, token: str) -> None:
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            family = await self.p.refresh.holder(conn, token)
            if family is not None:
                await self.p.refresh.revoke(conn, family, now)


def _signed_in(access: str, ttl: int, refresh: str, refresh_ttl: int) -> _Outcome:
    """A sign-in's answer, the same after a password (and code) as after a refresh."""
    return _Outcome(
        answer={
            "status": "signed_in",
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
            "refresh_expires_in": refresh_ttl,
        }
    )
