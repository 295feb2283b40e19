"""The sessions service's settings: every process's (`MendSettings`) and its own."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings
from pydantic import Field


class SessionsSettings(MendSettings):
    """`python -m mend_sessions`."""

    PROCESS: ClassVar[str] = "sessions"
    sessions_max_consent_lag_ms: int = Field(
        2000,
        ge=0,
        description="how long scheduling or starting a session waits for this service to have "
        "applied every consent and risk message of the case's partition, before refusing with "
        "503 (never passing on a stale consent)",
    )
