"""CommandService on the real database: a cached state only ever proposes a write, which the
append's version check proves current; every other outcome is decided on the stored stream.
Two services on one schema stand for two replicas of a service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from mend_events.commands.decider import CommandContext, Decider
from mend_events.commands.service import CommandService
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.events import DomainEvent, registry
from mend_events.errors import Conflict, Rejected
from mend_events.store import EventStore


@registry.register
class SwitchTurned(DomainEvent):
    event_type = "SwitchTurned"
    on: bool


@registry.register
class SwitchPinged(DomainEvent):
    event_type = "SwitchPinged"


@dataclass(frozen=True)
class Turn:
    on: bool


@dataclass(frozen=True)
class Ping:
    pass


def _decide(state: bool, command: object, ctx: CommandContext) -> list[DomainEvent]:
    if isinstance(command, Turn):
        return [] if command.on == state else [SwitchTurned(on=command.on)]
    if not state:
        raise Rejected("the switch is off", field="on")
    return [SwitchPinged()]


def _evolve(state: bool, event: DomainEvent, meta: object) -> bool:
    return event.on if isinstance(event, SwitchTurned) else state


SWITCH = Decider(initial=lambda stream_id: False, evolve=_evolve, decide=_decide)
ACTOR = Actor(id="prac-test1", role=Role.PRACTITIONER, agency="agency-a")


def ctx() -> CommandContext:
    return CommandContext(ACTOR, datetime.now(UTC), uuid4())


class CountingStore(EventStore):
    reads = 0

    async def read_stream(self, stream_id, **kwargs):  # type: ignore[override]
        self.reads += 1
        return await super().read_stream(stream_id, **kwargs)


@pytest.fixture
def replicas(app_pool, schema):
    return (
        CommandService(CountingStore(app_pool, schema), SWITCH),
        CommandService(CountingStore(app_pool, schema), SWITCH),
    )


async def stored(service: CommandService, stream: str) -> list[str]:
    events = await service.store.read_stream(stream)
    return [f"{e.event_type}:{e.decode().model_dump().get('on', '')}" for e in events]


async def test_cached_write_is_proved_by_the_append_not_by_a_read(replicas):
    a, _ = replicas
    await a.execute("case-sw1", Turn(True), ctx())
    reads = a.store.reads
    result = await a.execute("case-sw1", Turn(False), ctx())
    assert result.version == 2 and len(result.events) == 1
    assert a.store.reads == reads  # the cached state proposed it; the append checked it


async def test_nothing_to_do_on_a_stale_cache_is_decided_again(replicas):
    """Replica b turned the switch off after a cached it on: a's 'turn on' is not 'already
    done' (the safety case: a withdrawal must never be lost to a stale cache)."""
    a, b = replicas
    await a.execute("case-sw2", Turn(True), ctx())
    await b.execute("case-sw2", Turn(False), ctx())
    result = await a.execute("case-sw2", Turn(True), ctx())
    assert [type(n.event).__name__ for n in result.events] == ["SwitchTurned"]
    assert await stored(a, "case-sw2") == [
        "SwitchTurned:True",
        "SwitchTurned:False",
        "SwitchTurned:True",
    ]


async def test_refusal_on_a_stale_cache_is_decided_again(replicas):
    a, b = replicas
    await a.execute("case-sw3", Turn(True), ctx())
    await a.execute("case-sw3", Turn(False), ctx())
    await b.execute("case-sw3", Turn(True), ctx())
    result = await a.execute("case-sw3", Ping(), ctx())  # a's cache says off: would refuse
    assert result.version == 4 and len(result.events) == 1


async def test_stale_write_conflicts_then_sees_it_is_already_done(replicas):
    a, b = replicas
    await a.execute("case-sw4", Turn(True), ctx())
    await b.execute("case-sw4", Turn(False), ctx())
    result = await a.execute("case-sw4", Turn(False), ctx())  # a thinks on: proposes off
    assert result.events == () and result.version == 2
    assert await stored(a, "case-sw4") == ["SwitchTurned:True", "SwitchTurned:False"]


