"""Scrubbing of log lines: values under keys known to hold personal data or secrets (and the
personal fields of every registered event), unsealed personal values, sealed ciphertexts, and
e-mail addresses, phone numbers and bearer tokens inside any string, however deeply nested.
`configure_logging` (in `mend_events.app.logging`) runs `scrub_personal_data` last before
rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from structlog.types import EventDict, WrappedLogger

from mend_events.contracts.events import DomainEvent, Sealed, registry

REDACTED = "[redacted]"
SEALED = "[sealed]"

# Keys whose values are personal data or secrets, compared lower-case with '-' read as '_'.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "full_name",
        "first_name",
        "last_name",
        "given_name",
        "family_name",
        "surname",
        "email",
        "e_mail",
        "phone",
        "phone_number",
        "mobile",
        "address",
        "postcode",
        "date_of_birth",
        "dob",
        "text",
        "note",
        "notes",
        "narrative",
        "reason_text",
        "statement",
        "plaintext",
        "message_text",
        "body",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "authorization",
        "cookie",
        "set_cookie",
        "password",
        "secret",
        "query_string",
        "querystring",
        "api_key",
        "private_key",
    }
)
# Any key containing one of these is a secret too (e.g. `db_password`, `x_auth_token`).
_SECRET_PARTS = ("password", "secret", "token", "authorization", "private_key", "api_key")
# Keys structlog itself owns: their values are scrubbed for patterns but never dropped.
_RESERVED = frozenset({"event", "level", "timestamp", "logger", "service"})

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]+=*")
# A phone number candidate: digits with spaces, dots, dashes or parentheses, optional leading +,
# not glued to a word, a path, a time or an id (`case-12345678`, UUID groups); see `_phone`.
_PHONE_RE = re.compile(r"(?<![\w.\-/])(?<!\d:)\+?\(?\d[\d \t().\-]{5,}\d(?![\w\-/:])")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./]\d{1,2}[./]\d{2,4}$")
_MAX_DEPTH = 8
# A URL or path's query string: clients put anything there (a name in a search, a free-text
# filter), so it never reaches a log line; the path before it stays.
_QUERY_RE = re.compile(r"(/[^\s?#\"'<>]*)\?[^\s#\"'<>]+")


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15 or _DATE_RE.match(candidate):
        return candidate
    return "[phone]"


def scrub_text(text: str) -> str:
    """Redact e-mail addresses, bearer/JWT tokens and phone numbers inside a string."""
    if not text:
        return text
    if "?" in text:
        text = _QUERY_RE.sub(r"\1?[query]", text)
    text = _JWT_RE.sub("[token]", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} [token]", text)
    if "@" in text:
        text = _EMAIL_RE.sub("[email]", text)
    if sum(ch.isdigit() for ch in text) >= 7:
        text = _PHONE_RE.sub(_phone, text)
    return text


_personal_names: tuple[tuple[int, int], frozenset[str]] = ((0, -1), frozenset())


def _registered_personal_fields() -> frozenset[str]:
    """Names of the personal fields of every registered event (refreshed as events register:
    a registry only grows, so its size tells whether the cached names are current)."""
    global _personal_names
    types = registry.types()
    stamp = (id(registry), len(types))
    if _personal_names[0] != stamp:
        names: set[str] = set()
        for t in types:
            names.update(registry.model(t).personal_fields)
        _personal_names = (stamp, frozenset(n.lower() for n in names))
    return _personal_names[1]


def _is_personal_key(key: str, extra: frozenset[str]) -> bool:
    k = key.lower().replace("-", "_")
    return k in PERSONAL_KEYS or k in extra or any(part in k for part in _SECRET_PARTS)


def _unsealed_personal(value: Mapping[Any, Any]) -> bool:
    """A dict shaped like a personal field that was not sealed: sealing metadata (`kid`, `alg`,
    `iv`) next to a clear `plaintext` / `text` / `value`."""
    if not value.keys() & {"kid", "alg", "iv"}:
        return False
    return any(isinstance(value.get(k), str) for k in ("plaintext", "text", "value", "pt"))


def _is_sealed(value: Mapping[Any, Any]) -> bool:
    return value.keys() == {"alg", "kid", "iv", "ct"}


def _event(value: DomainEvent, extra: frozenset[str], depth: int) -> dict[str, Any]:
    data = value.to_data()
    for name in type(value).personal_fields:
        if data.get(name) is not None:
            data[name] = SEALED if isinstance(getattr(value, name, None), Sealed) else REDACTED
    out = _scrub(data, extra, depth)
    return {"event_type": value.event_type, **out} if isinstance(out, dict) else {}


def _scrub(value: Any, extra: frozenset[str], depth: int) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, Mapping):
        if _is_sealed(value):
            return SEALED
        if _unsealed_personal(value):
            return REDACTED
        return {
            k: (
                REDACTED
                if isinstance(k, str) and _is_personal_key(k, extra) and value[k] is not None
                else _scrub(value[k], extra, depth + 1)
            )
            for k in value
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v, extra, depth + 1) for v in value]
    if isinstance(value, Sealed):
        return SEALED
    if isinstance(value, DomainEvent):
        return _event(value, extra, depth + 1)
    if isinstance(value, BaseModel):
        return _scrub(value.model_dump(mode="json"), extra, depth + 1)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    return scrub_text(str(value))


def scrub_personal_data(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: keep personal data and secrets out of the rendered line."""
    extra = _registered_personal_fields()
    out: EventDict = {}
    for key, value in event_dict.items():
        if key not in _RESERVED and _is_personal_key(key, extra) and value is not None:
            out[key] = REDACTED
        else:
            out[key] = _scrub(value, extra, 0)
    return out
