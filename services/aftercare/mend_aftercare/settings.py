"""The aftercare service's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field


class AftercareSettings(MendSettings):
    """`python -m mend_aftercare`."""

    PROCESS: ClassVar[str] = "aftercare"
    aftercare_update_interval: float = Field(
        1, gt=0, description="seconds between passes of after-care's progress-update sender"
    )
    aftercare_delivery_hold: float = Field(
        5,
        ge=0,
        description="seconds a released progress update waits before delivery, so a withdrawal "
        "recorded just before it still stops it",
    )
