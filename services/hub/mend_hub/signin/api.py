"""The sign-in's HTTP routes. Bodies are strict (extra fields refused); refusals carry a field
and a reason, never a value sent; every credential failure is the same 401."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN, AgencyId, PseudoId, Role
from mend_events.errors import Unauthenticated
from mend_events.security.identity import Identity
from pydantic import BaseModel, ConfigDict, StringConstraints

from mend_hub.signin.enrolment import Enrolment
from mend_hub.signin.flows import SignInFlows
from mend_hub.signin.own_tokens import identity_of
from mend_hub.signin.passwords import MAX_LENGTH, MIN_LENGTH

# A login name: printable, single line; compared case-folded (vault.normalise_login).
LoginName = Annotated[
    str, StringConstraints(min_length=3, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# At sign-in any length up to the bound is checked (the minimum is the redeem's business).
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH)]
NewPassword = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
Secret = Annotated[
    str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
PersonPath = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
AgencyPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,63}$")]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SignInBody(_Body):
    agency: AgencyId
    username: LoginName
    password: Password


class SecondFactorBody(_Body):
    challenge: Secret
    code: Code


class RefreshBody(_Body):
    refresh_token: Secret


class ChallengeBody(_Body):
    challenge: Secret | None = None  # without it, the caller's own token is needed


class AccountBody(_Body):
    person_id: PseudoId


class InvitationBody(_Body):
    person_id: PseudoId
    role: Role


class RedeemBody(_Body):
    activation_code: Secret
    username: LoginName
    password: NewPassword


def _flows(request: Request) -> SignInFlows:
    return request.app.state.signin.flows


def _enrolment(request: Request) -> Enrolment:
    return request.app.state.signin.enrolment


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _signed_in(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Identity:
    """The caller, by a token the hub signed itself or one the process's verifier accepts."""
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    return await identity_of(request.app.state.signin.parts, authorization, request)


Flows = Annotated[SignInFlows, Depends(_flows)]
SignedIn = Annotated[Identity, Depends(_signed_in)]
Enrol = Annotated[Enrolment, Depends(_enrolment)]


# What the attempts' limits answer (limits.py), beside the statuses every route declares.
_LIMITS: dict[int | str, dict[str, Any]] = {
    423: {"description": "The account is locked after repeated failures (for a while)"},
    429: {"description": "Too many attempts from this address: try again later"},
}


def router() -> APIRouter:
    r = APIRouter(tags=["sign-in"])

    @r.post("/signin", responses=_LIMITS)
    async def sign_in(body: SignInBody, request: Request, flows: Flows) -> dict[str, Any]:
        """Password first: answers tokens, or a challenge for the second factor (or for its
        enrolment, when a staff member has none yet)."""
        return await flows.sign_in(body.agency, body.username, body.password, _address(request))

    @r.post("/signin/second-factor", responses=_LIMITS)
    async def second_factor(
        body: SecondFactorBody, request: Request, flows: Flows
    ) -> dict[str, Any]:
        return await flows.second_factor(body.challenge, body.code, _address(request))

    @r.post("/token/refresh", responses=_LIMITS)
    async def refresh(body: RefreshBody, request: Request, flows: Flows) -> dict[str, Any]:
        return await flows.refresh(body.refresh_token, _address(request))

    @r.post("/signout", status_code=204)
    async def sign_out(body: RefreshBody, flows: Flows) -> Response:
        await flows.sign_out(body.refresh_token)
        return Response(status_code=204)

    @r.post("/accounts", status_code=201)
    async def create_account(body: AccountBody, caller: SignedIn, enrol: Enrol) -> dict[str, Any]:
        """A coordinator asks for an enrolled staff member's one-time activation code."""
        return await enrol.invite_staff(caller, body.person_id)

    @r.post("/accounts/{person}/totp", status_code=201)
    async def enrol_totp(
        person: PersonPath,
        body: ChallengeBody,
        enrol: Enrol,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Enrol a TOTP second factor: with the challenge of a password just accepted, or with
        the account's own token (then a challenge comes back to confirm the first code with)."""
        identity = None
        if body.challenge is None and authorization is not None:
            identity = await identity_of(enrol.p, authorization, request)
        return await enrol.enrol_totp(person, body.challenge, identity)

    @r.post("/accounts/{person}/unlock")
    async def unlock(person: PersonPath, caller: SignedIn, enrol: Enrol) -> dict[str, Any]:
        return await enrol.unlock(caller, person)

    @r.post("/invitations", status_code=201)
    async def invite(body: InvitationBody, caller: SignedIn, enrol: Enrol) -> dict[str, Any]:
        return await enrol.invite_participant(caller, body.person_id, body.role)

    @r.post("/invitations/redeem", status_code=201, responses=_LIMITS)
    async def redeem(body: RedeemBody, request: Request, enrol: Enrol) -> dict[str, Any]:
        return await enrol.redeem(
            body.activation_code, body.username, body.password, _address(request)
        )

    @r.post("/agencies/{agency_id}/signing-keys", status_code=201)
    async def signing_key(agency_id: AgencyPath, caller: SignedIn, enrol: Enrol) -> dict[str, Any]:
        """A local-sign-in agency's next token-signing key, generated and kept by the hub; its
        public half is published as AgencyKeyAdded."""
        return await enrol.new_signing_key(caller, agency_id)

    return r
