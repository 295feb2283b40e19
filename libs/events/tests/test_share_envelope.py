"""What a partner agency receives (issue 18): a signed, classified CloudEvent whose personal
fields only the recipient can open. Round trip, tampering, wrong keys, unknown classifications,
the signing key and its rotation, no plaintext in the bytes. Interop with published test
vectors: test_share_interop.py."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from mend_events.security.crypto import CryptoError
from mend_events.sharing import (
    ShareRejected,
    ShareSigner,
    classification,
    dsse,
    fields,
    notice_for_partner,
    seal_for_partner,
    verify_and_open,
)

CANARY = "Canary Marigold-Zebra 7731"
CANARY_NOTE = "she said the 14th at the bus station"
WHEN = datetime(2026, 12, 7, 10, 49, 12, 123456, tzinfo=timezone(timedelta(hours=1)))


class Agency:
    def __init__(self, name: str) -> None:
        key = X25519PrivateKey.generate()
        self.name = name
        self.private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        self.public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture
def signer() -> ShareSigner:
    return ShareSigner.from_private_key(bytes(range(32)))


@pytest.fixture
def police() -> Agency:
    return Agency("police-north")


@pytest.fixture
def probation() -> Agency:
    return Agency("probation-east")


def sealed(signer: ShareSigner, to: Agency, **overrides) -> bytes:
    args = {
        "event_id": "0b7f3d4e-5a61-4c2e-9d8f-1a2b3c4d5e6f",
        "event_type": "PersonDetailsRecorded",
        "source": "urn:mend:disclosure",
        "subject": "case-9c1d2e4f",
        "time": WHEN,
        "data": {"person_id": "hp-3f9a2c", "language": None},
        "personal": {"name": CANARY, "accessibility_needs": CANARY_NOTE},
        "categories": ["statements", "case_progress"],
        "recipient": to.name,
        "recipient_public_key": to.public,
        "signer": signer,
    }
    return seal_for_partner(**{**args, **overrides})


def opened(message: bytes, signer: ShareSigner, agency: Agency, **kw):
    return verify_and_open(
        message,
        trusted_jwks=kw.get("jwks", signer.jwks()),
        private_key=kw.get("private_key", agency.private),
        recipient=kw.get("recipient", agency.name),
    )


def test_round_trip(signer, police):
    event = opened(sealed(signer, police), signer, police)
    assert event.kind == "event"
    assert event.event_type == "PersonDetailsRecorded"
    assert event.subject == "case-9c1d2e4f"
    assert event.time == datetime(2026, 12, 7, 9, 49, 12, tzinfo=UTC)  # UTC, whole seconds
    assert event.dataschema == "urn:mend:event:PersonDetailsRecorded:v1"
    assert (event.dataclassification, event.dataregulation) == ("restricted", "GDPR")
    assert event.datacategory == "special-category"
    assert event.categories == ("case_progress", "statements")
    assert event.key_id == signer.key_id
    assert event.personal == {"name": CANARY, "accessibility_needs": CANARY_NOTE}
    assert event.data == {
        "person_id": "hp-3f9a2c",
        "language": None,
        "name": CANARY,
        "accessibility_needs": CANARY_NOTE,
    }
    assert CANARY not in repr(event)


def test_the_message_is_a_cloudevent_with_the_extensions_as_the_spec_names_them(signer, police):
    event = json.loads(sealed(signer, police))
    assert event["specversion"] == "1.0"
    assert event["type"] == "org.mend.share.v1.PersonDetailsRecorded"
    assert event["datacontenttype"] == "application/json"
    assert event["time"] == "2026-12-07T09:49:12Z"
    assert event["mendrecipient"] == police.name
    assert event["mendsealed"] == "accessibility_needs,name"
    assert set(event["data"]["name"]) == {"enc", "ct"}
    envelope = json.loads(base64.b64decode(event["dssematerial"]))
    assert envelope["payloadType"] == "https://cloudevents.io/verifiability/dsse/v0.1"
    assert envelope["signatures"][0]["keyid"] == signer.key_id
    material = json.loads(base64.b64decode(envelope["payload"]))
    assert material["signedextattrs"] == [
        "dataclassification",
        "dataregulation",
        "datacategory",
        "mendcategories",
        "mendrecipient",
        "mendsealed",
    ]


@pytest.mark.parametrize("kind", ["withdrawal", "erasure"])
def test_notices_round_trip(signer, police, kind):
    message = notice_for_partner(
        kind=kind,
        notice_id="5f0c9a7e-1111-4a2b-8c3d-4e5f6a7b8c9d",
        source="urn:mend:disclosure",
        subject="case-9c1d2e4f",
        time=WHEN,
        data={"person_id": "hp-3f9a2c", "grant_id": "6a1f2e3d-0000-4b5c-9d8e-7f6a5b4c3d2e"},
        recipient=police.name,
        signer=signer,
    )
    event = opened(message, signer, police)
    assert event.kind == kind
    assert event.event_type == {"withdrawal": "WithdrawalNotice", "erasure": "ErasureNotice"}[kind]
    assert event.categories == ()
    assert event.data["grant_id"] == "6a1f2e3d-0000-4b5c-9d8e-7f6a5b4c3d2e"


def test_no_personal_plaintext_anywhere_in_the_bytes(signer, police):
    message = sealed(signer, police)
    layers = [message, base64.b64decode(json.loads(message)["dssematerial"])]
    for secret in (CANARY, CANARY_NOTE):
        for encoded in (secret.encode(), base64.b64encode(secret.encode())):
            for layer in layers:
                assert encoded not in layer
    for word in (b"Marigold", b"station"):  # nor a distinctive word on its own
        assert word not in message


def _decoded(message: bytes) -> dict:
    """The message with every base64 value decoded: what a flipped byte can change unseen is
    only how a value is written in base64 (padding bits, the URL-safe alphabet)."""
    event = json.loads(message)
    envelope = json.loads(dsse.b64decode(event.pop("dssematerial"), "m"))
    envelope["payload"] = dsse.b64decode(envelope["payload"], "p")
    for signature in envelope["signatures"]:
        signature["sig"] = dsse.b64decode(signature["sig"], "s")
    for path in event["mendsealed"].split(","):
        node = event["data"]
        *parents, leaf = path.split(".")
        for name in parents:
            node = node[name]
        node[leaf] = {k: dsse.b64decode(v, k) for k, v in node[leaf].items()}
    return {**event, "dssematerial": envelope}


def test_every_single_byte_change_is_refused_or_changes_nothing(signer, police):
    """Flip each byte of the message in turn: the result is refused, or it differs only in how
    a base64 value is spelled (the same bytes), so it is the same message."""
    message = sealed(signer, police)
    unchanged = 0
    for index in range(len(message)):
        tampered = bytearray(message)
        tampered[index] ^= 0x01
        try:
            opened(bytes(tampered), signer, police)
        except ShareRejected:
            continue
        assert _decoded(bytes(tampered)) == _decoded(message), f"byte {index} changed unseen"
        unchanged += 1
    assert unchanged <= 8


def _with_material(message: bytes, change) -> bytes:
    event = json.loads(message)
    envelope = json.loads(base64.b64decode(event["dssematerial"]))
    change(envelope)
    event["dssematerial"] = base64.b64encode(json.dumps(envelope).encode()).decode()
    return json.dumps(event).encode()


def _flip_b64(value: str, index: int = 5) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_a_flipped_byte_of_the_signed_payload_or_of_the_signature_is_refused(signer, police):
    message = sealed(signer, police)

    def payload(env):
        env["payload"] = _flip_b64(env["payload"])

    def signature(env):
        env["signatures"][0]["sig"] = _flip_b64(env["signatures"][0]["sig"])

    for change in (payload, signature):
        with pytest.raises(ShareRejected) as refused:
            opened(_with_material(message, change), signer, police)
        assert refused.value.reason == "signature"


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("subject", "case-00000000"),
        ("time", "2026-12-07T09:49:13Z"),
        ("type", "org.mend.share.v1.PersonRegistered"),
        ("dataschema", "urn:mend:event:PersonDetailsRecorded:v2"),
        ("dataclassification", "confidential"),
        ("datacategory", "standard"),
        ("mendcategories", "case_progress"),
        ("mendsealed", "name"),
        ("mendsealed", "language,name"),
        ("mendrecipient", "probation-east"),
        ("extra", "an unsigned attribute"),
    ],
)
def test_a_changed_or_added_attribute_is_refused(signer, police, attribute, value):
    event = json.loads(sealed(signer, police))
    event[attribute] = value
    with pytest.raises(ShareRejected) as refused:
        opened(json.dumps(event).encode(), signer, police)
    assert refused.value.reason == "tampered"


def test_changed_data_and_a_stripped_signature_are_refused(signer, police):
    event = json.loads(sealed(signer, police))
    event["data"]["person_id"] = "hp-000000"
    with pytest.raises(ShareRejected, match="tampered"):
        opened(json.dumps(event).encode(), signer, police)
    del event["dssematerial"]
    with pytest.raises(ShareRejected, match="signature"):
        opened(json.dumps(event).encode(), signer, police)


def test_a_message_for_another_agency_is_refused_by_this_one(signer, police, probation):
    message = sealed(signer, police)
    with pytest.raises(ShareRejected) as refused:
        opened(message, signer, probation)
    assert refused.value.reason == "recipient"
    # Re-addressing it breaks the signature; and even with the label swapped, the fields
    # were sealed to police's key under police's name.
    event = json.loads(message)
    event["mendrecipient"] = probation.name
    with pytest.raises(ShareRejected, match="tampered"):
        opened(json.dumps(event).encode(), signer, probation)


def test_the_wrong_private_key_cannot_open_the_fields(signer, police, probation):
    with pytest.raises(ShareRejected) as refused:
        opened(sealed(signer, police), signer, police, private_key=probation.private)
    assert refused.value.reason == "sealed"


def test_a_sealed_field_opens_only_for_its_recipient_event_and_path(police):
    box = fields.seal("x", public_key=police.public, recipient=police.name, event_id="e1", path="a")
    assert (
        fields.open_sealed(
            box, private_key=police.private, recipient=police.name, event_id="e1", path="a"
        )
        == "x"
    )
    for recipient, event_id, path in (
        ("other-agency", "e1", "a"),
        (police.name, "e2", "a"),
        (police.name, "e1", "b"),
    ):
        with pytest.raises(fields.FieldSealError):
            fields.open_sealed(
                box, private_key=police.private, recipient=recipient, event_id=event_id, path=path
            )


def test_a_key_mend_does_not_publish_is_not_trusted(signer, police):
    impostor = ShareSigner.from_private_key(bytes(32))
    with pytest.raises(ShareRejected, match="signature"):
        opened(sealed(impostor, police), signer, police)
    # A JWKS entry whose kid is not its thumbprint is ignored, not believed.
    lying = {"keys": [{**impostor.public_jwk(), "kid": signer.key_id}]}
    with pytest.raises(ShareRejected, match="signature"):
        opened(sealed(signer, police), signer, police, jwks=lying)


@pytest.mark.parametrize(
    ("name", "value"),
    [("CLASSIFICATION", "secret"), ("REGULATION", "HIPAA"), ("REGULATION", "GDPR,XYZ")],
)
def test_unknown_classifications_and_regulations_are_refused(
    signer, police, monkeypatch, name, value
):
    """Signed by Mend's key and otherwise intact: the value alone makes the consumer refuse."""
    monkeypatch.setattr(classification, name, value)
    message = sealed(signer, police)
    monkeypatch.undo()
    with pytest.raises(ShareRejected) as refused:
        opened(message, signer, police)
    assert refused.value.reason == "classification"


