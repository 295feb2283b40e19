"""The web app's settings: its process's variables (`WebProcessSettings`: every process's and
`MEND_WEB_*`; the services' addresses are `MEND_<SERVICE>_URL`), read once at start into the
`WebSettings` the pages use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from mend_events.app.config import MendSettings
from mend_events.app.config import SettingsError as SettingsError
from mend_events.app.settings import DEFAULT_PORTS
from pydantic import Field

DEFAULT_PORT = DEFAULT_PORTS["web"]
IDLE = timedelta(minutes=30)  # the hub's refresh tokens expire after 30 minutes idle too
# A neutral site the quick exit leaves for: ordinary, unremarkable in a history.
DEFAULT_EXIT = "https://www.bbc.co.uk/weather"


class WebProcessSettings(MendSettings):
    """`python -m mend_web`."""

    PROCESS: ClassVar[str] = "web"
    web_agency: str = Field(
        "",
        description="the agency the web app's sign-in form assumes (one agency per deployment of "
        "the web app)",
    )
    web_quick_exit_url: str = Field(
        DEFAULT_EXIT, description="the neutral site the quick exit leaves for"
    )
    web_insecure_cookies: bool = Field(
        False,
        description="local http only: the session cookie without `Secure` and the `__Host-` "
        "prefix; refused when `MEND_ENV=production`",
    )


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
        config = WebProcessSettings.load()
        if config.web_insecure_cookies and config.production:
            raise SettingsError("MEND_WEB_INSECURE_COOKIES is refused when MEND_ENV=production")
        return cls(
            production=config.production,
            insecure_cookies=config.web_insecure_cookies,
            default_agency=config.web_agency,
            quick_exit_url=config.web_quick_exit_url,
        )
