"""What changed between two rule pack versions: each parameter that differs, old and new.
`python -m mend_events.rules diff england-wales@1 england-wales@2` prints it for a review."""

from __future__ import annotations

from typing import Any

from mend_events.rules import RulePack

_ABOUT = ("title", "jurisdiction", "summary")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def differences(old: RulePack, new: RulePack) -> list[tuple[str, Any, Any]]:
    """(parameter, old value, new value) for each rule that differs, in a stable order; the
    packs' names and descriptions are not rules and are left out."""
    a = _flat(old.model_dump(mode="json", exclude={"id", "version", *_ABOUT}))
    b = _flat(new.model_dump(mode="json", exclude={"id", "version", *_ABOUT}))
    return [(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def shown(value: Any) -> str:
    """A parameter's value as a reviewer reads it (a list as `[a, b]`)."""
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def render(old: RulePack, new: RulePack) -> str:
    rows = differences(old, new)
    head = f"{old.ref} -> {new.ref}: {len(rows)} rule(s) differ"
    return "\n".join([head, *(f"  {k}: {shown(a)} -> {shown(b)}" for k, a, b in rows)])