def test_unknown_data_categories_are_refused(signer, police, monkeypatch):
    monkeypatch.setattr(classification, "NOTICE_CATEGORY", "phi")
    message = notice_for_partner(
        kind="erasure",
        notice_id="n1",
        source="urn:mend:disclosure",
        subject="case-9c1d2e4f",
        time=WHEN,
        data={},
        recipient=police.name,
        signer=signer,
    )
    monkeypatch.undo()
    with pytest.raises(ShareRejected, match="classification"):
        opened(message, signer, police)
    monkeypatch.setitem(classification.CATEGORY_LABELS, "gossip", "special-category")
    message = sealed(signer, police, categories=["gossip"])
    monkeypatch.undo()
    with pytest.raises(ShareRejected, match="classification"):
        opened(message, signer, police)


def test_sealing_refuses_what_it_cannot_classify_or_name(signer, police):
    with pytest.raises(ValueError, match="mapping"):
        sealed(signer, police, categories=["gossip"])
    with pytest.raises(ValueError, match="catalogue"):
        sealed(signer, police, event_type="NoSuchEvent")
    with pytest.raises(ValueError, match="pseudonymous"):
        sealed(signer, police, subject="Jane Doe")
    with pytest.raises(TypeError):
        sealed(signer, police, data={"person_id": 0.5})


