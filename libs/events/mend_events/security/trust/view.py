"""One process's current trust snapshot of a schema: loaded at start, reloaded when a NOTIFY
(sent in the transaction of the change, `TrustTables.apply`) names a newer version.

A dedicated connection LISTENs on the schema's channel. While it is down (a restart of the
database, a network cut), no notification can be trusted to arrive, so each request reads the
version (one indexed row) and reloads when it moved; a background task reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

import asyncpg
import structlog

from mend_events.app.db import DATABASE_FAULTS, connect
from mend_events.contracts.actors import Role
from mend_events.security.public_keys import load_public_pem
from mend_events.security.trust.snapshot import (
    AgencyTrust,
    Provider,
    StaffTrust,
    TrustedKey,
    TrustSnapshot,
)
from mend_events.security.trust.tables import ALLOCATION_SCOPE, channel_of

log = structlog.get_logger("mend.trust")

RECONNECT_S = 2.0


class TrustView:
    def __init__(self, pool: asyncpg.Pool, schema: str, database_url: str) -> None:
        self.pool = pool
        self.schema = schema
        self.database_url = database_url
        self.snapshot = TrustSnapshot()
        self._notified = 0  # the newest version a notification named
        self._scopes: dict[int, str] = {}  # version -> what it changed, from its notification
        self._seen = asyncio.Condition()
        self._reload = asyncio.Lock()
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._keys: dict[tuple[str, str, str], Any] = {}  # parsed PEMs, by (agency, kid, pem)

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen()  # before the load: no change can fall between the two
        await self._load()
        self._task = asyncio.create_task(self._keep_listening())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close_listener()

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    # ---- the per-request read ---------------------------------------------------------------

    async def current(self) -> TrustSnapshot:
        """The snapshot as of the newest committed change this process has heard of (while not
        listening: as of the database's version now)."""
        if not self.listening:
            async with self.pool.acquire() as conn:
                version = await conn.fetchval(f"SELECT version FROM {self.schema}.trust_version")
            self._notified = max(self._notified, int(version))
        if self._notified > self.snapshot.version:
            async with self._reload:
                if self._notified > self.snapshot.version:
                    await self._catch_up()
        return self.snapshot

    async def _catch_up(self) -> None:
        """Reload what changed since the snapshot: only the practitioners whose allocations
        changed when every version in between was heard and was an allocation (the common
        change), else everything. Rows newer than the versions heard may be read too: they are
        never older than what the snapshot claims, and their own notification reads them again."""
        target = self._notified
        people: set[tuple[str, str]] = set()
        for version in range(self.snapshot.version + 1, target + 1):
            scope = self._scopes.get(version, "")
            agency, _, person = scope.removeprefix(ALLOCATION_SCOPE).partition(" ")
            if not (self.listening and scope.startswith(ALLOCATION_SCOPE) and person):
                await self._load()  # a change of another kind, or a notification not heard
                break
            people.add((agency, person))
        else:
            await self._load_allocations(target, people)
        for version in [v for v in self._scopes if v <= self.snapshot.version]:
            del self._scopes[version]

    async def _load_allocations(self, version: int, people: set[tuple[str, str]]) -> None:
        agencies, ids = [a for a, _ in people], [p for _, p in people]
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT agency, practitioner_id, case_id, part, valid_until "
                f"FROM {self.schema}.trust_case_allocations "
                f"WHERE ended_at IS NULL AND (agency, practitioner_id) IN "
                f"(SELECT * FROM unnest($1::text[], $2::text[]))",
                agencies,
                ids,
            )
        current: dict[tuple[str, str], set[str]] = {p: set() for p in people}
        for r in rows:
            current[(r["agency"], r["practitioner_id"])].add(r["case_id"])
        allocations = dict(self.snapshot.allocations)
        for who, cases in current.items():
            if cases:
                allocations[who] = frozenset(cases)
            else:
                allocations.pop(who, None)
        parts = {who: found for who, found in self.snapshot.parts.items() if who not in people}
        parts.update(_parts(rows))
        self.snapshot = replace(
            self.snapshot, version=version, allocations=allocations, parts=parts
        )

    async def until(self, version: int, within: float = 5.0) -> TrustSnapshot:
        """Wait until this process has heard of `version` (a change committed elsewhere), then
        the snapshot that includes it. For tests and tools that apply a change and act on it."""
        async with self._seen:
            await asyncio.wait_for(self._seen.wait_for(lambda: self._notified >= version), within)
        return await self.current()

    # ---- listening --------------------------------------------------------------------------

    async def _listen(self) -> None:
        conn = await connect(self.database_url)
        await conn.add_listener(channel_of(self.schema), self._on_notify)
        conn.add_termination_listener(self._on_lost)
        self._listener = conn

    def _on_lost(self, conn: Any) -> None:
        if conn is self._listener:  # not a close of ours
            log.warning("trust.listener_lost")

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        number, _, scope = payload.partition(" ")
        try:
            version = int(number)
        except ValueError:
            return
        if version > self.snapshot.version:
            self._scopes[version] = scope
        if version > self._notified:
            self._notified = version
            asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._seen:
            self._seen.notify_all()

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(RECONNECT_S)
            if self.listening:
                continue
            try:
                await self._close_listener()
                await self._listen()
                await self._load()  # whatever changed while nobody listened
                log.info("trust.listener_back")
            except DATABASE_FAULTS as exc:
                log.warning("trust.listener_down", error=type(exc).__name__)

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)

    # ---- loading ----------------------------------------------------------------------------

    async def _load(self) -> None:
        s = self.schema
        async with self.pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                version = await conn.fetchval(f"SELECT version FROM {s}.trust_version")
                agencies = await conn.fetch(f"SELECT * FROM {s}.trust_agencies")
                keys = await conn.fetch(
                    f"SELECT agency, kid, public_key_pem, retired_at FROM {s}.trust_agency_keys"
                )
                staff = await conn.fetch(
                    f"SELECT agency, person_id, role, active FROM {s}.trust_staff"
                )
                allocations = await conn.fetch(
                    f"SELECT agency, practitioner_id, array_agg(case_id) AS cases "
                    f"FROM {s}.trust_case_allocations WHERE ended_at IS NULL "
                    f"GROUP BY agency, practitioner_id"
                )
                volunteers = await conn.fetch(
                    f"SELECT agency, practitioner_id, case_id, part, valid_until "
                    f"FROM {s}.trust_case_allocations WHERE ended_at IS NULL "
                    f"AND part IS NOT NULL"
                )
                packs = await conn.fetch(
                    f"SELECT agency, since, pack_ref FROM {s}.trust_rule_packs "
                    f"ORDER BY agency, since, source_event_id"
                )
        built = self._build(int(version), agencies, keys, staff, allocations, packs)
        self.snapshot = replace(built, parts=_parts(volunteers))
        self._notified = max(self._notified, self.snapshot.version)

    def _build(self, version: int, agencies, keys, staff, allocations, packs) -> TrustSnapshot:
        providers: dict[str, Provider] = {}
        ambiguous: set[str] = set()
        for a in agencies:
            if a["sign_in"] != "oidc" or not a["issuer"]:
                continue
            if a["issuer"] in providers:
                ambiguous.add(a["issuer"])  # two agencies, one issuer: trusted for neither
            providers[a["issuer"]] = Provider(
                a["agency"],
                a["issuer"],
                a["jwks_url"],
                a["audience"],
                a["role_claim"],
                a["subject_claim"],
            )
        for issuer in ambiguous:
            log.warning("trust.issuer_ambiguous")
            del providers[issuer]
        return TrustSnapshot(
            version=version,
            agencies={
                a["agency"]: AgencyTrust(a["agency"], a["status"] == "suspended", a["sign_in"])
                for a in agencies
            },
            providers=providers,
            keys={
                (k["agency"], k["kid"]): TrustedKey(self._key(k), k["retired_at"])
                for k in keys
                if self._key(k) is not None
            },
            staff={
                (p["agency"], p["person_id"]): StaffTrust(Role(p["role"]), p["active"])
                for p in staff
            },
            allocations={
                (r["agency"], r["practitioner_id"]): frozenset(r["cases"]) for r in allocations
            },
            rule_packs=_adoptions(packs),
        )

    def _key(self, row: Any) -> Any:
        cache_key = (row["agency"], row["kid"], row["public_key_pem"])
        if cache_key not in self._keys:
            try:
                self._keys[cache_key] = load_public_pem(row["public_key_pem"], "agency key")
            except ValueError:
                log.warning("trust.key_unreadable", agency=row["agency"], kid=row["kid"])
                self._keys[cache_key] = None
        return self._keys[cache_key]


def _parts(rows: Any) -> dict[tuple[str, str], dict[str, tuple[str, Any]]]:
    """(agency, volunteer) -> case -> (part, last day current), from allocation rows (those
    with no part are practitioners')."""
    out: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {}
    for r in rows:
        if r["part"] is not None:
            who = (r["agency"], r["practitioner_id"])
            out.setdefault(who, {})[r["case_id"]] = (r["part"], r["valid_until"])
    return out


def _adoptions(rows: Any) -> dict[str, tuple[tuple[Any, str], ...]]:
    out: dict[str, list[tuple[Any, str]]] = {}
    for r in rows:
        out.setdefault(r["agency"], []).append((r["since"], r["pack_ref"]))
    return {agency: tuple(found) for agency, found in out.items()}
