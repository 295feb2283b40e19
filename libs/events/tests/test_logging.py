from __future__ import annotations

import io
import json
import logging as std_logging
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar
from uuid import uuid4

import pytest
import structlog
from mend_events.app import log_scrub
from mend_events.app.logging import (
    bind_contextvars,
    clear_contextvars,
    configure_logging,
    get_logger,
    scrub_personal_data,
    scrub_text,
)
from mend_events.contracts.events import DomainEvent, PersonalText, Registry, Sealed

EMAIL = "jane.doe@example.org"
PHONE = "+44 7700 900123"
TOKEN = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhZ2VuY3ktbm9ydGgiLCJzdWIiOiJocC0zZjlhMmMifQ."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)
NOTE = "she is afraid of the man at number 12"


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    configure_logging("consent", "DEBUG", stream=buf, cache_loggers=False)
    clear_contextvars()
    yield buf
    clear_contextvars()
    structlog.reset_defaults()
    root = std_logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_personal_data_never_reaches_output(out: io.StringIO) -> None:
    correlation, causation = uuid4(), uuid4()
    bind_contextvars(correlation_id=correlation, causation_id=causation)
    log = get_logger("test")
    log.info(
        f"contact {EMAIL} or {PHONE}, auth Bearer {TOKEN}",
        note=NOTE,
        token=TOKEN,
        email=EMAIL,
        phone=PHONE,
        headers={"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "r-1"},
        details={"comment": f"write to {EMAIL}", "nested": [{"full_name": "Jane Doe"}]},
        case_id="case-9c1d2e4f",
        global_position=1234567,
    )
    text = out.getvalue()
    for secret in (EMAIL, "jane.doe", PHONE, "7700 900123", TOKEN, TOKEN[:40], NOTE, "Jane Doe"):
        assert secret not in text
    [line] = lines(out)
    assert line["correlation_id"] == str(correlation)
    assert line["causation_id"] == str(causation)
    assert line["service"] == "consent" and line["level"] == "info"
    datetime.fromisoformat(line["timestamp"])  # ISO 8601
    assert line["note"] == "[redacted]" and line["token"] == "[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]", "X-Request-Id": "r-1"}
    assert line["details"]["comment"] == "write to [email]"
    assert line["case_id"] == "case-9c1d2e4f"  # pseudonymous ids stay readable
    assert line["global_position"] == 1234567
    assert "[email]" in line["event"] and "[phone]" in line["event"]
    assert "[token]" in line["event"]


def test_contextvars_in_every_line(out: io.StringIO) -> None:
    log = get_logger()
    correlation = uuid4()
    bind_contextvars(correlation_id=str(correlation))
    log.info("one")
    log.warning("two", extra_key=1)
    std_logging.getLogger("aiokafka").warning("from the stdlib: %s", EMAIL)
    parsed = lines(out)
    assert len(parsed) == 3
    assert all(p["correlation_id"] == str(correlation) for p in parsed)
    assert parsed[2]["logger"] == "aiokafka" and parsed[2]["event"] == "from the stdlib: [email]"
    assert EMAIL not in out.getvalue()


def test_level_filter() -> None:
    buf = io.StringIO()
    configure_logging("risk", "WARNING", stream=buf, cache_loggers=False)
    try:
        log = get_logger()
        log.info("hidden")
        log.error("shown")
        assert [p["event"] for p in lines(buf)] == ["shown"]
    finally:
        structlog.reset_defaults()


def test_exceptions_are_scrubbed(out: io.StringIO) -> None:
    try:
        raise ValueError(f"bad address {EMAIL}")
    except ValueError:
        get_logger().exception("failed")
    assert EMAIL not in out.getvalue()
    # The message is withheld altogether (it may quote input no pattern recognises).
    assert "bad address" not in out.getvalue()
    assert "ValueError (message withheld)" in lines(out)[0]["exception"]


class Remark(DomainEvent):
    event_type: ClassVar[str] = "Remark"
    personal_fields: ClassVar[tuple[str, ...]] = ("remark",)
    personal_owner: ClassVar[str | None] = "about"

    about: str
    remark: PersonalText | None = None