def test_personal_fields_leave_only_sealed(signer, police):
    """A personal field in the plain data is refused, in clear or in Mend's own sealed form,
    at any depth; `personal` takes only paths ending in one of the event's personal fields."""
    internal = {"alg": "A256GCM", "kid": "k", "iv": "i", "ct": "c"}
    for data in (
        {"person_id": "hp-3f9a2c", "pronouns": "Jane Doe"},
        {"person_id": "hp-3f9a2c", "pronouns": internal},
        {"person_id": "hp-3f9a2c", "event": {"name": "Jane Doe"}},
        {"person_id": "hp-3f9a2c", "event": {"other": [internal]}},
    ):
        with pytest.raises(ValueError, match=r"plain data|internal sealed"):
            sealed(signer, police, data=data)
    for path in ("person_id", "event.person_id", "Name", "name."):
        with pytest.raises(ValueError, match="personal fields"):
            sealed(signer, police, personal={path: "x"})


def test_the_gateways_shape_with_the_event_nested(signer, police):
    """The gateway may wrap the event's fields with the grant's context; a personal field is
    then sealed at its nested path."""
    data = {
        "grant_id": "6a1f2e3d-0000-4b5c-9d8e-7f6a5b4c3d2e",
        "purpose": "safeguarding",
        "event": {"person_id": "hp-3f9a2c", "language": None},
    }
    message = sealed(signer, police, data=data, personal={"event.name": CANARY})
    assert CANARY.encode() not in message
    event = opened(message, signer, police)
    assert event.personal == {"event.name": CANARY}
    assert event.data["event"] == {"person_id": "hp-3f9a2c", "language": None, "name": CANARY}
    assert event.data["purpose"] == "safeguarding"


