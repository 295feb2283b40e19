"""The auditors' API's settings: every process's (`MendSettings`); it reads no other."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings


class AuditSettings(MendSettings):
    """`python -m mend_audit.server` (read-only over every service's store)."""

    PROCESS: ClassVar[str] = "audit"