async def test_expected_version_is_checked_against_the_stored_stream(replicas):
    a, b = replicas
    await a.execute("case-sw5", Turn(True), ctx())
    await b.execute("case-sw5", Turn(False), ctx())
    result = await a.execute("case-sw5", Turn(True), ctx(), expected_version=2)
    assert result.version == 3
    with pytest.raises(Exception, match="not 1"):
        await a.execute("case-sw5", Turn(False), ctx(), expected_version=1)


async def test_an_idempotency_key_is_bound_to_its_first_request(replicas):
    """Issue 14 #4: the same key with another command, or on another stream, is refused and
    writes nothing; the same command again is the first result."""
    a, b = replicas
    first = await a.execute("case-sw6", Turn(True), ctx(), idempotency_key="k-1")
    assert first.version == 1 and len(first.events) == 1
    again = await b.execute("case-sw6", Turn(True), ctx(), idempotency_key="k-1")
    assert again.version == 1 and again.events == ()
    with pytest.raises(Rejected, match="Idempotency-Key") as refused:
        await a.execute("case-sw6", Ping(), ctx(), idempotency_key="k-1")
    assert refused.value.field == "Idempotency-Key"
    # On another stream: refused even where the command decides nothing there.
    with pytest.raises(Rejected, match="Idempotency-Key"):
        await b.execute("case-sw7", Turn(False), ctx(), idempotency_key="k-1")
    with pytest.raises(Rejected, match="Idempotency-Key"):
        await b.execute("case-sw7", Turn(True), ctx(), idempotency_key="k-1")
    assert await stored(a, "case-sw6") == ["SwitchTurned:True"]
    assert await stored(a, "case-sw7") == []
    # Another person's key with the same text is another key.
    other = CommandContext(
        Actor(id="prac-test2", role=Role.PRACTITIONER, agency="agency-a"),
        datetime.now(UTC),
        uuid4(),
    )
    assert len((await a.execute("case-sw7", Turn(True), other, idempotency_key="k-1")).events)


async def test_a_retry_after_its_own_effect_answers_the_first_result(replicas):
    """The retried command would now be refused (the switch is off again): the key shows it was
    done, so the retry answers the first result instead of an error."""
    a, b = replicas
    await a.execute("case-sw8", Turn(True), ctx())
    pinged = await a.execute("case-sw8", Ping(), ctx(), idempotency_key="k-ping")
    await a.execute("case-sw8", Turn(False), ctx())
    retry = await b.execute("case-sw8", Ping(), ctx(), idempotency_key="k-ping")
    assert retry.version == pinged.version == 2 and retry.events == ()
    with pytest.raises(Rejected, match="off"):
        await b.execute("case-sw8", Ping(), ctx(), idempotency_key="k-other")


async def test_concurrent_requests_with_one_key_write_once(replicas):
    a, b = replicas
    results = await asyncio.gather(
        *(r.execute("case-sw9", Turn(True), ctx(), idempotency_key="k-9") for r in (a, b, a, b))
    )
    assert sorted(len(r.events) for r in results) == [0, 0, 0, 1]
    assert await stored(a, "case-sw9") == ["SwitchTurned:True"]


async def test_many_concurrent_commands_on_one_stream_are_all_accepted(replicas):
    """R2: contention delays a command, never refuses it. 80 commands at once on one stream,
    from two replicas (two processes): every one is written, none answered 'too busy'."""
    a, b = replicas
    await a.execute("case-sw6", Turn(True), ctx())
    results = await asyncio.gather(
        *(r.execute("case-sw6", Ping(), ctx()) for r in (a, b) for _ in range(40)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert refused == []
    assert sorted(r.version for r in results) == list(range(2, 82))
    assert len(await a.store.read_stream("case-sw6")) == 81


async def test_a_named_expected_version_still_conflicts_under_contention(replicas):
    a, b = replicas
    await a.execute("case-sw7", Turn(True), ctx())
    results = await asyncio.gather(
        *(
            r.execute("case-sw7", Ping(), ctx(), expected_version=1)
            for r in (a, b)
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
