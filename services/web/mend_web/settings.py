"""The web app's settings (`MEND_WEB_*`), read once at start; the services' addresses are
every service's (`MEND_<SERVICE>_URL`, mend_web.services)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from mend_events.app.settings import DEFAULT_PORTS

DEFAULT_PORT = DEFAULT_PORTS["web"]
IDLE = timedelta(minutes=30)  # the hub's refresh tokens expire after 30 minutes idle too
# A neutral site the quick exit leaves for: ordinary, unremarkable in a history.
DEFAULT_EXIT = "https://www.bbc.co.uk/weather"


class SettingsError(ValueError):
    """A setting that cannot be used; names the variable, never its value."""


@dataclass(frozen=True)
class WebSettings:
    production: bool
    # Local http testing only: the cookie without `Secure` and without the `__Host-` prefix
    # (browsers refuse both over plain http). Refused when MEND_ENV is production.
    insecure_cookies: bool = False
    default_agency: str = ""
    idle: timedelta = IDLE
    quick_exit_url: str = DEFAULT_EXIT

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
            production=production,
            insecure_cookies=insecure,
            default_agency=os.environ.get("MEND_WEB_AGENCY", ""),
            quick_exit_url=os.environ.get("MEND_WEB_QUICK_EXIT_URL", DEFAULT_EXIT),
        )
