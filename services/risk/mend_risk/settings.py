"""The risk service's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field


class RiskSettings(MendSettings):
    """`python -m mend_risk`."""

    PROCESS: ClassVar[str] = "risk"
    risk_validity_days: int = Field(
        90, ge=1, description="how long a risk decision stands when it asks for no period (days)"
    )
    risk_max_validity_days: int = Field(
        180, ge=1, description="the longest period a risk decision may ask for (days)"
    )
