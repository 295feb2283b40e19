"""The hub's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field

DEFAULT_OPERATOR_AGENCY = "mend-ops"


class HubSettings(MendSettings):
    """`python -m mend_hub`."""

    PROCESS: ClassVar[str] = "hub"
    hub_operator_agency: str = Field(
        DEFAULT_OPERATOR_AGENCY,
        min_length=1,
        description="the agency whose `operator`s govern agencies at the hub (onboarding, "
        "suspension, first coordinators)",
    )
