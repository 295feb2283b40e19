"""What the participant pages need beside the app's skeleton: the consent, sessions and
after-care services (with the participant's own token), which cases the participant takes part
in, and the quick exit's neutral site. Built from the environment on first use; tests set
`app.state.participant` themselves."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Request
from mend_events.app.settings import service_url

from mend_web.participant_cases import KnownCases, ParticipantCases
from mend_web.participant_services import ParticipantServices, ServiceUrls

# A neutral site to leave for (MEND_WEB_QUICK_EXIT_URL): ordinary, unremarkable in a history.
DEFAULT_EXIT = "https://www.bbc.co.uk/weather"


@dataclass
class ParticipantState:
    services: ParticipantServices
    cases: ParticipantCases
    exit_url: str = DEFAULT_EXIT

    @classmethod
    def from_env(cls) -> ParticipantState:
        urls = ServiceUrls(*(service_url(s) for s in ("consent", "sessions", "aftercare")))
        exit_url = os.environ.get("MEND_WEB_QUICK_EXIT_URL", DEFAULT_EXIT)
        return cls(ParticipantServices(urls), KnownCases(), exit_url)


def state(request: Request) -> ParticipantState:
    app = request.app
    if getattr(app.state, "participant", None) is None:
        app.state.participant = ParticipantState.from_env()
    return app.state.participant
