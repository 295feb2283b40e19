"""The participant's reminders (/me/reminders): none unless they ask (R10). They choose to be
reminded of planned sessions and of support check-ins at an e-mail address of theirs (sealed by
the hub), only between the hours they pick on their own clock (a time zone they choose, or
their organisation's), and stop every reminder with one click, at once. The hub decides and
keeps the choice; nothing of it is kept here."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from mend_web.pages import services
from mend_web.participant import Participant, _page
from mend_web.services import ServiceError

Hour = Annotated[int, Form(ge=0, le=24)]
# An address as the person types it; the hub checks and seals it, and it is never logged here.
Address = Annotated[str, Form(max_length=320)]
RouteOrNew = Annotated[str, Form(pattern=r"^(new|[0-9a-f-]{36})$")]
HOURS = list(range(25))
Kinds = Annotated[list[Literal["session", "check_in"]] | None, Form()]
# "" is their organisation's clock (the hub fills it in); else an IANA name the hub checks.
Zone = Annotated[str, Form(pattern=r"^(|[A-Za-z][A-Za-z0-9_+/-]{1,63})$")]
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/me/reminders")
    async def reminders(request: Request, me: Participant) -> Response:
        choice = await services(request).reminders(me.token)
        done = request.query_params.get("done")
        ctx = {"choice": choice, "hours": HOURS, "done": done, "zones": ZONES}
        return _page(request, "reminders.html", ctx)

    @r.post("/me/reminders")
    async def choose(
        request: Request,
        me: Participant,
        earliest_hour: Hour,
        latest_hour: Hour,
        route: RouteOrNew = "new",
        address: Address = "",
        kinds: Kinds = None,
        timezone: Zone = "",
    ) -> Response:
        svc = services(request)
        if route == "new":
            if "@" not in address.strip():
                raise ServiceError(422)  # "that could not be done": an address is needed
            route = await svc.add_email_route(me.token, me.person_id, address.strip())
        choice = {"route_id": route, "kinds": sorted(set(kinds or ["session"])),
                  "earliest_hour": earliest_hour, "latest_hour": latest_hour, "lead_hours": 24,
                  **({"timezone": timezone} if timezone else {})}  # fmt: skip
        await svc.choose_reminders(me.token, choice)
        return RedirectResponse("/me/reminders?done=chosen", status_code=303)

    @r.post("/me/reminders/stop")
    async def stop(request: Request, me: Participant) -> Response:
        """One click, at once, nothing asked (R10)."""
        await services(request).stop_reminders(me.token)
        return RedirectResponse("/me/reminders?done=stopped", status_code=303)

    return r
