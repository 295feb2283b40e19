"""The pieces every summary is written with: codes, dates and pseudonymous ids only (never a
personal field: see `summaries.py`)."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

SEALED = "[sealed]"

Data = Mapping[str, Any]


def _g(data: Data, key: str, default: str = "?") -> str:
    value = data.get(key)
    return default if value is None else str(value)


def short(value: Any) -> str:
    """A UUID as its first 8 hex digits: enough to follow in a timeline, full in the facts."""
    text = str(value)
    return text[:8] if len(text) == 36 and text.count("-") == 4 else text


def _scopes(grants: Any) -> str:
    if not isinstance(grants, list):
        return "?"
    return ", ".join(str(g.get("scope", "?")) for g in grants if isinstance(g, dict)) or "none"


def _forms(permitted: Any) -> str:
    if not isinstance(permitted, list) or not permitted:
        return "no contact form"
    parts = []
    for p in permitted:
        if isinstance(p, dict):
            who = "with" if p.get("with_responsible_person") else "without"
            parts.append(f"{p.get('form', '?')} ({who} the responsible person)")
        else:
            parts.append(str(p))
    return ", ".join(parts)


def _ids(values: Any) -> str:
    if not isinstance(values, list) or not values:
        return "none"
    return ", ".join(str(v.get("id", v)) if isinstance(v, dict) else str(v) for v in values)


def _until(data: Data, key: str, word: str = "until") -> str:
    value = data.get(key)
    return f" {word} {value}" if value else ""


def _words(template: str) -> Callable[[Data], str]:
    """A summary that is only fields in fixed words: each `{field}` reads as the field's value
    (`?` when missing or null, as `_g`), each `{field:short}` as `short` of it. The template is
    parsed once, not per event: a replay summarises millions."""
    parts = tuple(
        (literal, field, spec == "short")
        for literal, field, spec, _conversion in string.Formatter().parse(template)
    )

    def summary(d: Data) -> str:
        out = []
        for literal, field, short in parts:
            out.append(literal)
            if field is not None:
                value = d.get(field)
                out.append(short(value) if short else "?" if value is None else str(value))
        return "".join(out)

    return summary
