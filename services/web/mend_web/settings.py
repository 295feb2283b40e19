"""The web app's settings (`MEND_WEB_*` and the services' URLs), read once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from mend_events.app.settings import service_url

DEFAULT_PORT = 8107
IDLE = timedelta(minutes=30)  # the hub's refresh tokens expire after 30 minutes idle too


class SettingsError(ValueError):
    """A setting that cannot be used; names the variable, never its value."""


@dataclass(frozen=True)
class WebSettings:
    hub_url: str
    sessions_url: str
    production: bool
    # Local http testing only: the cookie without `Secure` and without the `__Host-` prefix
    # (browsers refuse both over plain http). Refused when MEND_ENV is production.
    insecure_cookies: bool = False
    default_agency: str = ""
    idle: timedelta = IDLE

    @property
    def cookie_name(self) -> str:
        return "mend_session" if self.insecure_cookies else "__Host-mend_session"

    @classmethod
    def from_env(cls) -> WebSettings:
        production = os.environ.get("MEND_ENV", "development") == "production"
        insecure = os.environ.get("MEND_WEB_INSECURE_COOKIES", "") in {"1", "true", "yes"}
        if insecure and production:
            raise SettingsError("MEND_WEB_INSECURE_COOKIES is refused when MEND_ENV=production")
        return cls(
            hub_url=service_url("hub"),
            sessions_url=service_url("sessions"),
            production=production,
            insecure_cookies=insecure,
            default_agency=os.environ.get("MEND_WEB_AGENCY", ""),
        )
