"""The allowlist as data (`mend_disclosure/allowlist.toml`): per event type, whose grant decides
(the subject) and, per data category, the field paths a partner may receive. Loaded once and
checked against the platform's event registry, so a misspelt type, field or category fails at
start-up instead of silently sharing nothing (or something else)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import mend_events.contracts.catalog  # noqa: F401  (every event type registered)
from mend_events.contracts.catalog.consent import DataCategory
from mend_events.contracts.events import registry

HARMED_PERSON = "harmed_person"  # the subject of case-level events: the case's harmed person


class AllowlistError(ValueError):
    """The allowlist names something the platform does not have."""


@dataclass(frozen=True, slots=True)
class Rule:
    event_type: str
    subject: str  # HARMED_PERSON or the name of the field holding the person concerned
    fields: Mapping[DataCategory, tuple[str, ...]]

    @property
    def categories(self) -> frozenset[DataCategory]:
        return frozenset(self.fields)

    def paths_for(self, granted: frozenset[DataCategory] | set[DataCategory]) -> tuple[str, ...]:
        """The field paths of the granted categories (the subject field first), each once."""
        paths: dict[str, None] = {}
        if self.subject != HARMED_PERSON:
            paths[self.subject] = None
        for category in sorted(granted & self.categories):
            paths.update(dict.fromkeys(self.fields[category]))
        return tuple(paths)


@dataclass(frozen=True, slots=True)
class Allowlist:
    rules: Mapping[str, Rule]

    def rule(self, event_type: str) -> Rule | None:
        return self.rules.get(event_type)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Allowlist:
        rules = {}
        for event_type, spec in raw.items():
            if not registry.knows(event_type):
                raise AllowlistError(f"{event_type}: not an event type of the platform")
            model_fields = registry.model(event_type).model_fields
            subject = spec.get("subject")
            if subject != HARMED_PERSON and subject not in model_fields:
                raise AllowlistError(f"{event_type}: subject {subject!r} is no field of it")
            fields: dict[DataCategory, tuple[str, ...]] = {}
            for category, paths in (spec.get("fields") or {}).items():
                try:
                    cat = DataCategory(category)
                except ValueError:
                    raise AllowlistError(f"{event_type}: unknown category {category}") from None
                for path in paths:
                    if path.split(".")[0] not in model_fields:
                        raise AllowlistError(f"{event_type}: {path} is no field of it")
                fields[cat] = tuple(paths)
            if not fields:
                raise AllowlistError(f"{event_type}: no category lets anything through")
            unknown = set(spec) - {"subject", "fields"}
            if unknown:
                raise AllowlistError(f"{event_type}: unknown keys {sorted(unknown)}")
            rules[event_type] = Rule(event_type, subject, fields)
        return cls(rules)

    @classmethod
    def load(cls, text: str | None = None) -> Allowlist:
        """The reviewed file shipped with the service (or `text`, for tests)."""
        if text is None:
            text = resources.files("mend_disclosure").joinpath("allowlist.toml").read_text()
        return cls.parse(tomllib.loads(text))


def minimise(data: Mapping[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """Only `paths` of `data` (dotted paths go into objects); a path the event lacks is left
    out. Nothing else of the event is copied."""
    out: dict[str, Any] = {}
    for path in paths:
        head, *rest = path.split(".")
        if head not in data:
            continue
        if not rest:
            out[head] = data[head]
        elif isinstance(data[head], Mapping):
            inner = minimise(data[head], (".".join(rest),))
            if inner:
                out.setdefault(head, {}).update(inner)
    return out
