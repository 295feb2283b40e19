"""The disclosure gateway's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field


class DisclosureSettings(MendSettings):
    """`python -m mend_disclosure`."""

    PROCESS: ClassVar[str] = "disclosure"
    disclosure_hold: float = Field(
        5,
        ge=0,
        description="seconds a candidate for disclosure waits after it occurred before the "
        "consent topic's marks are read (the withdrawal barrier): a withdrawal stored up to "
        "this long before its relay publishes it still stops the disclosure",
    )
    disclosure_interval: float = Field(
        0.1, gt=0, description="seconds between passes of the gateway and of the share relay"
    )
