"""Interop of what a partner receives with published test vectors, so a partner may verify and
open it with any DSSE, JWK and HPKE implementation: DSSE's PAE and Ed25519 signatures (DSSE's
vectors), the key id (RFC 8037), the CloudEvents verifiability extension's digests and
signatures (its vectors), and HPKE (an independent RFC 9180 base-mode opener, checked against
RFC 9180 A.1, opens a sealed field)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mend_events.sharing import ShareSigner, dsse, fields

# --- DSSE and the key id -------------------------------------------------------------------

# secure-systems-lab/dsse testvectors/vectors.json: key A is RFC 8032 TEST 1.
DSSE_KEY_A = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
DSSE_VECTORS = [
    (
        "application/vnd.in-toto+json",
        "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==",
        "2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==",
        "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203433207b22"
        "5f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d",
    ),
    (
        "application/vnd.exämple+json",
        "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==",
        "xmSk/ug66ysT7ayhkCIjhAq42zgZXSsEWuzUaNL7w2eGAdF/NU6/fRXPtmfN+5DNSAs5/i2lUnHjbbjPsu0tAw==",
        "445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b"
        "225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d",
    ),
    (
        "application/vnd.in-toto+json",
        "",
        "gSggCAaTLTYyRH6FIDBem6meyIynsYy8RTHVzwx9tnTb7Bg/1jMWnuVgI/gffqmbsC2VX5/jHfkkDqsj7CDbDg==",
        "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020",
    ),
    (
        "application/vnd.in-toto+json",
        "-_-_Pj8=",
        "P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==",
        "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203520fbffbf"
        "3e3f",
    ),
]


@pytest.mark.parametrize(("payload_type", "payload", "sig", "pae_hex"), DSSE_VECTORS)
def test_pae_and_signature_match_the_dsse_test_vectors(payload_type, payload, sig, pae_hex):
    body = dsse.b64decode(payload, "payload")  # either base64 alphabet, as DSSE requires
    assert dsse.pae(payload_type, body) == bytes.fromhex(pae_hex)
    signer = ShareSigner.from_private_key(bytes.fromhex(DSSE_KEY_A))
    assert signer.sign(bytes.fromhex(pae_hex))[1] == dsse.b64decode(sig, "sig")


# cloudevents/spec extensions/verifiability.md, Test Vectors (ECDSA P-256, raw r||s).
CE_KEY = (
    46950820868899156662930047687818585632848591499744589407958293238635476079160,
    5640078356564379163099075877009565129882514886557779369047442380624545832820,
)
CE_CASE_5 = (  # binary data "8J+koQ==", type example.type.binary, application/octet-stream
    "eyJwYXlsb2FkVHlwZSI6Imh0dHBzOi8vY2xvdWRldmVudHMuaW8vdmVyaWZpYWJpbGl0eS9kc3NlL3YwLjEiLCJwYXls"
    "b2FkIjoiZXlKamIzSmxJam9pY1VOVFpXbGFhMU1yYUVnNVYybERiR1p4Tm5Cc1puRlpUbFo1TW10MmVGZFNabTlDY2t4"
    "RmVtOUVhejBpZlE9PSIsInNpZ25hdHVyZXMiOlt7ImtleWlkIjoidGVzdGtleSIsInNpZyI6IkYyaXAweG1nSlgzdWdI"
    "WkM2dE1ycjdBMkVxYWkwOHJhR3JUd2R5aC9PR0RJSXJGN0J5TTJ5SVRMS3FOckYzZHpaR1IybzBDczlmRUJGZEx4Uk9V"
    "eUVRPT0ifV19"
)
CE_CASE_7 = (  # JSON data, extension attributes exta=value1, extb=value2, both signed
    "eyJwYXlsb2FkVHlwZSI6Imh0dHBzOi8vY2xvdWRldmVudHMuaW8vdmVyaWZpYWJpbGl0eS9kc3NlL3YwLjEiLCJwYXls"
    "b2FkIjoiZXlKamIzSmxJam9pVEZSblVVdElSMmhsWnpaVU5EaDRjRWRIY2pWNlRtdGthSEF5TW10bGJscERUM0ZwWTBa"
    "MFNUUlRRVDBpTENKbGVIUWlPaUpJUWpGd1pUUXpNVVp2VVZwU2MwcGllVXhPVFhFd1VXRkJkbkZRZEcxb1pHazRaRWhI"
    "VTJoaVNrRlZQU0lzSW5OcFoyNWxaR1Y0ZEdGMGRISnpJanBiSW1WNGRHRWlMQ0psZUhSaUlsMTkiLCJzaWduYXR1cmVz"
    "IjpbeyJrZXlpZCI6InRlc3RrZXkiLCJzaWciOiIyZzFVb0FRcHoxb1BqWlRQUlplK3l2THpaUU5FQ1pha2piWlZYaXpE"
    "d2RNbmVJSCsrLzUzdVhOMmJDU2tWSkltZndPaVl5S0JtNG12c01ISlhJVWh6Zz09In1dfQ=="
)


def _ce_verified(material: str) -> dict:
    payload, signatures, body = dsse.parse(material)
    key = ec.EllipticCurvePublicNumbers(*CE_KEY, ec.SECP256R1()).public_key()
    ((_, sig),) = signatures
    der = utils.encode_dss_signature(int.from_bytes(sig[:32]), int.from_bytes(sig[32:]))
    key.verify(der, dsse.pae(dsse.PAYLOAD_TYPE, payload), ec.ECDSA(SHA256()))
    return body


def test_material_matches_the_cloudevents_verifiability_test_vectors():
    body = _ce_verified(CE_CASE_5)
    event = {
        "id": "1",
        "source": "example/uri",
        "specversion": "1.0",
        "type": "example.type.binary",
        "datacontenttype": "application/octet-stream",
    }
    core = dsse.core_digest(event, base64.b64decode("8J+koQ=="))
    assert base64.b64encode(core).decode() == body["core"]
    body = _ce_verified(CE_CASE_7)
    assert body["signedextattrs"] == ["exta", "extb"]
    ext = dsse.ext_digest({"exta": "value1", "extb": "value2"}, ["exta", "extb"])
    assert base64.b64encode(ext).decode() == body["ext"]


def test_time_is_normalised_as_the_spec_says():
    assert dsse.rfc3339_seconds("2026-05-13T10:49:12.123456+01:00") == "2026-05-13T09:49:12Z"
    assert dsse.rfc3339_seconds("2020-06-18T19:24:53+02:00") == "2020-06-18T17:24:53Z"
    assert dsse.rfc3339_seconds("2020-06-18T17:24:53") == "2020-06-18T17:24:53Z"


@pytest.mark.parametrize(
    "names",
    [["exta", "exta"], ["exta", "id"], ["dssematerial"], "exta"],
)
def test_invalid_signed_attribute_lists_are_discarded(names):
    with pytest.raises(dsse.MaterialError):
        dsse.check_signed_names(names)


@pytest.mark.parametrize("drop", ["ext", "signedextattrs"])
def test_ext_and_signedextattrs_come_together(drop):
    signer = ShareSigner.from_private_key(bytes(range(32)))
    material = json.loads(dsse.material({"exta": "v"}, b"{}", ["exta"]))
    del material[drop]
    payload = json.dumps(material).encode()
    envelope = dsse.envelope(payload, [signer.sign(dsse.pae(dsse.PAYLOAD_TYPE, payload))])
    with pytest.raises(dsse.MaterialError, match="together"):
        dsse.parse(envelope)


def test_the_key_id_is_the_rfc_7638_thumbprint():
    """RFC 8037 appendix A: the Ed25519 key, its thumbprint and a deterministic signature."""
    d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    signer = ShareSigner.from_private_key(d)
    assert signer.public_jwk()["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert signer.key_id == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert signer.public_jwk()["kid"] == signer.key_id
    assert signer.jwks() == {"keys": [signer.public_jwk()]}


# --- HPKE: an independent RFC 9180 base-mode opener -------------------------------------------

KEM_SUITE = b"KEM" + (0x0020).to_bytes(2, "big")  # DHKEM(X25519, HKDF-SHA256)
HPKE_SUITE = b"HPKE" + bytes.fromhex("002000010001")  # + HKDF-SHA256, AES-128-GCM


def _extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, b"HPKE-v1" + suite + label + ikm, hashlib.sha256).digest()


def _expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    return HKDFExpand(SHA256(), length, labeled).derive(prk)


def rfc9180_open(sk_r: bytes, enc: bytes, info: bytes, aad: bytes, ct: bytes) -> bytes:
    """RFC 9180 sections 4.1 (DHKEM Decap), 5.1 (KeySchedule, mode_base), 5.2 (Open, seq 0)."""
    key = X25519PrivateKey.from_private_bytes(sk_r)
    dh = key.exchange(X25519PublicKey.from_public_bytes(enc))
    pk_r = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    eae_prk = _extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = _expand(KEM_SUITE, eae_prk, b"shared_secret", enc + pk_r, 32)
    context = (
        b"\x00"
        + _extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
        + _extract(HPKE_SUITE, b"", b"info_hash", info)
    )
    secret = _extract(HPKE_SUITE, shared, b"secret", b"")
    aead_key = _expand(HPKE_SUITE, secret, b"key", context, 16)
    nonce = _expand(HPKE_SUITE, secret, b"base_nonce", context, 12)
    return AESGCM(aead_key).decrypt(nonce, ct, aad)


def test_the_independent_opener_reproduces_rfc_9180_a1():
    """RFC 9180 A.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode, seq 0."""
    plain = rfc9180_open(
        bytes.fromhex("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8"),
        bytes.fromhex("37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"),
        bytes.fromhex("4f6465206f6e2061204772656369616e2055726e"),  # "Ode on a Grecian Urn"
        b"Count-0",
        bytes.fromhex(
            "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea"
            "87e13c512a"
        ),
    )
    assert plain == b"Beauty is truth, truth beauty"


def test_a_sealed_field_is_rfc_9180_base_mode_with_the_documented_info():
    """What docs/sharing.md says a partner does, done without Mend's code or pyca's HPKE:
    info = compact JSON ["mend.share.v1", agency, event id, path], empty aad."""
    key = X25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    box = fields.seal("her own words", public_key=public, recipient="police-north",
                      event_id="e-1", path="event.note")  # fmt: skip
    info = json.dumps(["mend.share.v1", "police-north", "e-1", "event.note"]).replace(" ", "")
    sk = key.private_bytes_raw()
    plain = rfc9180_open(
        sk, base64.b64decode(box["enc"]), info.encode(), b"", base64.b64decode(box["ct"])
    )
    assert plain == b"her own words"
