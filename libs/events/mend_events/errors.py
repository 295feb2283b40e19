"""Errors a client can cause. Each maps to one HTTP status in `http.py`; none is ever a 500."""

from __future__ import annotations


class MendError(Exception):
    """Base of every client error; a subclass names its HTTP status and code in its header:
    `class NotFound(MendError, status=404, code="not_found")`."""

    status = 400
    code = "bad_request"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.code, "field": self.field, "reason": self.reason}


class Rejected(MendError, status=422, code="rejected"):
    """A command that breaks a rule of the domain: nothing is written."""


class GatesUnmet(Rejected):
    """A contact session refused because one or more gates (R4) are unmet; names every one."""

    code = "gates_unmet"

    def __init__(self, gates: list[str]) -> None:
        super().__init__("unmet gates: " + "; ".join(gates), field=None)
        self.gates = gates

    def to_dict(self) -> dict[str, str | list[str] | None]:  # type: ignore[override]
        return {**super().to_dict(), "gates": self.gates}


class NotFound(MendError, status=404, code="not_found"):
    """No such record here (or none the caller may know of)."""


class Forbidden(MendError, status=403, code="forbidden"):
    """The caller is known, and this is not theirs to do."""


class Unauthenticated(MendError, status=401, code="unauthenticated"):
    """No caller: a missing, invalid or no longer trusted token."""


class Conflict(MendError, status=409, code="conflict"):
    """A stale expected version, or an event id reused with other content."""


class Unavailable(MendError, status=503, code="unavailable"):
    """A dependency is behind (e.g. a projection lags): try again shortly. Never a silent pass."""
