"""Feeding the gateway as the five services' relays would (one CloudEvent per event, keyed by
the case), and reading a share topic as a partner reads it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mend_events.app.settings import events_topic, kafka_options, share_topic
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import consent as cev
from mend_events.contracts.catalog import hub as hev
from mend_events.contracts.events import DomainEvent
from mend_events.messaging.cloudevents import to_message
from mend_events.sharing.opening import verify_and_open
from mend_events.sharing.signer import ShareSigner
from mend_testkit.samples import case_opened, delivered

POLICE, CARE, PROBATION = "police-north", "victim-care", "probation-east"
SIGNER = ShareSigner.from_private_key(bytes(range(32)))


def raw_key() -> str:
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def terms(categories, types, start: datetime, days: int = 30) -> cev.ShareTerms:
    return cev.ShareTerms(
        purpose="safeguarding", legal_basis="explicit_consent", categories=tuple(categories),
        event_types=tuple(types), valid_from=start, valid_until=start + timedelta(days=days),
    )  # fmt: skip


class Feed:
    """Publishes other services' events onto this test's topics, as their relays would."""

    def __init__(self, producer, prefix: str) -> None:
        self.producer, self.prefix = producer, prefix
        self.versions: dict[tuple[str, str], int] = {}

    async def send(self, service: str, stream: str, model: DomainEvent, *, at: datetime,
                   actor: str = "hp-aaaa0001", role: Role = Role.HARMED_PERSON,
                   agency: str = "agency-a", wait: bool = True):  # fmt: skip
        version = self.versions.get((service, stream), 0) + 1
        self.versions[(service, stream)] = version
        event = delivered(service, stream, model, actor=actor, role=role, agency=agency,
                          position=version, version=version, at=at)  # fmt: skip
        key, value, headers = to_message(event)
        ack = await self.producer.send(
            events_topic(service, self.prefix), value, key=key, headers=headers
        )
        if wait:
            await ack
        return event if wait else (event, ack)

    async def sharing_key(self, agency: str, at: datetime) -> None:
        model = hev.AgencySharingKeySet(agency_id=agency, kid=f"{agency}-1", public_key=raw_key())
        await self.send("hub", f"agency:{agency}", model, at=at, actor="coord-aaaa01",
                        role=Role.COORDINATOR, agency=agency)  # fmt: skip

    async def open_case(self, case: str, hp: str, at: datetime) -> None:
        await self.send("sessions", case, case_opened(hp), at=at, actor="prac-aaaa01",
                        role=Role.PRACTITIONER)  # fmt: skip

    async def grant(self, case: str, person: str, agency: str, t: cev.ShareTerms, at: datetime,
                    role: Role = Role.HARMED_PERSON) -> UUID:  # fmt: skip
        gid = uuid4()
        model = cev.ConsentGiven(
            grant_id=gid, participant_id=person, participant_role=role,
            scope=cev.share_scope(agency), informed_how="both", no_incentive_attested=True,
            share_terms=t,
        )  # fmt: skip
        await self.send("consent", case, model, at=at, actor=person, role=role)
        return gid

    async def withdraw(self, case: str, person: str, agency: str, gid: UUID, at: datetime,
                       wait: bool = True):  # fmt: skip
        model = cev.ConsentWithdrawn(
            participant_id=person, target="grant",
            grants=(cev.GrantRef(grant_id=gid, scope=cev.share_scope(agency)),),
        )  # fmt: skip
        return await self.send("consent", case, model, at=at, actor=person, wait=wait)


async def read_share_topic(bootstrap: str, agency: str, prefix: str, expect: int,
                           within: float = 30.0) -> list[dict]:  # fmt: skip
    """The CloudEvents on an agency's share topic (signatures checked), once `expect` are
    there; then a short while more, so that one too many would show."""
    import asyncio

    consumer = AIOKafkaConsumer(
        share_topic(agency, prefix), **kafka_options(bootstrap),
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    out: list[dict] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        settle = None
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                out += [verified(r.value, agency) for r in records]
            if len(out) >= expect and settle is None:
                settle = loop.time() + 1.0
            if settle is not None and loop.time() >= settle:
                break
    finally:
        await consumer.stop()
    return out


# The gateway seals no personal field yet (it cannot open another service's sealed ones), so
# nothing needs the partner's private key to open; the signature and the classification are
# checked all the same, by the library a partner's integrator reads (mend_events.sharing).
_NO_SEALED_FIELDS = bytes(32)


def verified(message: bytes, agency: str) -> dict:
    """The CloudEvent of a share message, once Mend's signature, its classification and its
    recipient check out (ShareRejected otherwise)."""
    verify_and_open(message, trusted_jwks=SIGNER.jwks(), private_key=_NO_SEALED_FIELDS,
                    recipient=agency)  # fmt: skip
    return json.loads(message)


def now() -> datetime:
    return datetime.now(UTC)


def data_of(event: dict) -> dict:
    return event["data"]


def as_json(value) -> str:
    return json.dumps(value, sort_keys=True)
