"""examples/partner_consumer.py, the partner's standalone consumer, stays in step with what Mend
seals: it verifies and opens `seal_for_partner`'s messages and refuses the same tampering, and it
reads them from the real broker over SASL/SCRAM (issue 18)."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mend_events.app.settings import KafkaAuth, kafka_options
from mend_events.messaging.topics import ensure_named
from mend_events.sharing import (
    ShareRejected,
    ShareSigner,
    classification,
    notice_for_partner,
    seal_for_partner,
    verify_and_open,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "partner_consumer.py"
AGENCY = "victim-services-west"
WHEN = datetime(2026, 12, 7, 11, 0, 0, tzinfo=UTC)


def _load_example():
    spec = importlib.util.spec_from_file_location("partner_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


def test_the_example_imports_nothing_of_mend():
    source = EXAMPLE.read_text()
    assert "mend_events" not in source.replace("not on Mend's own packages", "")
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= {
        "__future__", "argparse", "asyncio", "base64", "binascii", "hashlib", "hmac", "json",
        "sys", "time", "urllib", "collections", "datetime", "pathlib", "typing", "aiokafka",
        "cryptography",
    }  # fmt: skip


@pytest.fixture
def partner():
    key = X25519PrivateKey.generate()
    return key, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture
def signer():
    return ShareSigner.from_private_key(bytes(range(32)))


def _sealed(signer, public, **overrides) -> bytes:
    args = {
        "event_id": "3c1e7a52-8d4f-4b6a-9e2d-0f1a2b3c4d5e",
        "event_type": "RiskFlagResolved",
        "source": "urn:mend:disclosure",
        "subject": "case-9c1d2e4f",
        "time": WHEN,
        "data": {
            "flag_id": "0f1e2d3c-4b5a-4968-8776-655443322110",
            "reason": "risk_addressed",
            "note_owner": "hp-3f9a2c",
        },
        "personal": {"note": "Canary Quince"},
        "categories": ["safety_concerns", "statements"],
        "recipient": AGENCY,
        "recipient_public_key": public,
        "signer": signer,
    }
    return seal_for_partner(**{**args, **overrides})


def test_the_example_opens_what_mend_seals(signer, partner):
    private, public = partner
    keys = example.MendKeys(signer.jwks())
    event = example.verify(_sealed(signer, public), keys, private, AGENCY)
    assert event["type"] == "RiskFlagResolved" and event["kind"] == "event"
    assert event["subject"] == "case-9c1d2e4f"
    assert event["key_id"] == signer.key_id
    assert event["categories"] == ["safety_concerns", "statements"]
    assert event["fields"] == {
        "flag_id": "0f1e2d3c-4b5a-4968-8776-655443322110",
        "reason": "risk_addressed",
        "note_owner": "hp-3f9a2c",
        "note": "Canary Quince",
    }
    notice = notice_for_partner(
        kind="withdrawal",
        notice_id="n-1",
        source="urn:mend:disclosure",
        subject="case-9c1d2e4f",
        time=WHEN,
        data={"person_id": "hp-3f9a2c"},
        recipient=AGENCY,
        signer=signer,
    )
    assert example.verify(notice, keys, private, AGENCY)["kind"] == "withdrawal"


def test_the_example_refuses_what_mend_refuses(signer, partner, monkeypatch):
    private, public = partner
    keys = example.MendKeys(signer.jwks())
    message = _sealed(signer, public)
    for index in range(len(message)):  # a changed byte anywhere
        tampered = bytearray(message)
        tampered[index] ^= 0x01
        try:
            opened = example.verify(bytes(tampered), keys, private, AGENCY)
        except example.Rejected:
            continue
        assert opened == example.verify(message, keys, private, AGENCY)
    event = json.loads(message)
    event["mendrecipient"] = "police-north"
    with pytest.raises(example.Rejected, match="changed"):
        example.verify(json.dumps(event).encode(), keys, private, AGENCY)
    with pytest.raises(example.Rejected, match="another agency"):
        example.verify(message, keys, private, "police-north")
    with pytest.raises(example.Rejected, match="does not open"):
        example.verify(message, keys, X25519PrivateKey.generate(), AGENCY)
    stranger = example.MendKeys(ShareSigner.from_private_key(bytes(32)).jwks())
    with pytest.raises(example.Rejected, match="published keys"):
        example.verify(message, stranger, private, AGENCY)
    monkeypatch.setattr(classification, "CLASSIFICATION", "top-secret")
    unknown = _sealed(signer, public)
    monkeypatch.undo()
    with pytest.raises(example.Rejected, match="dataclassification"):
        example.verify(unknown, keys, private, AGENCY)


def test_a_rotated_key_reaches_the_example_through_its_jwks_file(signer, partner, tmp_path):
    """Mend publishes the next key: the example, holding the old JWKS, fetches it again when a
    message names a key id it does not hold (here without waiting its minute)."""
    private, public = partner
    jwks = tmp_path / "mend-share-jwks.json"
    jwks.write_text(json.dumps(signer.jwks()))
    keys = example.MendKeys(str(jwks), refresh_after=0)
    assert example.verify(_sealed(signer, public), keys, private, AGENCY)["key_id"] == signer.key_id
    successor = ShareSigner.from_private_key(bytes(range(1, 33)))
    with pytest.raises(example.Rejected, match="published keys"):
        example.verify(_sealed(successor, public), keys, private, AGENCY)
    jwks.write_text(json.dumps({"keys": [*signer.jwks()["keys"], successor.public_jwk()]}))
    opened = example.verify(_sealed(successor, public), keys, private, AGENCY)
    assert opened["key_id"] == successor.key_id


async def test_the_example_reads_its_topic_over_sasl(platform, topic_prefix, signer, partner):
    """Real broker: a sealed event, a tampered one and a notice on a share topic; the example's
    consumer, authenticated with SCRAM, verifies and opens the good ones and reports the other.
    (The test principal is the local administrator: the agencies' own principals and ACLs are
    the disclosure gateway's deployment.)"""
    private, public = partner
    topic = f"{topic_prefix}mend.share.v1.{AGENCY}"
    await ensure_named(platform.kafka_bootstrap, [topic], create=True)
    good = _sealed(signer, public)
    tampered = good.replace(b'"subject":"case-9c1d2e4f"', b'"subject":"case-00000000"')
    notice = notice_for_partner(
        kind="erasure",
        notice_id="n-2",
        source="urn:mend:disclosure",
        subject="case-9c1d2e4f",
        time=WHEN,
        data={"person_id": "hp-3f9a2c"},
        recipient=AGENCY,
        signer=signer,
    )
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap))
    await producer.start()
    try:
        for message in (good, tampered, notice):
            await producer.send_and_wait(topic, message, key=b"case-9c1d2e4f")
    finally:
        await producer.stop()

    auth = KafkaAuth.from_env()
    assert auth is not None, "the local broker authenticates every client"
    events, rejected = [], []
    await asyncio.wait_for(
        example.consume(
            bootstrap=platform.kafka_bootstrap,
            topic=topic,
            group=f"{topic_prefix}{AGENCY}.partner-consumer",
            user=auth.user,
            password=auth.password,
            mechanism=auth.mechanism,
            keys=example.MendKeys(signer.jwks()),
            private_key=private,
            agency=AGENCY,
            on_event=events.append,
            on_rejected=lambda *args: rejected.append(args),
            max_messages=3,
        ),
        timeout=60,
    )
    assert [e["type"] for e in events] == ["RiskFlagResolved", "ErasureNotice"]
    assert events[0]["fields"]["note"] == "Canary Quince"
    assert [(t, offset, reason) for t, _, offset, reason in rejected] == [
        (topic, 1, "the core attributes or the data were changed")
    ]


