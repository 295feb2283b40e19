from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from mend_events.contracts.actors import Actor, Role
from mend_events.errors import MendError, Unauthenticated
from mend_events.security import identity as identity_mod
from mend_events.security.identity import (
    Identity,
    TokenVerifier,
    require_identity,
    reset_default_verifier,
    verify_token,
)
from mend_events.security.public_keys import (
    DirectoryKeys,
    StaticKeys,
    default_keys_dir,
    keys_from_env,
)
from mend_testkit.devkeys import ensure_agency_keys, issue_token, private_key_path

AGENCY = "agency-north"


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def verifier(keys_dir: Path) -> TokenVerifier:
    ensure_agency_keys(AGENCY, keys_dir)
    ensure_agency_keys("agency-south", keys_dir)
    return TokenVerifier(DirectoryKeys(keys_dir))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**over) -> dict:
    now = int(time.time())
    claims = {
        "iss": AGENCY,
        "sub": "prac-77ab12",
        "role": "practitioner",
        "aud": "mend",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(over)
    return claims


def _sign(claims: dict, keys_dir: Path, agency: str = AGENCY) -> str:
    key = serialization.load_pem_private_key(
        private_key_path(agency, keys_dir).read_bytes(), password=None
    )
    return jwt.encode(claims, key, algorithm="EdDSA")


def test_keys_written_with_safe_modes(keys_dir: Path) -> None:
    pub = ensure_agency_keys(AGENCY, keys_dir)
    priv = private_key_path(AGENCY, keys_dir)
    assert pub == keys_dir / f"{AGENCY}.pub.pem" and pub.exists()
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" not in pub.read_bytes()
    before = priv.read_bytes()
    ensure_agency_keys(AGENCY, keys_dir)  # idempotent: same key
    assert priv.read_bytes() == before
    with pytest.raises(ValueError):
        ensure_agency_keys("../etc", keys_dir)


def test_round_trip(verifier: TokenVerifier, keys_dir: Path) -> None:
    # A `cases` claim no longer allocates anything: allocations come from the hub's events
    # (security/trust), so a token claiming cases gets none from the claim.
    token = issue_token(
        AGENCY,
        Role.PRACTITIONER,
        "prac-77ab12",
        extra_claims={"cases": ["case-9c1d2e4f", "case-aaaa1111"]},
        keys_dir=keys_dir,
    )
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    ident = verifier.verify(token)
    assert ident == Identity(agency=AGENCY, role=Role.PRACTITIONER, person_id="prac-77ab12")
    assert ident.actor == Actor(id="prac-77ab12", role=Role.PRACTITIONER, agency=AGENCY)
    harmed = verifier.verify(issue_token(AGENCY, "harmed_person", "hp-3f9a2c", keys_dir=keys_dir))
    assert harmed.role is Role.HARMED_PERSON and harmed.cases == frozenset()


def _reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    assert info.value.status == 401
    return info.value.reason


def test_rejects_alg_none(verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(), None, algorithm="none")
    assert "refused" in _reason(verifier, token)


def test_rejects_hmac_even_with_public_key_as_secret(
    verifier: TokenVerifier, keys_dir: Path
) -> None:
    # the classic confusion attack: HS256 signed with the agency's *public* key bytes
    secret = (keys_dir / f"{AGENCY}.pub.pem").read_bytes()
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    sig = _b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert "refused" in _reason(verifier, f"{header}.{payload}.{sig}")
    token = jwt.encode(_claims(), "a-shared-secret-of-enough-length-32b", algorithm="HS256")
    assert "asymmetric" in _reason(verifier, token)


def test_rejects_algorithm_not_matching_agency_key(verifier: TokenVerifier) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(), key, algorithm="ES256")
    assert "does not match" in _reason(verifier, token)


def test_rejects_expired_and_future(verifier: TokenVerifier, keys_dir: Path) -> None:
    old = int(time.time()) - 7200
    expired = issue_token(AGENCY, "auditor", "aud-1234", ttl=60, now=old, keys_dir=keys_dir)
    assert _reason(verifier, expired) == "token expired"
    future = issue_token(
        AGENCY, "auditor", "aud-1234", now=int(time.time()) + 3600, keys_dir=keys_dir
    )
    assert "future" in _reason(verifier, future)
    too_long = issue_token(AGENCY, "auditor", "aud-1234", ttl=10 * 86400, keys_dir=keys_dir)
    assert "lifetime" in _reason(verifier, too_long)


