"""The case history projection, pure: one timeline per case, each consequence linked to its cause.

Input is replayed events (`replay.read_events`) or rows of the stored projection; output is
plain data. Each entry (`entries.py`) says who (pseudonymous id and role), when (occurred and
recorded), what (type and a safe summary: see `summaries`), and which event caused it (its
causation id, or the cause an event names itself), so that a withdrawal -> the sessions it
halted -> the after-care they triggered reads as one chain. `halts()` lists every halt and
withdrawal with its cause and everything it caused downstream; `document()` adds the state of
the case as of a moment.

Deterministic: entries are ordered by (recorded_at, service, global position), every mapping is
written with sorted keys, and nothing reads the clock, so a rebuild gives the same bytes and an
as-of view does not change when later events are appended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from mend_audit.entries import Entry, iso
from mend_audit.replay import service_rank


@dataclass(frozen=True, slots=True)
class Item:
    """An entry at its place in the timeline (`seq`, from 1), with its cause and consequences
    as places in the same timeline."""

    seq: int
    entry: Entry
    caused_by: int | None
    consequences: tuple[int, ...]


class CaseHistory:
    """One case's timeline, in replay order, with causes and consequences linked."""

    def __init__(self, case_id: str, entries: Iterable[Entry], *, as_of: str | None = None):
        self.case_id = case_id
        self.as_of = as_of
        ordered = sorted(entries, key=lambda e: e.sort_key)
        seq_of = {e.event_id: n for n, e in enumerate(ordered, start=1)}
        causes: dict[int, int | None] = {}
        effects: dict[int, list[int]] = {}
        for n, e in enumerate(ordered, start=1):
            cause = seq_of.get(e.cause_id) if e.cause_id else None
            if cause == n:
                cause = None
            causes[n] = cause
            if cause is not None:
                effects.setdefault(cause, []).append(n)
        self.items: tuple[Item, ...] = tuple(
            Item(n, e, causes[n], tuple(sorted(effects.get(n, ()))))
            for n, e in enumerate(ordered, start=1)
        )
        self._by_event = {item.entry.event_id: item for item in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def item(self, seq: int) -> Item:
        return self.items[seq - 1]

    def by_event(self, event_id: str | UUID) -> Item | None:
        return self._by_event.get(str(event_id))

    @property
    def last_recorded_at(self) -> str | None:
        return self.items[-1].entry.recorded_at if self.items else None

    @property
    def agency(self) -> str | None:
        """The case's agency: the one under which the case was opened, else its first event's."""
        for item in self.items:
            if item.entry.event_type == "CaseOpened":
                agency = item.entry.facts.get("agency")
                return agency if isinstance(agency, str) else item.entry.agency
        return self.items[0].entry.agency if self.items else None

    def causes_of(self, seq: int) -> list[Item]:
        """The chain of causes leading to an item, the first cause first (the item excluded)."""
        chain: list[Item] = []
        seen = {seq}
        cause = self.item(seq).caused_by
        while cause is not None and cause not in seen:
            seen.add(cause)
            chain.append(self.item(cause))
            cause = self.item(cause).caused_by
        return list(reversed(chain))

    def downstream(self, seq: int) -> list[dict[str, Any]]:
        """What an item caused, and what that caused, as a tree of brief references."""
        return self._tree(seq, {seq})

    def _tree(self, seq: int, seen: set[int]) -> list[dict[str, Any]]:
        out = []
        for n in self.item(seq).consequences:
            if n in seen:
                continue
            seen.add(n)
            out.append({**self.brief(n), "consequences": self._tree(n, seen)})
        return out

    def brief(self, seq: int) -> dict[str, Any]:
        e = self.item(seq).entry
        return {
            "seq": seq,
            "event_id": e.event_id,
            "type": e.event_type,
            "service": e.service,
            "who": {"actor_id": e.actor_id, "role": e.actor_role},
            "recorded_at": e.recorded_at,
            "summary": e.summary,
        }

    def chain_text(self, seq: int) -> str:
        """`ConsentWithdrawn #9 -> SessionHalted #10 -> AftercareOffered #12`: the causes
        leading to an item, the item, then the first line of what it caused."""
        path = [*self.causes_of(seq), self.item(seq)]
        n = seq
        while self.item(n).consequences:
            n = self.item(n).consequences[0]
            path.append(self.item(n))
        return " -> ".join(f"{i.entry.event_type} #{i.seq}" for i in path)

    def timeline(self) -> list[dict[str, Any]]:
        return [
            {
                "seq": item.seq,
                **item.entry.to_dict(),
                "caused_by": self.brief(item.caused_by) if item.caused_by else None,
                "consequences": list(item.consequences),
            }
            for item in self.items
        ]

    def halts(self, *, since: str | None = None) -> list[dict[str, Any]]:
        """Every halt and withdrawal: who, when, in what role, what, its cause and everything it
        caused downstream."""
        out = []
        for item in self.items:
            e = item.entry
            if e.kind is None or (since is not None and e.recorded_at < since):
                continue
            out.append(
                {
                    "case_id": self.case_id,
                    "seq": item.seq,
                    "kind": e.kind,
                    "event_id": e.event_id,
                    "type": e.event_type,
                    "service": e.service,
                    "stream_version": e.stream_version,
                    "who": {"actor_id": e.actor_id, "role": e.actor_role, "agency": e.agency},
                    "occurred_at": e.occurred_at,
                    "recorded_at": e.recorded_at,
                    "what": e.summary,
                    "facts": dict(e.facts),
                    "cause_id": e.cause_id,
                    "cause": self.brief(item.caused_by) if item.caused_by else None,
                    "consequences": self.downstream(item.seq),
                    "chain": self.chain_text(item.seq),
                }
            )
        return out


def histories(entries: Iterable[Entry], *, as_of: str | None = None) -> dict[str, CaseHistory]:
    """One history per case, by case id (sorted)."""
    by_case: dict[str, list[Entry]] = {}
    for e in entries:
        by_case.setdefault(e.case_id, []).append(e)
    return {case: CaseHistory(case, by_case[case], as_of=as_of) for case in sorted(by_case)}


def halts(cases: Iterable[CaseHistory], *, since: str | None = None) -> list[dict[str, Any]]:
    """Every halt and withdrawal of these cases, in replay order."""
    found = [h for case in cases for h in case.halts(since=since)]
    return sorted(found, key=lambda h: (h["recorded_at"], service_rank(h["service"]), h["seq"]))


def to_json(value: Any, *, indent: bool = True) -> bytes:
    """Canonical bytes: sorted keys, so two rebuilds give identical output."""
    option = orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, option=option, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    raise TypeError(f"not JSON: {type(value).__name__}")
