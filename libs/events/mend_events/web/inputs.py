"""What a client may send, as shared types: ids by one pattern each, moments and days as ISO
strings within one sane window. Every service's commands and routes use these, so a check is
made (and documented in the OpenAPI) the same way everywhere. Events keep the plain types: a
replay must never refuse what was once accepted."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

from mend_events.contracts.actors import PSEUDO_ID_PATTERN

# A case id: pseudonymous, e.g. `case-9c1d2e4f`; a session id: any pseudonymous id.
CASE_ID_PATTERN = r"^case-[A-Za-z0-9_-]{4,64}$"
SESSION_ID_PATTERN = PSEUDO_ID_PATTERN

CaseIdValue = Annotated[str, StringConstraints(pattern=CASE_ID_PATTERN)]
SessionIdValue = Annotated[str, StringConstraints(pattern=SESSION_ID_PATTERN)]

# The window a client's moment or day must fall in: nothing before 1900 (no person or event of
# a case is older), nothing more than ten years ahead (no consent, session or check-in is
# planned further; year 9999 is a typing slip, not a plan).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_YEARS = 10

# An ISO 8601 date, optionally with a time: never a bare number (`0.5` is not 1970).
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")


def latest() -> datetime:
    return datetime.now(UTC) + timedelta(days=365 * FUTURE_YEARS + FUTURE_YEARS // 4)


def _iso_only(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not _ISO.match(value):
        raise ValueError("must be an ISO 8601 date-time string with a timezone")
    return value


def _moment_in_window(value: datetime) -> datetime:
    if not EARLIEST <= value <= latest():
        raise ValueError(f"must lie between 1900 and {FUTURE_YEARS} years from now")
    return value


def _day_in_window(value: date) -> date:
    if not EARLIEST.date() <= value <= latest().date():
        raise ValueError(f"must lie between 1900 and {FUTURE_YEARS} years from now")
    return value


# A moment a client names: an ISO string with its timezone, within the window.
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_moment_in_window)]
# A day a client names: an ISO date (YYYY-MM-DD), within the window.
Day = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_day_in_window)]
