"""The risk service's settings: every process's (`MendSettings`). Its validity periods are no
longer variables: they come from the rule pack each agency adopted (`mend_events.rules`)."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings


class RiskSettings(MendSettings):
    """`python -m mend_risk`."""

    PROCESS: ClassVar[str] = "risk"
