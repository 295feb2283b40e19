"""What makes a command's effect happen once: event ids derived from what caused them (a
redelivered cause or a retried request writes nothing twice), and idempotency keys bound to the
request they came with."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from mend_events.commands.decider import CommandContext

IDS = uuid5(NAMESPACE_URL, "https://mend.example/event-ids")


def derived_event_id(seed: str, stream_id: str, index: int, event_type: str) -> UUID:
    """A deterministic id, so a redelivered cause or a retried request writes nothing twice."""
    return uuid5(IDS, f"{seed}|{stream_id}|{index}|{event_type}")


class RequestKey(str):
    """An idempotency key as the HTTP edge received it, with a digest of the request it came
    with (route, path ids and body): what the key is bound to, whatever the service then builds
    from the request (a command with gate facts attached is the same request)."""

    request: str

    def __new__(cls, key: str, request: str) -> RequestKey:
        made = super().__new__(cls, key)
        made.request = request
        return made


def command_digest(command: Any) -> str:
    """A stable digest of a command's content (pydantic models by their JSON)."""
    dump = getattr(command, "model_dump_json", None)
    text = dump() if callable(dump) else repr(command)
    return hashlib.sha256(f"{type(command).__name__}:{text}".encode()).hexdigest()[:32]


def key_seed(ctx: CommandContext, idempotency_key: str) -> str:
    """An idempotency key is the sender's own: the same text from two people is two keys."""
    return f"key:{ctx.actor.agency}:{ctx.actor.id}:{idempotency_key}"