def _material(envelope) -> str:
    return base64.b64encode(json.dumps(envelope).encode()).decode()


SHAPED = {
    "specversion": "1.0",
    "id": "1",
    "source": "s",
    "type": "org.mend.share.v1.X",
    "datacontenttype": "application/json",
    "dataschema": "u",
    "subject": "case-1234",
    "time": "2026-12-07T11:00:00Z",
    "data": {},
}
DSSE_TYPE = "https://cloudevents.io/verifiability/dsse/v0.1"
HOSTILE = [
    b"",
    b"[]",
    b'{"specversion": "1.0"}',
    json.dumps({**SHAPED, "dssematerial": _material([])}).encode(),
    json.dumps({**SHAPED, "dssematerial": "not base64"}).encode(),
    json.dumps(
        {**SHAPED, "dssematerial": _material({"payloadType": DSSE_TYPE, "payload": "e30="})}
    ).encode(),
    json.dumps(
        {
            **SHAPED,
            "dssematerial": _material(
                {"payloadType": DSSE_TYPE, "payload": "e30=", "signatures": [3]}
            ),
        }
    ).encode(),
    json.dumps({**SHAPED, "time": "yesterday"}).encode(),
    json.dumps({"specversion": "1.0", "id": 1, "data": []}).encode(),
]


@pytest.mark.parametrize("message", HOSTILE)
def test_hostile_messages_are_rejected_not_raised(signer, partner, message):
    private, _ = partner
    with pytest.raises(example.Rejected):
        example.verify(message, example.MendKeys(signer.jwks()), private, AGENCY)
    with pytest.raises(ShareRejected):
        verify_and_open(
            message, trusted_jwks=signer.jwks(), private_key=bytes(32), recipient=AGENCY
        )
