"""The participant pages' browser sessions, for this first slice: in the process's memory, behind
a random cookie (HttpOnly, SameSite=Strict, Secure unless the local-http flag says otherwise),
each with its own CSRF token. The signed-in person's tokens (the hub's, their own) stay on the
server; nothing about them goes to the browser, and nothing is put in local or session storage.
The web app's database sessions (h-web's `web_sessions`) replace this store when merged."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from mend_web.participant_services import ParticipantServices

REFRESH_MARGIN = 60.0  # seconds before an access token's expiry when it is refreshed


@dataclass
class Visit:
    csrf: str
    last_seen: float
    agency: str | None = None
    person_id: str | None = None
    role: str | None = None
    access_token: str | None = None
    access_expires: float = 0.0
    refresh_token: str | None = None
    flash: list[str] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        return self.person_id is not None


class Visits:
    """Visits by cookie value; a visit idle longer than `idle` seconds is over."""

    def __init__(self, services: ParticipantServices, *, idle: float) -> None:
        self.services = services
        self.idle = idle
        self._visits: dict[str, Visit] = {}

    def start(self) -> tuple[str, Visit]:
        key = secrets.token_urlsafe(32)
        visit = Visit(csrf=secrets.token_urlsafe(32), last_seen=time.monotonic())
        self._visits[key] = visit
        return key, visit

    def find(self, key: str | None) -> Visit | None:
        visit = self._visits.get(key) if key else None
        if visit is None:
            return None
        now = time.monotonic()
        if now - visit.last_seen > self.idle:
            self._visits.pop(key, None)
            return None
        visit.last_seen = now
        return visit

    def end(self, key: str | None) -> Visit | None:
        return self._visits.pop(key, None) if key else None

    @staticmethod
    def csrf_ok(visit: Visit, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(visit.csrf, sent or "")

    def signed_in(self, visit: Visit, answer: dict[str, Any], claims: dict[str, Any]) -> None:
        """The hub's answer to a sign-in: a new CSRF token for the signed-in visit."""
        visit.agency = str(claims.get("iss", ""))
        visit.person_id = str(claims.get("sub", ""))
        visit.role = str(claims.get("role", ""))
        visit.csrf = secrets.token_urlsafe(32)
        self._tokens(visit, answer)

    async def token(self, visit: Visit) -> str:
        """The participant's access token, refreshed through the hub when it is about to end."""
        if visit.refresh_token and time.monotonic() > visit.access_expires - REFRESH_MARGIN:
            self._tokens(visit, await self.services.refresh(visit.refresh_token))
        return visit.access_token or ""

    @staticmethod
    def _tokens(visit: Visit, answer: dict[str, Any]) -> None:
        visit.access_token = answer["access_token"]
        visit.access_expires = time.monotonic() + float(answer.get("expires_in", 300))
        visit.refresh_token = answer.get("refresh_token")
