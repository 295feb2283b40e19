"""Structured JSON logs (structlog + orjson) that never carry personal data in clear.

`configure_logging(service)` once at start-up. Every line is one JSON object with `timestamp`
(ISO 8601, UTC), `level`, `service`, `event` (the message) and whatever was bound with
`bind_contextvars(correlation_id=..., causation_id=...)` for the current request or message.
Standard-library loggers (uvicorn, aiokafka, asyncpg) go through the same processors.

`scrub_personal_data` runs last before rendering: it redacts values under keys known to hold
personal data or secrets (and the personal fields of every registered event), unsealed personal
values, sealed ciphertexts, and e-mail addresses, phone numbers and bearer tokens inside any
string, however deeply nested.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping
from typing import IO, Any

import orjson
import structlog
from pydantic import BaseModel
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars
from structlog.types import EventDict, Processor, WrappedLogger

from mend_events.contracts import DomainEvent, Sealed, registry

__all__ = [
    "PERSONAL_KEYS",
    "bind_contextvars",
    "bound_contextvars",
    "clear_contextvars",
    "configure_logging",
    "get_logger",
    "scrub_personal_data",
    "scrub_text",
]

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


def _exc_info(value: Any) -> tuple[type[BaseException], BaseException, Any] | None:
    if isinstance(value, BaseException):
        return type(value), value, value.__traceback__
    if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
        return value  # type: ignore[return-value]
    if value is True:
        current = sys.exc_info()
        return current if current[0] is not None else None  # type: ignore[return-value]
    return None


def render_exception(exc: BaseException) -> str:
    """A traceback without its messages: where it happened (files, lines, functions) and what
    (the exception types, causes included), never an exception's text, which may quote the
    input that caused it (a query string, a value pydantic or asyncpg refused)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 8:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
        parts.append(
            "\n".join(["Traceback (most recent call last):", *lines, _type_name(current)])
        )
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "\n\nwhich was caused by:\n".join(parts)


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return f"{module}{kind.__qualname__} (message withheld)"


def format_exception_safely(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor in place of `format_exc_info`: `exc_info` becomes `exception`,
    rendered by `render_exception` (no messages)."""
    info = _exc_info(event_dict.pop("exc_info", None))
    if info is not None:
        event_dict["exception"] = render_exception(info[1])
    return event_dict


def _dumps_text(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode("utf-8")


def configure_logging(
    service: str,
    level: str | int = "INFO",
    *,
    stream: IO[str] | None = None,
    cache_loggers: bool = True,
) -> None:
    """Configure structlog and the standard library to write scrubbed JSON lines to `stream`
    (default stdout). Call once at process start; tests may call it again."""
    out = stream if stream is not None else sys.stdout
    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]

    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
    ]
    tail: list[Processor] = [
        structlog.processors.StackInfoRenderer(),
        format_exception_safely,
        scrub_personal_data,
        structlog.processors.JSONRenderer(serializer=_dumps_text),
    ]
    structlog.configure(
        processors=[*shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=cache_loggers,
    )

    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # The Kafka client's debug lines print whole requests, message bodies and keys included:
    # whatever the level asked for, it says no more than INFO.
    kafka = logging.getLogger("aiokafka")
    kafka.setLevel(max(numeric, logging.INFO))
    kafka.propagate = True  # `mend audit` silences it for its own output; a service does not


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger (after `configure_logging`), optionally with bound values."""
    return structlog.get_logger(name, **initial) if name else structlog.get_logger(**initial)
