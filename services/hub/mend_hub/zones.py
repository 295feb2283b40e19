"""Time zones: an IANA name a person or an agency chose, checked against the system's zone
database (zoneinfo, or the `tzdata` package where the system has none)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mend_events.contracts.catalog.hub import TimeZoneName
from pydantic import AfterValidator

UTC_NAME = "UTC"


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    """The zone of this name; UTC for None (choices recorded before zones existed)."""
    return ZoneInfo(name or UTC_NAME)


def _known(name: str) -> str:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not a time zone this system knows (an IANA name)") from exc
    return name


KnownZone = Annotated[TimeZoneName, AfterValidator(_known)]
