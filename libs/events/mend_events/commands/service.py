"""The command path: load a stream, decide, append with the expected version.

State is cached per stream (events are immutable, so a cached fold is always a valid prefix:
only newer events are read). On a concurrent write the command is decided again against the
new state, so two people withdrawing the same grant at once give one event and no error;
a caller who named an expected version gets the conflict instead.

Contention delays a command, never refuses it (R2: a withdrawal or a halt is always accepted
while the platform is up). Within a process, commands on one stream queue on that stream's
lock, so they do not collide at all; a write by another process (a second replica) is met
by deciding again after a jittered, growing pause, with no cap on the number of tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import uuid4, uuid5

import asyncpg

from mend_events import metrics
from mend_events.commands.decider import CommandContext, Decider
from mend_events.commands.idempotency import IDS, command_digest, derived_event_id, key_seed
from mend_events.contracts.envelope import NewEvent
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, MendError
from mend_events.store import EventStore, KeyBinding, KeyReused

S = TypeVar("S")
# Pause after a conflict with another process: from BACKOFF_FIRST_S, doubling up to
# BACKOFF_MAX_S, each scaled by a random factor in [0.5, 1.5) so replicas do not retry in step.
BACKOFF_FIRST_S = 0.002
BACKOFF_MAX_S = 0.25


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    state: S
    version: int
    events: tuple[NewEvent, ...]
    positions: tuple[int, ...]


def _backoff(conflicts: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**conflicts) * random.uniform(0.5, 1.5)


class CommandService(Generic[S]):
    def __init__(
        self,
        store: EventStore,
        decider: Decider[S],
        *,
        cache_size: int = 10_000,
    ) -> None:
        self.store = store
        self.decider = decider
        self._cache: OrderedDict[str, tuple[S, int]] = OrderedDict()
        self._cache_size = cache_size
        # One lock per stream with commands in flight (entry removed when the last leaves).
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def load(
        self,
        stream_id: str,
        *,
        as_of: datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> tuple[S, int]:
        """The stream's state and version; `as_of` folds only what was recorded by then.
        `conn`: a connection the caller holds, to read on (rather than wait for another)."""
        if as_of is not None:
            events = await self.store.read_stream(stream_id, as_of=as_of, conn=conn)
            state = self.decider.fold(stream_id, ((e.decode(), e.metadata) for e in events))
            return state, events[-1].stream_version if events else 0
        state, version = self._cache.get(stream_id) or (self.decider.initial(stream_id), 0)
        for e in await self.store.read_stream(stream_id, after_version=version, conn=conn):
            state = self.decider.evolve(state, e.decode(), e.metadata)
            version = e.stream_version
        self._remember(stream_id, state, version)
        return state, version

    def cached(self, stream_id: str) -> S | None:
        """The stream's state as this process last knew it (possibly behind the store): only for
        facts that never change once true, such as who gave a grant."""
        entry = self._cache.get(stream_id)
        return entry[0] if entry else None

    def _remember(self, stream_id: str, state: S, version: int) -> None:
        self._cache[stream_id] = (state, version)
        self._cache.move_to_end(stream_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    @contextlib.asynccontextmanager
    async def _serialised(self, stream_id: str) -> AsyncIterator[None]:
        """Commands on one stream take turns within this process (first come, first served)."""
        lock, users = self._locks.get(stream_id) or (asyncio.Lock(), 0)
        self._locks[stream_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[stream_id]
            if users == 1:
                del self._locks[stream_id]
            else:
                self._locks[stream_id] = (lock, users - 1)

    async def execute(
        self,
        stream_id: str,
        command: Any,
        ctx: CommandContext,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        case_id: str | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> CommandResult[S]:
        """Decide and append; `conn`: a connection the caller holds, for the stream's reads."""
        name = type(command).__name__
        start = time.perf_counter()
        outcome = "failed"
        try:
            async with self._serialised(stream_id):
                result = await self._execute(
                    stream_id, command, ctx, expected_version, idempotency_key, case_id, conn
                )
            outcome = "written" if result.events else "satisfied"
            for new in result.events:
                metrics.EVENTS.labels(self.store.service, type(new.event).__name__).inc()
            return result
        except MendError:
            outcome = "refused"
            raise
        finally:
            service = self.store.service
            metrics.COMMANDS.labels(service, name, outcome).inc()
            metrics.COMMAND_SECONDS.labels(service, name).observe(time.perf_counter() - start)

    async def _execute(
        self,
        stream_id: str,
        command: Any,
        ctx: CommandContext,
        expected_version: int | None,
        idempotency_key: str | None,
        case_id: str | None,
        conn: asyncpg.Connection | None,
    ) -> CommandResult[S]:
        # A cached state is trusted only to propose a write: the append's version check
        # proves it current. Any other outcome (nothing to do, a refusal, a version the
        # caller did not expect) is decided again on the stream as stored.
        fresh = stream_id not in self._cache
        key = self._key(ctx, idempotency_key, command)
        conflicts = 0
        while True:
            if fresh:
                state, version = await self.load(stream_id, conn=conn)
            else:
                state, version = self._cache[stream_id]
            if expected_version is not None and expected_version != version:
                if not fresh:
                    fresh = True
                    continue
                raise Conflict(
                    f"stream {stream_id} is at version {version}, not {expected_version}",
                    field="expected_version",
                )
            try:
                decided = self.decider.decide(state, command, ctx)
            except MendError:
                if not fresh:
                    fresh = True
                    continue
                if key is not None:  # a retry of a request that changed what is now true?
                    done = await self._done_before(stream_id, key, idempotency_key, ctx, state)
                    if done is not None:
                        return done
                raise
            if not decided:
                if not fresh:
                    fresh = True
                    continue
                if key is not None:
                    done = await self._done_before(stream_id, key, idempotency_key, ctx, state)
                    if done is not None:
                        return done
                return CommandResult(state, version, (), ())
            new = self._envelop(stream_id, decided, ctx, idempotency_key, command)
            try:
                result = await self.store.append(
                    stream_id, new, expected_version=version, case_id=case_id, key=key
                )
            except Conflict:
                self._cache.pop(stream_id, None)
                if expected_version is not None:
                    raise
                # Another process wrote first (this one's commands on the stream take
                # turns): decide again on what is now true, after a pause that grows.
                await asyncio.sleep(_backoff(conflicts))
                conflicts += 1
                fresh = True
                continue
            if not result.written:  # a retry: its events were stored before
                self._cache.pop(stream_id, None)
                return CommandResult(state, result.version, (), result.positions)
            for n in new:
                state = self.decider.evolve(state, n.event, n.metadata)
            self._remember(stream_id, state, result.version)
            return CommandResult(state, result.version, tuple(new), result.positions)

    @staticmethod
    def _key(ctx: CommandContext, idempotency_key: str | None, command: Any) -> KeyBinding | None:
        """The key as bound in the store: a uuid of who sent it and the key, and the request's
        digest (the edge's, or the command's when a service sends a key of its own)."""
        if idempotency_key is None:
            return None
        request = getattr(idempotency_key, "request", None) or command_digest(command)
        return KeyBinding(uuid5(IDS, key_seed(ctx, idempotency_key)), request)

    async def _done_before(
        self,
        stream_id: str,
        key: KeyBinding,
        idempotency_key: str | None,
        ctx: CommandContext,
        state: S,
    ) -> CommandResult[S] | None:
        """When the key's request has been written before, its result (a retry after its own
        effect changed the stream: the command may now decide nothing, or be refused); when the
        key is bound to another request, `KeyReused`; otherwise None."""
        bound = await self.store.key_binding(key.key_id)
        if bound is None:
            return None
        bound_stream, request, after = bound
        if (bound_stream, request) != (stream_id, key.request):
            raise KeyReused()
        seed = key_seed(ctx, idempotency_key or "")
        mine = []
        for e in await self.store.read_stream(stream_id, after_version=after):
            if e.event_id == derived_event_id(seed, stream_id, len(mine), e.event_type):
                mine.append(e)
            elif mine:
                break
        if not mine:
            return None
        return CommandResult(
            state, mine[-1].stream_version, (), tuple(e.global_position for e in mine)
        )

    @staticmethod
    def _envelop(
        stream_id: str,
        events: Sequence[DomainEvent],
        ctx: CommandContext,
        idempotency_key: str | None,
        command: Any,
    ) -> list[NewEvent]:
        meta = ctx.metadata()
        seed = None
        if idempotency_key is not None:
            seed = key_seed(ctx, idempotency_key)
        elif ctx.causation_id is not None:
            # One cause may lead to several different commands on one stream (an agreement's
            # items): the command's content is part of the seed, so only a redelivery of the
            # same command repeats its ids.
            seed = f"cause:{ctx.causation_id}:{command_digest(command)}"
        return [
            NewEvent(
                derived_event_id(seed, stream_id, i, e.event_type) if seed else uuid4(), e, meta
            )
            for i, e in enumerate(events)
        ]
