"""`MEND_ENV=production` refuses every development fallback: the development token keys
(`.mend/keys`, a `MEND_KEYS_DIR` holding private halves), the built-in development KEK, and
identity providers whose issuer or JWKS is plain http. Each but the KEK's failed before the
fix (they were taken)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mend_events.app.settings import Settings
from mend_events.errors import Unauthenticated
from mend_events.security import oidc
from mend_events.security.crypto import AgencyKeys
from mend_events.security.crypto.cipher import CryptoError
from mend_events.security.identity import TokenVerifier
from mend_events.security.public_keys import DevelopmentKeysRefused, StaticKeys, keys_from_env
from mend_events.security.trust.snapshot import Provider, TrustSnapshot
from mend_testkit.devkeys import ensure_agency_keys

PROD = {"MEND_ENV": "production"}


def test_the_development_key_directory_is_refused(tmp_path: Path) -> None:
    ensure_agency_keys("agency-a", tmp_path)
    # In development the directory's keys verify the agency's tokens...
    assert keys_from_env({"MEND_KEYS_DIR": str(tmp_path)}).public_key("agency-a") is not None
    # ...in production, a directory holding the private halves is refused...
    with pytest.raises(DevelopmentKeysRefused):
        keys_from_env({**PROD, "MEND_KEYS_DIR": str(tmp_path)})
    # ...and the default directory is never read: no key but the hub's (the trust model).
    assert keys_from_env(PROD).public_key("agency-a") is None
    # A directory of public halves only (an operator's secret mount, deploy/k8s) is taken.
    (tmp_path / "agency-a.key.pem").unlink()
    mounted = keys_from_env({**PROD, "MEND_KEYS_DIR": str(tmp_path)})
    assert mounted.public_key("agency-a") is not None
    explicit = keys_from_env({**PROD, "MEND_AGENCY_PUBLIC_KEYS": "{}"})
    assert isinstance(explicit, StaticKeys)


def test_the_development_kek_is_refused() -> None:
    with pytest.raises(CryptoError, match="production"):
        AgencyKeys.from_env(PROD)
    AgencyKeys.from_env({**PROD, "MEND_MASTER_KEY": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="})


def test_a_service_refuses_to_start_with_development_keys(monkeypatch, tmp_path: Path) -> None:
    from mend_aftercare.app import build

    ensure_agency_keys("agency-a", tmp_path)
    monkeypatch.setenv("MEND_ENV", "production")
    monkeypatch.setenv("MEND_KEYS_DIR", str(tmp_path))
    monkeypatch.setenv("MEND_MASTER_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=")
    nowhere = "postgresql://x@127.0.0.1:1/x"
    settings = Settings("127.0.0.1:1", nowhere, nowhere)
    with pytest.raises(DevelopmentKeysRefused):
        build(settings, schema="aftercare_never")
    monkeypatch.delenv("MEND_KEYS_DIR")
    monkeypatch.delenv("MEND_MASTER_KEY")
    with pytest.raises(CryptoError):
        build(settings, schema="aftercare_never")


def _provider(issuer: str, jwks: str) -> Provider:
    return Provider("agency-o", issuer, jwks, "mend", "mend_role", "mend_pid")


def test_an_identity_provider_over_plain_http_is_refused(monkeypatch) -> None:
    plain = _provider("http://idp.example", "http://idp.example/jwks")
    mixed = _provider("https://idp.example", "http://idp.example/jwks")
    secure = _provider("https://idp.example", "https://idp.example/jwks")
    oidc.require_secure(plain, {})  # development: the local provider runs on http
    for provider in (plain, mixed):
        with pytest.raises(Unauthenticated, match="https"):
            oidc.require_secure(provider, PROD)
    oidc.require_secure(secure, PROD)

    # Through the verifier, as a request meets it: refused before any key is fetched (the JWKS
    # URL points nowhere; a fetch would answer 503, not 401).
    monkeypatch.setenv("MEND_ENV", "production")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": plain.issuer, "sub": "x", "aud": "mend", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k"})
    trust = TrustSnapshot(providers={plain.issuer: plain})
    with pytest.raises(Unauthenticated, match="https"):
        asyncio.run(TokenVerifier(StaticKeys({})).authenticate(token, trust))