def test_the_signing_key_from_the_environment(monkeypatch):
    dev = ShareSigner.from_env({})
    assert dev.key_id == ShareSigner.from_env({}).key_id  # deterministic in development
    with pytest.raises(CryptoError, match="development"):
        ShareSigner.from_env({"MEND_ENV": "production"})
    explicit = base64.b64encode(bytes(range(32))).decode()
    prod = ShareSigner.from_env({"MEND_ENV": "production", "MEND_SHARE_SIGNING_KEY": explicit})
    assert prod.key_id == ShareSigner.from_private_key(bytes(range(32))).key_id
    assert "MEND" not in repr(prod) and explicit not in repr(prod)
    with pytest.raises(CryptoError, match="base64"):
        ShareSigner.from_env({"MEND_SHARE_SIGNING_KEY": "not base64!"})
    # A real master key (not the development one) may stand in for an explicit signing key.
    master = base64.b64encode(bytes(range(100, 140))).decode()
    derived = ShareSigner.from_env({"MEND_ENV": "production", "MEND_MASTER_KEY": master})
    assert derived.key_id not in (dev.key_id, prod.key_id)
    # Keys published beside it (rotation), in the JWKS after the signing key.
    other = ShareSigner.from_private_key(bytes(32))
    raw = base64.urlsafe_b64decode(other.public_jwk()["x"] + "=")
    published = json.dumps([base64.b64encode(raw).decode()])
    both = ShareSigner.from_env(
        {"MEND_SHARE_SIGNING_KEY": explicit, "MEND_SHARE_PUBLISHED_KEYS": published}
    )
    assert [k["kid"] for k in both.jwks()["keys"]] == [prod.key_id, other.key_id]
    with pytest.raises(CryptoError, match="JSON list"):
        ShareSigner.from_env({"MEND_SHARE_PUBLISHED_KEYS": "{}"})


def test_rotation_both_keys_published_then_the_old_one_dropped(police):
    old = ShareSigner.from_private_key(bytes(range(32)))
    old_public = base64.urlsafe_b64decode(old.public_jwk()["x"] + "=")
    new = ShareSigner.from_private_key(bytes(range(1, 33)), published=[old_public])
    in_flight = sealed(old, police)
    overlap = new.jwks()
    assert [k["kid"] for k in overlap["keys"]] == [new.key_id, old.key_id]
    assert opened(in_flight, new, police, jwks=overlap).key_id == old.key_id
    assert opened(sealed(new, police), new, police, jwks=overlap).key_id == new.key_id
    after = {"keys": [new.public_jwk()]}
    with pytest.raises(ShareRejected, match="signature"):
        opened(in_flight, new, police, jwks=after)
