"""Opening accounts and changing what guards them: activation codes for staff (asked for by
their coordinator) and participants (by a practitioner), redeemed once by the person themselves,
who alone chooses their login name and password; a second factor enrolled by its owner; an unlock
by a coordinator; the agency's signing keys. Nobody ever learns another person's password."""

from __future__ import annotations

from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.hub import (
    ENROLLED_ROLES,
    AccountOpened,
    AccountUnlocked,
    ActivationCodeIssued,
    AgencyKeyAdded,
    Credential,
    CredentialsChanged,
    ParticipantInvited,
    SignIn,
    UnlockReason,
    account_stream,
    agency_stream,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, Forbidden, NotFound, Rejected, Unauthenticated
from mend_events.security.identity import Identity

from mend_hub.signin import access, totp
from mend_hub.signin.flows import INVALID, invalid
from mend_hub.signin.keys import NewKey
from mend_hub.signin.parts import Parts

_TOTP = "totp-secret"


class Enrolment:
    def __init__(self, parts: Parts) -> None:
        self.p = parts

    async def invite_staff(self, identity: Identity, person_id: str) -> dict[str, Any]:
        """An activation code for an enrolled, active staff member of the coordinator's agency."""
        staff = await self.p.standing.staff(person_id)
        # Someone not enrolled anywhere: the coordinator learns only that, others are refused.
        agency = staff.agency if staff else identity.agency
        access.authorize_staff_code(identity, agency, staff.role if staff else None)
        if staff is None or not staff.active:
            raise NotFound("no active staff member with this id in your agency", field="person_id")
        return await self._invite(identity, staff.agency, person_id, staff.role)

    async def invite_participant(
        self, identity: Identity, person_id: str, role: Role
    ) -> dict[str, Any]:
        access.authorize(identity, access.INVITE, identity.agency)
        if role not in PARTICIPANT_ROLES:
            raise Rejected("a participant's role is one of the participant roles", field="role")
        # Only a participant of a case of the agency allocated to the practitioner now (the
        # case directory and the hub's allocations, read at this moment): not any pseudonymous
        # id, so nobody can hand out an account for a person they have no case with.
        relations = self.p.relations
        linked = relations is not None and await relations.via_cases(
            identity.person_id, person_id, identity.agency
        )
        if not linked:
            raise Forbidden("you may invite only participants of cases allocated to you")
        return await self._invite(identity, identity.agency, person_id, role)

    async def invite_enquirer(
        self, identity: Identity, agency: str, person_id: str, role: Role
    ) -> dict[str, Any]:
        """A code for someone who enquired (mend_hub.enquiries decided the caller may hand
        it out): their account's person id is the enquiry's reference, no case needed."""
        if role not in PARTICIPANT_ROLES:
            raise Rejected("a participant's role is one of the participant roles", field="role")
        return await self._invite(identity, agency, person_id, role)

    async def _invite(
        self, identity: Identity, agency: str, person_id: str, role: Role
    ) -> dict[str, Any]:
        """A code that opens the person's account, or resets it when they have one already."""
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            account = await self.p.accounts.by_person(conn, agency, person_id)
            if account is not None and account.is_staff != (role in ENROLLED_ROLES):
                raise Conflict("this person's account is of another kind", field="person_id")
            code, expires = await self.p.invitations.issue(
                conn,
                agency=agency,
                person_id=person_id,
                role=role,
                invited_by=identity.person_id,
                now=now,
            )
        issued: DomainEvent
        if account is None and role in PARTICIPANT_ROLES:
            issued = ParticipantInvited(
                agency_id=agency, person_id=person_id, role=role, expires_at=expires
            )
        else:
            issued = ActivationCodeIssued(
                agency_id=agency,
                person_id=person_id,
                role=role,
                expires_at=expires,
                reset=account is not None,
            )
        await self.p.journal.record(
            account_stream(person_id), [issued], actor=identity.actor, agency=agency, now=now
        )
        return {"person_id": person_id, "activation_code": code, "expires_at": expires.isoformat()}

    async def redeem(self, code: str, login: str, password: str, address: str) -> dict[str, Any]:
        """The person sets their login name and password; the code is then spent. For an
        existing account (a reset) the second factor goes too, and every session ends."""
        self.p.address_limit.check(address)
        now = self.p.clock()
        password_hash = await self.p.passwords.hash(password)
        async with self.p.pool.acquire() as conn, conn.transaction():
            invitation = await self.p.invitations.redeem(conn, code, now)
            if invitation is None:
                raise _bad_code()
            agency, person = invitation.agency, invitation.person_id
            lookup = self.p.vault.lookup(agency, login)
            account = await self.p.accounts.by_person(conn, agency, person)
            events: list[DomainEvent] = []
            if account is None:
                await self.p.accounts.create(
                    conn,
                    agency=agency,
                    person_id=person,
                    role=invitation.role,
                    kind="staff" if invitation.role in ENROLLED_ROLES else "participant",
                    lookup=lookup,
                    password_hash=password_hash,
                    now=now,
                )
                events.append(
                    AccountOpened(agency_id=agency, person_id=person, role=invitation.role)
                )
            else:
                await self.p.accounts.reset(conn, account, lookup, password_hash)
                await self.p.refresh.end_all(conn, agency, person, now)
            events.append(
                CredentialsChanged(
                    agency_id=agency, person_id=person, credential=Credential.PASSWORD
                )
            )
            if account is not None and (account.totp_sealed or account.totp_pending):
                events.append(
                    CredentialsChanged(
                        agency_id=agency, person_id=person, credential=Credential.TOTP
                    )
                )
        await self.p.journal.record(
            account_stream(person), events, actor=None, agency=agency, now=now
        )
        return {"person_id": person, "agency": agency}

    async def enrol_totp(
        self, person_id: str, challenge: str | None, identity: Identity | None
    ) -> dict[str, Any]:
        """A new TOTP secret for an account, in force once a code from it is accepted at
        /signin/second-factor: for the account whose password opened `challenge` (staff at
        their first sign-in), or for the signed-in caller's own account (a participant who
        chooses a second factor), who gets a challenge to confirm it with."""
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            if challenge is not None:
                holder = await self.p.refresh.challenged(conn, challenge, now, consume=False)
                if holder is None:
                    raise invalid()
                if holder[1] != person_id:
                    raise Forbidden("the challenge belongs to another account")
            elif identity is not None:
                # The account looked for is in the caller's own agency, and must be theirs.
                access.authorize_own(identity, identity.agency, person_id)
                holder = (identity.agency, person_id)
            else:
                raise Unauthenticated("a challenge or the account's own token is needed")
            account = await self.p.accounts.by_person(conn, *holder)
            if account is None:
                raise NotFound("no account for this person", field="person")
            if account.totp_sealed is not None:
                raise Conflict("a second factor is enrolled already", field="person")
            secret = totp.new_secret()
            sealed = self.p.vault.seal(account.agency, _TOTP, person_id, secret.encode())
            await self.p.accounts.set_pending_totp(conn, account, sealed)
            answer = {"provisioning_uri": totp.provisioning_uri(secret, person_id)}
            if challenge is None:
                answer["challenge"] = await self.p.refresh.challenge(conn, *holder, now)
        return answer

    async def unlock(self, identity: Identity, person_id: str) -> dict[str, Any]:
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            # The caller's own agency's account of the person, else another agency's (which is
            # then refused, 403, as it would be if it were asked for by name); 404 if none.
            agency = await self.p.accounts.agency_of(conn, person_id, identity.agency)
            access.authorize(identity, access.UNLOCK, agency or identity.agency)
            account = await self.p.accounts.by_person(conn, agency, person_id) if agency else None
            if account is None:
                raise NotFound("no account for this person in your agency", field="person")
            await self.p.accounts.unlock(conn, account)
        unlocked = AccountUnlocked(
            agency_id=identity.agency, person_id=person_id, reason=UnlockReason.BY_COORDINATOR
        )
        await self.p.journal.record(
            account_stream(person_id),
            [unlocked],
            actor=identity.actor,
            agency=identity.agency,
            now=now,
        )
        return {"person_id": person_id, "unlocked": True}

    # ---- the agency's signing keys ---------------------------------------------------------

    async def new_signing_key(self, identity: Identity, agency: str) -> dict[str, Any]:
        """A local agency's next signing key, made here (the private half never leaves the
        hub); the previous one signs nothing from now on and is retired, after the overlap,
        through the hub's `/agencies/{agency}/keys/{kid}/retirement`."""
        access.authorize_signing_key(identity, agency)
        standing = await self.p.standing.agency(agency)
        if not standing.onboarded:
            raise NotFound("no agency with this id is onboarded", field="agency_id")
        if standing.sign_in is not SignIn.LOCAL or not standing.active:
            raise Rejected(
                "only an active agency whose staff sign in here has signing keys here",
                field="agency_id",
            )
        key = await self.add_signing_key(agency)
        assert key is not None
        return {"agency_id": agency, "kid": key.kid, "public_key_pem": key.public_pem}

    async def current_key(self, agency: str) -> str | None:
        """The kid of the agency's newest signing key, if it has one."""
        async with self.p.pool.acquire() as conn:
            return await self.p.keys.current(conn, agency)

    async def add_signing_key(self, agency: str, *, only_if_none: bool = False) -> NewKey | None:
        """A new signing key for a local-sign-in agency, published as AgencyKeyAdded; with
        `only_if_none`, only when the agency has none yet (onboarding, run again harmlessly)."""
        now = self.p.clock()
        async with self.p.pool.acquire() as conn, conn.transaction():
            if only_if_none and await self.p.keys.current(conn, agency) is not None:
                return None
            key = await self.p.keys.generate(conn, agency, now)
        added = AgencyKeyAdded(agency_id=agency, kid=key.kid, public_key_pem=key.public_pem)
        await self.p.journal.record(
            agency_stream(agency), [added], actor=None, agency=agency, now=now
        )
        return key


def _bad_code() -> Unauthenticated:
    return Unauthenticated(f"{INVALID}: the activation code is unknown, used or expired")
