"""The circles service's settings: every process's (`MendSettings`); it has none of its own yet."""

from __future__ import annotations

from typing import ClassVar

from mend_events.app.config import MendSettings


class CirclesSettings(MendSettings):
    """`python -m mend_circles`."""

    PROCESS: ClassVar[str] = "circles"
