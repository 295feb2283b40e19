"""How a service declares what it consumes of other services' events, and how its app
subscribes from that declaration (so the declaration is the subscription, and cannot drift).

Every service has a `reactions.py` with a `Reactions` class whose `CONSUMES` names its
subscriptions: `Consumes("consent", consent=(...types...))` is the subscription `consent`
(consumer group `<service>.consent`) to the consent service's topic, handled by the method
`on_consent(conn, event)`. The handler sees only the types declared: others are acknowledged
without it (the consumer has validated every message before, and records it in the inbox).

`consumer_rows` / `render_consumer_table` turn the declarations into the table of who consumes
which event type (docs/architecture.md, checked by a test).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from mend_events.app.runtime import ServiceRuntime
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.inbox import Handler, PositionHook
from mend_events.security import erasure

__all__ = ["Consumes", "consumer_rows", "render_consumer_table", "subscribe"]


@dataclass(frozen=True)
class Consumes:
    """One subscription: its name and, per source service, the event types its handler takes."""

    name: str
    types: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __init__(self, name: str, **types: Iterable[str]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "types", {s: frozenset(t) for s, t in types.items()})

    @property
    def handler(self) -> str:
        """The handler's method name: `on_<subscription>`, the same in every service."""
        return f"on_{self.name}"

    @property
    def sources(self) -> list[str]:
        return list(self.types)

    def takes(self, event: RecordedEvent) -> bool:
        return event.event_type in self.types.get(event.service, frozenset())


def _only_declared(declared: Consumes, handler: Handler) -> Handler:
    async def handle(conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if declared.takes(event):
            await handler(conn, event)

    handle.__name__ = declared.handler
    return handle


def subscribe(
    runtime: ServiceRuntime, reactions: Any, *, on_position: PositionHook | None = None
) -> None:
    """Subscribe `runtime` to each subscription `reactions.CONSUMES` declares, with its
    `on_<name>` handler; `on_position` (if any) records each applied message's offset."""
    for declared in reactions.CONSUMES:
        handler = getattr(reactions, declared.handler)
        runtime.subscribe(
            declared.name,
            declared.sources,
            _only_declared(declared, handler),
            on_position=on_position,
        )


@dataclass(frozen=True, order=True)
class ConsumerRow:
    source: str  # the service whose topic carries the event
    event_type: str
    consumer: str  # the consuming service
    subscription: str
    handler: str


def consumer_rows(declarations: Mapping[str, Sequence[Consumes]]) -> list[ConsumerRow]:
    """One row per (event type, consuming subscription), from each service's `CONSUMES`. A
    subscription to the erasure owner's topic also applies erasures (`erasure.shredding`)."""
    rows: set[ConsumerRow] = set()
    for consumer, subscriptions in declarations.items():
        for sub in subscriptions:
            for source, types in sub.types.items():
                for event_type in types:
                    rows.add(ConsumerRow(source, event_type, consumer, sub.name, sub.handler))
                if source == erasure.OWNER and consumer != erasure.OWNER:
                    rows.add(
                        ConsumerRow(source, erasure.ERASED, consumer, sub.name, "erasure.shredding")
                    )
    return sorted(rows)


def render_consumer_table(declarations: Mapping[str, Sequence[Consumes]]) -> str:
    """The markdown table of `consumer_rows`."""
    lines = [
        "| source | event type | consumer | subscription | handler |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in consumer_rows(declarations):
        lines.append(
            f"| {r.source} | {r.event_type} | {r.consumer} | {r.consumer}.{r.subscription} "
            f"| `{r.handler}` |"
        )
    return "\n".join(lines) + "\n"
