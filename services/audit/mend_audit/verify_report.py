"""What verification found: a `Problem` names the service, stream, version, event and, for
Kafka, where on the topic; a `ServiceReport` per store holds its cut and counts; the `Report`
holds only when no service has a problem (`verify.py` explains each check)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    service: str
    # chain | kafka_missing | kafka_mismatch | kafka_unknown | kafka_malformed |
    # checkpoint_ahead | topic_missing | kafka_unreachable | kafka_timeout
    kind: str
    detail: str
    stream_id: str | None = None
    stream_version: int | None = None
    event_id: str | None = None
    where: str | None = None  # on Kafka: topic, partition and offset

    def __str__(self) -> str:
        at = ""
        if self.stream_id is not None:
            at = f" stream {self.stream_id} version {self.stream_version}"
        if self.event_id:
            at += f" (event {self.event_id})"
        kafka = f" [{self.where}]" if self.where else ""
        return f"{self.service}{at}: {self.detail}{kafka}"

    def to_dict(self) -> dict[str, Any]:
        """Every field, the words last (after what they are about)."""
        out = asdict(self)
        out["detail"] = out.pop("detail")
        return out


@dataclass
class ServiceReport:
    service: str
    schema: str
    topic: str | None
    events: int = 0
    streams: int = 0
    messages: int | None = None  # None when Kafka was not checked
    problems: list[Problem] = field(default_factory=list)
    # The cut, taken when verification began: the store's last global position and the
    # relay's checkpoint for the topic (None: no checkpoint, nothing published yet).
    head: int = 0
    checkpoint: int | None = None
    # Stored events past the checkpoint (up to the head) not on Kafka yet: no failure.
    unpublished: int = 0
    # Events appended after the cut whose messages were already on Kafka (checked as well).
    published_after_cut: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "schema": self.schema,
            "topic": self.topic,
            "events": self.events,
            "streams": self.streams,
            "messages": self.messages,
            "cut": {"head": self.head, "checkpoint": self.checkpoint},
            "unpublished": self.unpublished,
            "published_after_cut": self.published_after_cut,
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class Report:
    services: list[ServiceReport]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.services)

    @property
    def problems(self) -> list[Problem]:
        return [p for s in self.services for p in s.problems]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "services": [s.to_dict() for s in self.services]}

    def lines(self) -> list[str]:
        out = []
        for s in self.services:
            chain = sum(1 for p in s.problems if p.kind == "chain")
            kafka = len(s.problems) - chain
            chains = "chains ok" if not chain else f"{chain} chain break(s)"
            if s.topic is None:
                bus = "kafka not checked"
            elif s.messages is None:
                bus = f"kafka: {kafka} problem(s) with {s.topic}"
            else:
                bus = f"kafka {'ok' if not kafka else f'{kafka} problem(s)'}"
                bus += f" ({s.messages} message(s) on {s.topic}"
                if s.unpublished:
                    past = (
                        "the relay has no checkpoint yet"
                        if s.checkpoint is None
                        else f"past the relay's checkpoint {s.checkpoint}"
                    )
                    bus += f"; {s.unpublished} not yet published, {past}, cut at position {s.head}"
                bus += ")"
            out.append(
                f"{s.service:<10} {chains:<18} {s.events} event(s) in {s.streams} stream(s) of "
                f"{s.schema}.events; {bus}"
            )
        problems = self.problems
        if problems:
            out.append(f"FAILED: {len(problems)} problem(s)")
            out.extend(f"  {p}" for p in problems)
        elif all(s.messages is not None for s in self.services):
            waiting = sum(s.unpublished for s in self.services)
            if waiting:
                out.append(
                    f"OK: every chain holds and Kafka matches the stores up to the relays' "
                    f"checkpoints ({waiting} not yet published)"
                )
            else:
                out.append("OK: every chain holds and Kafka matches the stores")
        else:
            out.append("OK: every chain holds (Kafka not checked)")
        return out
