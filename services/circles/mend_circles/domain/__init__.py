"""The circles domain: pure state, rules and views (no I/O)."""

from mend_circles.domain.decide import decide, decider
from mend_circles.domain.state import (
    CircleState,
    Meeting,
    MeetingStatus,
    Member,
    Standing,
    evolve,
    initial,
)

__all__ = [
    "CircleState",
    "Meeting",
    "MeetingStatus",
    "Member",
    "Standing",
    "decide",
    "decider",
    "evolve",
    "initial",
]
