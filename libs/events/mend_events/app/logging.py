"""Structured JSON logs (structlog + orjson) that never carry personal data in clear.

`configure_logging(service)` once at start-up. Every line is one JSON object with `timestamp`
(ISO 8601, UTC), `level`, `service`, `event` (the message) and whatever was bound with
`bind_contextvars(correlation_id=..., causation_id=...)` for the current request or message.
Standard-library loggers (uvicorn, aiokafka, asyncpg) go through the same processors.

`scrub_personal_data` (`log_scrub.py`) runs last before rendering: it keeps personal data and
secrets out of every line, however deeply nested. Exceptions are rendered without their
messages (`render_exception`).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import IO, Any

import orjson
import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars
from structlog.types import EventDict, Processor, WrappedLogger

from mend_events.app.log_scrub import PERSONAL_KEYS, scrub_personal_data, scrub_text

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
        parts.append("\n".join(["Traceback (most recent call last):", *lines, _type_name(current)]))
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
    # A broker restart makes every client repeat its connection errors many times a second:
    # one line per kind per interval, with how many were folded into it. (On the handler: a
    # logger's filters do not apply to its children, `aiokafka.conn` and the like.)
    handler.addFilter(Repeats(prefixes=("aiokafka", "kafka")))


class Repeats(logging.Filter):
    """Lets the first warning or error of each (logger, message template) through per
    `interval` seconds, for loggers named with one of `prefixes`; the next one let through
    says how many were held back (`repeated`)."""

    def __init__(
        self, interval: float = 30.0, clock: Any = None, prefixes: tuple[str, ...] = ("",)
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval = interval
        self.clock = clock or time.monotonic
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        last, held = self._seen.get(key, (float("-inf"), 0))
        if now - last < self.interval:
            self._seen[key] = (last, held + 1)
            return False
        if len(self._seen) > 1000:  # templates are few; a flood of distinct ones is not kept
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            record.repeated = held  # rendered by the formatter's extra fields
            record.msg = f"{record.msg} (and {held} more like it)"
        return True


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger (after `configure_logging`), optionally with bound values."""
    return structlog.get_logger(name, **initial) if name else structlog.get_logger(**initial)
