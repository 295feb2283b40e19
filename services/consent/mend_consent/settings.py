"""The consent service's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field


class ConsentSettings(MendSettings):
    """`python -m mend_consent`."""

    PROCESS: ClassVar[str] = "consent"
    lapse_interval: float = Field(
        30, gt=0, description="seconds between sweeps that record expired consents as lapsed"
    )