def test_unsealed_personal_values_and_events(
    out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = Registry()
    local.register(Remark)
    monkeypatch.setattr(log_scrub, "registry", local)
    sealed = Sealed(kid="dk-1", iv="aXY", ct="Y3Q")
    get_logger().info(
        "events",
        event_obj=Remark(about="hp-3f9a2c", remark=NOTE),
        data={"about": "hp-3f9a2c", "remark": NOTE},  # a registered event's personal field
        unsealed={"kid": "dk-1", "alg": "A256GCM", "plaintext": NOTE},
        sealed=sealed,
        sealed_dict=sealed.model_dump(),
    )
    assert NOTE not in out.getvalue()
    [line] = lines(out)
    assert line["event_obj"] == {
        "event_type": "Remark",
        "about": "hp-3f9a2c",
        "remark": "[redacted]",
    }
    assert line["data"] == {"about": "hp-3f9a2c", "remark": "[redacted]"}
    assert line["unsealed"] == "[redacted]"
    assert line["sealed"] == "[sealed]" and line["sealed_dict"] == "[sealed]"


@pytest.mark.parametrize(
    "text",
    [
        "case-12345678",
        "550e8400-e29b-41d4-a716-446655440000",
        "12345678-1234-1234-1234-123456789012",
        "2025-03-01T12:00:00.123456+00:00",
        "2025-03-01",
        "stream case-9c1d2e4f at version 1200",
        "/var/lib/1234567/file",
        "took 12:30:45 to 13:00:00",
        "hp-3f9a2c",
    ],
)
def test_ids_dates_and_paths_are_not_mistaken_for_phones(text: str) -> None:
    assert scrub_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "call 07700 900123 today",
        "call +44 (0)20 7946 0958.",
        "tel: 020-7946-0958",
        "tel:02079460958",
        "ring 555.123.4567",
        "mobile 07700900123",
        "Bearer abc.def.ghi",
        "mail A.B+tag@sub.example.co.uk now",
    ],
)
def test_patterns_redacted(text: str) -> None:
    scrubbed = scrub_text(text)
    assert scrubbed != text
    assert not any(ch.isdigit() for ch in scrubbed.replace("[phone]", "")) or "@" not in text


def test_processor_directly() -> None:
    event = {"event": "x", "Full-Name": "Jane", "db_password": "p", "reason_text": None, "n": 1}
    assert scrub_personal_data(None, "info", event) == {
        "event": "x",
        "Full-Name": "[redacted]",
        "db_password": "[redacted]",
        "reason_text": None,
        "n": 1,
    }


CANARY = "Zoë Canary-7f3a of 12 Elm Row"


def _raise_chain() -> None:
    try:
        raise ValueError(f"{CANARY!r} is not a valid Scope")
    except ValueError as inner:
        raise RuntimeError(f"while reading scope={CANARY}") from inner


def test_a_traceback_names_where_and_what_but_never_the_message(out: io.StringIO) -> None:
    """A 500's traceback once carried the client's input in the exception's text."""
    log = get_logger("test")
    try:
        _raise_chain()
    except RuntimeError:
        log.exception("http.unexpected")
        std_logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=True)
    text = out.getvalue()
    assert CANARY not in text and "Canary-7f3a" not in text and "Elm Row" not in text
    first, second = lines(out)
    for line in (first, second):
        assert "_raise_chain" in line["exception"]  # where it happened stays
        assert "ValueError (message withheld)" in line["exception"]
        assert "RuntimeError (message withheld)" in line["exception"]


def test_query_strings_never_reach_a_log_line(out: io.StringIO) -> None:
    """A client's query string (a name typed into a filter) was logged with a failed request."""
    log = get_logger("test")
    log.info(
        'GET /cases/case-9c1d2e4f/consent-state?scope=Zo%C3%AB+Canary&x=1 HTTP/1.1" 500',
        url="http://127.0.0.1:8101/cases/case-9c1d2e4f/consent-state?scope=Zoe%20Canary",
        query_string="scope=Zoe Canary",
    )
    std_logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "GET", "/halts?case=Zoe+Canary", 500
    )
    text = out.getvalue()
    assert "Canary" not in text
    first, second = lines(out)
    assert "/cases/case-9c1d2e4f/consent-state?[query]" in first["event"]
    assert first["url"].endswith("/consent-state?[query]")
    assert "/halts?[query]" in second["event"]
