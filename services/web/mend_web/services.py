"""The services as the web app reaches them: over their HTTP APIs, with the signed-in person's
own access token and nothing else (the services decide every access, and filter what each
person sees; the web app holds no authority of its own). Sign-in, refresh and sign-out go to
the hub without a token. One client per service, shared by every request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from mend_events.app.settings import service_url

# The services the pages read and act through.
SERVICES = ("hub", "consent", "risk", "sessions", "aftercare", "audit")


class ServiceError(Exception):
    """A service answered with an error status (or could not be reached: status 503). `reason`
    is the service's own refusal reason, shown only where it is meant for the person."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(f"{status}")
        self.status, self.reason = status, reason


def _reason(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return ""
    return str(body.get("reason", "")) if isinstance(body, dict) else ""


@dataclass
class Services:
    clients: Mapping[str, httpx.AsyncClient]

    @classmethod
    def at(cls, urls: Mapping[str, str]) -> Services:
        timeout = httpx.Timeout(10.0)
        return cls({s: httpx.AsyncClient(base_url=u, timeout=timeout) for s, u in urls.items()})

    @classmethod
    def from_env(cls) -> Services:
        return cls.at({s: service_url(s) for s in SERVICES})

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def _call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        address: str | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if address:
            # The browser's address, for the hub's per-address attempt limit: without it every
            # sign-in would count against the web app's own address. The hub's server takes it
            # only from the addresses it trusts as proxies (uvicorn's --forwarded-allow-ips).
            headers["X-Forwarded-For"] = address
        r = await self._send(service, method, path, headers, body)
        return r.json() if r.content else None

    async def _send(
        self,
        service: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        client = self.clients.get(service)
        if client is None:
            raise ServiceError(503)
        try:
            r = await client.request(method, path, json=body, headers=headers, params=params)
        except httpx.HTTPError:
            raise ServiceError(503) from None
        if r.is_error:
            raise ServiceError(r.status_code, _reason(r))
        return r

    async def _read(self, service: str, path: str, token: str) -> Any:
        """A read where "nothing here yet" (404) is an answer, not an error."""
        try:
            return await self._call(service, "GET", path, token)
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise

    # --- sign-in (the hub) ------------------------------------------------------------------

    async def sign_in(
        self, agency: str, username: str, password: str, address: str | None = None
    ) -> dict[str, Any]:
        body = {"agency": agency, "username": username, "password": password}
        return await self._call("hub", "POST", "/signin", body=body, address=address)

    async def second_factor(
        self, challenge: str, code: str, address: str | None = None
    ) -> dict[str, Any]:
        body = {"challenge": challenge, "code": code}
        path = "/signin/second-factor"
        return await self._call("hub", "POST", path, body=body, address=address)

    async def refresh(self, refresh_token: str, address: str | None = None) -> dict[str, Any]:
        body = {"refresh_token": refresh_token}
        return await self._call("hub", "POST", "/token/refresh", body=body, address=address)

    async def sign_out(self, refresh_token: str) -> None:
        await self._call("hub", "POST", "/signout", body={"refresh_token": refresh_token})

    # --- the hub's records ------------------------------------------------------------------

    async def caseload(self, token: str, person_id: str) -> list[dict[str, Any]]:
        path = f"/practitioners/{person_id}/caseload"
        return (await self._call("hub", "GET", path, token))["cases"]

    async def staff(self, token: str, agency: str) -> list[dict[str, Any]]:
        return (await self._call("hub", "GET", f"/agencies/{agency}/staff", token))["staff"]

    async def allocations(self, token: str, case_id: str) -> dict[str, Any]:
        return await self._call("hub", "GET", f"/cases/{case_id}/allocations", token)

    async def allocate(self, token: str, case_id: str, practitioner: str, reason: str) -> None:
        body = {"practitioner_id": practitioner, "reason": reason}
        await self._call("hub", "POST", f"/cases/{case_id}/allocations", token, body)

    async def reallocate(self, token: str, case_id: str, old: str, new: str, reason: str) -> None:
        body = {"from_practitioner_id": old, "to_practitioner_id": new, "reason": reason}
        path = f"/cases/{case_id}/allocations/reallocation"
        await self._call("hub", "POST", path, token, body)

    # --- the sessions service ---------------------------------------------------------------

    async def case(self, token: str, case_id: str) -> dict[str, Any]:
        return await self._call("sessions", "GET", f"/cases/{case_id}", token)

    async def gates(self, token: str, case_id: str, session_id: str) -> dict[str, Any]:
        path = f"/cases/{case_id}/sessions/{session_id}/gates"
        return await self._call("sessions", "GET", path, token)

    async def halt(self, token: str, case_id: str, session_id: str) -> None:
        path = f"/cases/{case_id}/sessions/{session_id}/halt"
        await self._call("sessions", "POST", path, token)

    # --- a participant's own case, each read already filtered for them by the service --------

    async def consents(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._read("consent", f"/cases/{case_id}/consents", token)

    async def case_or_none(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._read("sessions", f"/cases/{case_id}", token)

    async def aftercare(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._read("aftercare", f"/cases/{case_id}/aftercare", token)

    # --- a participant's own acts: no reason asked (R2, R3) ----------------------------------

    async def withdraw(self, token: str, case_id: str, person_id: str, scope: str) -> None:
        body = {"participant_id": person_id, "scope": scope}
        await self._call("consent", "POST", f"/cases/{case_id}/withdrawals", token, body)

    # --- the auditor's reads (the audit service: read-only, the auditor's own token) ----------

    async def _audit(self, token: str, path: str, params: Mapping[str, str]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return await self._send("audit", "GET", path, headers, params=params)

    async def audit_history(self, token: str, case_id: str, as_of: str | None) -> dict[str, Any]:
        """The case's timeline with causes, its halts, and its state as of `as_of` (ISO 8601
        with a timezone; None: as recorded)."""
        params = {"as_of": as_of} if as_of else {}
        return (await self._audit(token, f"/audit/cases/{case_id}/history", params)).json()

    async def audit_halts(self, token: str, case_id: str | None = None) -> list[dict[str, Any]]:
        """Every halt and withdrawal of one case, or of every case of the auditor's agency."""
        params = {"case": case_id} if case_id else {}
        return (await self._audit(token, "/audit/halts", params)).json()["halts"]

    async def audit_verify(self, token: str, kafka: bool) -> dict[str, Any]:
        params = {"kafka": "true" if kafka else "false"}
        return (await self._audit(token, "/audit/verify", params)).json()

    async def audit_export(
        self, token: str, case_id: str, fmt: str, as_of: str | None = None
    ) -> bytes:
        params = {"format": fmt, **({"as_of": as_of} if as_of else {})}
        return (await self._audit(token, f"/audit/cases/{case_id}/export", params)).content

    # --- the agency's record and its rule pack (the hub; the coordinator's own token) ---------

    async def agency(self, token: str, agency: str) -> dict[str, Any]:
        return await self._call("hub", "GET", f"/agencies/{agency}", token)

    async def adopt_rule_pack(self, token: str, agency: str, pack_id: str, version: int) -> None:
        body = {"pack_id": pack_id, "version": version}
        await self._call("hub", "POST", f"/agencies/{agency}/rule-pack", token, body)

    # --- the agency's commissioners' report (the audit service: counts only, small cells
    # hidden there, replayed as recorded by a date) --------------------------------------------

    async def commissioner_report(self, token: str, as_of: str | None = None) -> dict[str, Any]:
        params = {"as_of": as_of} if as_of else {}
        return (await self._audit(token, "/audit/reports/commissioner", params)).json()

    async def commissioner_report_file(
        self, token: str, fmt: str, as_of: str | None = None
    ) -> httpx.Response:
        """The report as a download (`fmt` json or csv): the audit service's own response, so
        its file name and media type pass through."""
        params = {"format": fmt, **({"as_of": as_of} if as_of else {})}
        return await self._audit(token, "/audit/reports/commissioner", params)

    # --- a participant's preferences and progress updates (each service filters for them) ----

    async def set_preferences(self, token: str, case_id: str, prefs: Mapping[str, Any]) -> None:
        """The harmed person's preferences, whole (the sessions service replaces them)."""
        await self._call("sessions", "POST", f"/cases/{case_id}/preferences", token, dict(prefs))

    async def progress_updates(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        path = f"/cases/{case_id}/aftercare/progress-updates"
        return await self._read("aftercare", path, token)

    async def set_update_level(self, token: str, case_id: str, level: str) -> None:
        path = f"/cases/{case_id}/aftercare/progress-update-preference"
        await self._call("aftercare", "POST", path, token, {"level": level})

    # --- the practitioner's case page: each service's own read, and its commands ------------

    async def consent_history(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._read("consent", f"/cases/{case_id}/consent-history", token)

    async def risk(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._read("risk", f"/cases/{case_id}/risk", token)

    async def registry(self, token: str) -> list[dict[str, Any]]:
        """The practitioners of the caller's agency (to choose a team or a sign-off from)."""
        return (await self._call("sessions", "GET", "/practitioners", token))["practitioners"]

    async def command(self, token: str, service: str, path: str, body: Any = None) -> Any:
        """One command of a case (`path` under the service's case routes), as the caller."""
        return await self._call(service, "POST", path, token, body)

    # --- letters and shuttle messages (the sessions service decides who reads and writes) ---

    async def letters(self, token: str, case_id: str) -> list[dict[str, Any]]:
        """The case's letters the caller may see: ids and states, no text."""
        found = await self._read("sessions", f"/cases/{case_id}/letters", token)
        return list((found or {}).get("letters", []))

    async def letter(self, token: str, case_id: str, letter_id: str) -> Mapping[str, Any] | None:
        """One letter with its text, if the caller may open it (None: not for them)."""
        return await self._read("sessions", f"/cases/{case_id}/letters/{letter_id}", token)

    async def letter_command(
        self, token: str, case_id: str, letter_id: str | None, verb: str, body: Any = None
    ) -> Any:
        """`verb` on a letter (None: draft a new one, `body` its draft)."""
        path = f"/cases/{case_id}/letters" + (f"/{letter_id}/{verb}" if letter_id else "")
        return await self._call("sessions", "POST", path, token, body)

    # --- reminders (a participant's own choice) and notices (staff's own), at the hub -------

    async def reminders(self, token: str) -> Mapping[str, Any]:
        return await self._call("hub", "GET", "/reminders", token)

    async def add_email_route(self, token: str, person_id: str, address: str) -> str:
        """A new e-mail route of the person's own (sealed by the hub); its id."""
        body = {"channel": "email", "address": address}
        path = f"/people/{person_id}/contact-routes"
        return str((await self._call("hub", "POST", path, token, body))["route_id"])

    async def choose_reminders(self, token: str, choice: Mapping[str, Any]) -> None:
        await self._call("hub", "PUT", "/reminders", token, dict(choice))

    async def stop_reminders(self, token: str) -> None:
        await self._call("hub", "POST", "/reminders/stop", token)

    async def notices(self, token: str) -> list[dict[str, Any]]:
        return list((await self._call("hub", "GET", "/notices", token))["notices"])

    # --- case notes (the sessions service records every opening) ----------------------------

    async def notes(self, token: str, case_id: str) -> list[dict[str, Any]]:
        return list((await self._call("sessions", "GET", f"/cases/{case_id}/notes", token))[
            "notes"])  # fmt: skip

    async def note(self, token: str, case_id: str, note_id: str) -> Mapping[str, Any]:
        """The note's text: the sessions service records this read first."""
        return await self._call("sessions", "GET", f"/cases/{case_id}/notes/{note_id}", token)

    async def note_attachment(self, token: str, case_id: str, note_id: str) -> tuple[str, bytes]:
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/cases/{case_id}/notes/{note_id}/attachment"
        r = await self._send("sessions", "GET", path, headers)
        return r.headers.get("content-type", "application/octet-stream"), r.content

    # --- meetings and the harmed person's own materials (the sessions service decides) -------

    async def meetings(self, token: str, case_id: str) -> Mapping[str, Any]:
        """The meetings the caller may see (a participant: theirs, with their places), and for
        staff with whom a safety plan was agreed."""
        return await self._read("sessions", f"/cases/{case_id}/meetings", token) or {}

    async def meeting_command(
        self, token: str, case_id: str, meeting_id: str | None, verb: str, body: Any = None
    ) -> None:
        """`verb` on a meeting (None: arrange a new one, `body` its arrangement)."""
        path = f"/cases/{case_id}/meetings" + (f"/{meeting_id}/{verb}" if meeting_id else "")
        await self._call("sessions", "POST", path, token, body)

    async def materials(self, token: str, case_id: str) -> list[dict[str, Any]]:
        """The harmed person's items the caller may see: ids and states, no text."""
        found = await self._read("sessions", f"/cases/{case_id}/materials", token)
        return list((found or {}).get("materials", []))

    async def material(self, token: str, case_id: str, item_id: str) -> Mapping[str, Any]:
        """One item's text: the sessions service records this read first."""
        return await self._call("sessions", "GET", f"/cases/{case_id}/materials/{item_id}", token)

    async def material_command(
        self, token: str, case_id: str, item_id: str | None, verb: str, body: Any = None
    ) -> None:
        """`verb` on an item (None: write a new one, `body` the item)."""
        path = f"/cases/{case_id}/materials" + (f"/{item_id}/{verb}" if item_id else "")
        await self._call("sessions", "POST", path, token, body)

    # --- enquiries (hub) and support without a case (aftercare) ---------------------------------

    async def enquiries(self, token: str) -> list[dict[str, Any]]:
        return list((await self._call("hub", "GET", "/enquiries", token))["enquiries"])

    async def record_enquiry(self, token: str, body: Mapping[str, Any]) -> str:
        """The new enquiry's reference (made by the hub)."""
        return str((await self._call("hub", "POST", "/enquiries", token, body))["enquiry_ref"])

    async def enquiry_outcome(self, token: str, ref: str, outcome: str) -> None:
        await self._call("hub", "PUT", f"/enquiries/{ref}/outcome", token, {"outcome": outcome})

    async def enquiry_account(self, token: str, ref: str) -> Mapping[str, Any]:
        """An activation code for the enquirer's own (still anonymous) account: shown once."""
        return await self._call("hub", "POST", f"/enquiries/{ref}/account", token, {})

    async def support_plans(self, token: str) -> list[dict[str, Any]]:
        return list((await self._call("aftercare", "GET", "/support", token))["plans"])

    async def support_plan(self, token: str, subject_id: str) -> Mapping[str, Any] | None:
        return await self._read("aftercare", f"/support/{subject_id}", token)

    async def open_support(self, token: str, subject_id: str, subject: str) -> None:
        body = {"subject": subject}
        await self._call("aftercare", "POST", f"/support/{subject_id}/plan", token, body)

    async def support_check_in(self, token: str, subject_id: str, body: Mapping[str, Any]) -> None:
        await self._call("aftercare", "POST", f"/support/{subject_id}/check-ins", token, body)

    async def support_referral(self, token: str, subject_id: str, body: Mapping[str, Any]) -> None:
        await self._call("aftercare", "POST", f"/support/{subject_id}/referrals", token, body)

    async def stop_support(self, token: str, subject_id: str) -> None:
        """The person's own stop (their token), or their word relayed by a practitioner."""
        body = {"reason": "withdrew"}
        await self._call("aftercare", "POST", f"/support/{subject_id}/closure", token, body)

    async def own_enquiry(self, token: str, ref: str) -> Mapping[str, Any] | None:
        """The enquiry whose reference is the caller's own person id (an enquirer's account),
        or None for anyone who did not come through an enquiry."""
        return await self._read("hub", f"/enquiries/{ref}", token)

    async def register_enquirer(self, token: str, ref: str) -> None:
        await self._call("hub", "POST", f"/enquiries/{ref}/registration", token)

    # --- community volunteers (issue 21: the hub's vetting, training and allocations) --------

    async def enrol_volunteer(self, token: str, agency: str, person_id: str) -> None:
        body = {"person_id": person_id, "role": "volunteer"}
        await self._call("hub", "POST", f"/agencies/{agency}/staff", token, body)

    async def volunteer_record(self, token: str, agency: str, person_id: str) -> dict[str, Any]:
        return await self._call("hub", "GET", f"/agencies/{agency}/volunteers/{person_id}", token)

    async def record_vetting(
        self, token: str, agency: str, person_id: str, body: Mapping[str, Any]
    ) -> None:
        path = f"/agencies/{agency}/staff/{person_id}/vetting"
        await self._call("hub", "POST", path, token, body)

    async def record_training(
        self, token: str, agency: str, person_id: str, body: Mapping[str, Any]
    ) -> None:
        path = f"/agencies/{agency}/staff/{person_id}/training"
        await self._call("hub", "POST", path, token, body)

    async def allocate_volunteer(
        self, token: str, case_id: str, volunteer_id: str, part: str, reason: str
    ) -> None:
        body = {"volunteer_id": volunteer_id, "part": part, "reason": reason}
        await self._call("hub", "POST", f"/cases/{case_id}/volunteers", token, body)

    async def end_volunteer(self, token: str, case_id: str, volunteer_id: str, reason: str) -> None:
        path = f"/cases/{case_id}/volunteers/{volunteer_id}/end"
        await self._call("hub", "POST", path, token, {"reason": reason})

    # --- community team conferences (the aftercare service decides; issue 21) -----------------

    async def conferences(self, token: str, case_id: str) -> list[dict[str, Any]]:
        """The case's conferences as the caller may see them (minutes only where they may)."""
        found = await self._call("aftercare", "GET", f"/cases/{case_id}/conferences", token)
        return list(found["conferences"])

    async def conferences_or_none(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        """The same, for a participant: None where the case has none of theirs (404)."""
        return await self._read("aftercare", f"/cases/{case_id}/conferences", token)

    async def conference_command(
        self, token: str, case_id: str, path: str, body: Mapping[str, Any] | None = None
    ) -> None:
        """One command on the case's conferences: `path` under /cases/{id}/conferences."""
        route = f"/cases/{case_id}/conferences{path}"
        await self._call("aftercare", "POST", route, token, body or {})

    # --- outcome instruments (aftercare; issue 21): answers only under research consent ------

    async def answer_instrument(self, token: str, case_id: str, body: Mapping[str, Any]) -> None:
        """A whole answer set to an outcome instrument (the aftercare service reads the person's
        role and research consent itself). A refusal (422) names its field (`FieldRefused`), so
        a page tells "answered already" from "no research consent" without reading words."""
        client = self.clients.get("aftercare")
        if client is None:
            raise ServiceError(503)
        path = f"/cases/{case_id}/aftercare/instrument-answers"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            r = await client.post(path, json=dict(body), headers=headers)
        except httpx.HTTPError:
            raise ServiceError(503) from None
        if r.status_code == 422:
            try:
                field = r.json().get("field") or ""
            except (ValueError, AttributeError):
                field = ""
            raise FieldRefused(422, _reason(r), str(field))
        if r.is_error:
            raise ServiceError(r.status_code, _reason(r))


class FieldRefused(ServiceError):
    """A refusal (422) whose field the service named."""

    def __init__(self, status: int, reason: str, field: str) -> None:
        super().__init__(status, reason)
        self.field = field