def test_a_verified_token_still_expires(
    verifier: TokenVerifier, keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second use of a token skips the signature check, never the expiry check."""
    token = issue_token(AGENCY, "auditor", "aud-1234", ttl=60, keys_dir=keys_dir)
    assert verifier.verify(token).person_id == "aud-1234"
    assert verifier.verify(token).person_id == "aud-1234"
    later = time.time() + 3600
    monkeypatch.setattr(identity_mod.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _Clock(later), raising=False)
    assert _reason(verifier, token) == "token expired"


class _Clock:
    """pyjwt reads datetime.now(tz=utc) for exp: a clock an hour ahead."""

    def __init__(self, at: float) -> None:
        from datetime import UTC, datetime

        self._now = datetime.fromtimestamp(at, UTC)

    def now(self, tz=None):
        return self._now

    def __getattr__(self, name):
        import datetime as dt

        return getattr(dt.datetime, name)


def test_rejects_wrong_audience(verifier: TokenVerifier, keys_dir: Path) -> None:
    token = issue_token(AGENCY, "auditor", "aud-1234", audience="other", keys_dir=keys_dir)
    assert "audience" in _reason(verifier, token)


def test_rejects_token_signed_by_another_agency(verifier: TokenVerifier, keys_dir: Path) -> None:
    # signed with agency-south's key but claiming agency-north
    token = _sign(_claims(), keys_dir, agency="agency-south")
    assert "signature" in _reason(verifier, token)


def test_rejects_tampered_payload(verifier: TokenVerifier, keys_dir: Path) -> None:
    token = issue_token(AGENCY, "harmed_person", "hp-3f9a2c", keys_dir=keys_dir)
    header, _, sig = token.split(".")
    forged = _b64(json.dumps(_claims(role="coordinator", sub="hp-3f9a2c")).encode())
    assert "signature" in _reason(verifier, f"{header}.{forged}.{sig}")


def test_rejects_unknown_issuer_and_bad_issuer(verifier: TokenVerifier, keys_dir: Path) -> None:
    ensure_agency_keys("agency-west", keys_dir / "elsewhere")
    token = issue_token("agency-west", "auditor", "aud-1234", keys_dir=keys_dir / "elsewhere")
    reason = _reason(verifier, token)
    assert "unknown issuer" in reason and "agency-west" not in reason  # never the sent value
    bad = _sign(_claims(iss="../../etc/passwd"), keys_dir)
    assert "issuer" in _reason(verifier, bad)


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"sub": "jane.doe@example.org"}, "pseudonymous"),
        ({"role": "superuser"}, "not a known role"),
        ({"exp": None}, "'exp'"),
        ({"role": None}, "'role'"),
        ({"aud": None}, "'aud'"),
        ({"iat": None}, "'iat'"),
    ],
)
def test_rejects_bad_claims(
    verifier: TokenVerifier, keys_dir: Path, over: dict, words: str
) -> None:
    claims = {k: v for k, v in _claims(**over).items() if v is not None}
    reason = _reason(verifier, _sign(claims, keys_dir))
    assert words in reason
    # The kind of error, never the value sent (a claim may carry personal data).
    assert not any(isinstance(v, str) and v in reason for v in over.values())


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "x" * 9000])
def test_rejects_malformed(verifier: TokenVerifier, token: str) -> None:
    _reason(verifier, token)


def test_keys_from_env_pem_map(keys_dir: Path) -> None:
    pub = ensure_agency_keys(AGENCY, keys_dir).read_text()
    source = keys_from_env({"MEND_AGENCY_PUBLIC_KEYS": json.dumps({AGENCY: pub})})
    assert isinstance(source, StaticKeys)
    token = issue_token(AGENCY, "operator", "op-1234", keys_dir=keys_dir)
    assert TokenVerifier(source).verify(token).role is Role.OPERATOR
    assert isinstance(keys_from_env({"MEND_KEYS_DIR": str(keys_dir)}), DirectoryKeys)
    with pytest.raises(ValueError):
        keys_from_env({"MEND_AGENCY_PUBLIC_KEYS": json.dumps({AGENCY: "not a pem"})})
    with pytest.raises(ValueError, match="MEND_AGENCY_PUBLIC_KEYS is not valid JSON"):
        keys_from_env({"MEND_AGENCY_PUBLIC_KEYS": "{not json"})
    with pytest.raises(ValueError, match=r"must be a JSON object \{agency: PEM\}"):
        keys_from_env({"MEND_AGENCY_PUBLIC_KEYS": json.dumps([pub])})


@pytest.fixture
def app(verifier: TokenVerifier):
    reset_default_verifier(verifier)
    app = FastAPI()

    @app.exception_handler(MendError)
    async def mend_error(_: Request, exc: MendError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.get("/me")
    async def me(who: Identity = Depends(require_identity)) -> dict:  # noqa: B008
        return {"agency": who.agency, "role": who.role, "person": who.person_id}

    yield app
    reset_default_verifier(None)


async def test_require_identity(app: FastAPI, keys_dir: Path) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mend.test") as client:
        await _exercise(client, keys_dir)


async def _exercise(client: httpx.AsyncClient, keys_dir: Path) -> None:
    token = issue_token(AGENCY, "coordinator", "coord-1234", keys_dir=keys_dir)
    ok = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json() == {"agency": AGENCY, "role": "coordinator", "person": "coord-1234"}
    assert verify_token(token).person_id == "coord-1234"

    missing = await client.get("/me")
    assert missing.status_code == 401 and "missing" in missing.json()["reason"]
    basic = await client.get("/me", headers={"Authorization": f"Basic {token}"})
    assert basic.status_code == 401 and "Bearer" in basic.json()["reason"]
    expired = issue_token(
        AGENCY, "coordinator", "coord-1234", ttl=1, now=int(time.time()) - 600, keys_dir=keys_dir
    )
    late = await client.get("/me", headers={"Authorization": f"Bearer {expired}"})
    assert late.status_code == 401 and late.json()["reason"] == "token expired"


def test_default_keys_dir_is_repo_mend_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEND_KEYS_DIR", raising=False)
    path = default_keys_dir()
    assert path.parts[-2:] == (".mend", "keys")
    assert (path.parent.parent / "libs" / "events" / "mend_events").is_dir()
