"""The sign-in's pieces without I/O: argon2id parameters and rehash, TOTP steps and replay,
secrets sealed per agency, purpose and owner, login names as keyed hashes, the address limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from mend_events.errors import Unavailable
from mend_events.security.crypto import AgencyKeys
from mend_hub.signin import totp
from mend_hub.signin.limits import AddressLimit, RateLimited
from mend_hub.signin.passwords import Passwords, hasher
from mend_hub.signin.vault import Vault

PARAMS = "$argon2id$v=19$m=65536,t=3,p=4$"


async def test_hashes_use_the_chosen_parameters_and_unknown_names_check_a_dummy_of_the_same():
    passwords = Passwords()
    stored = await passwords.hash("a long passphrase here")
    assert stored.startswith(PARAMS)
    assert passwords._dummy.startswith(PARAMS)  # same work whether the account exists or not
    assert (await passwords.verify(stored, "a long passphrase here")).ok
    assert not (await passwords.verify(stored, "another passphrase")).ok
    assert not (await passwords.verify(None, "a long passphrase here")).ok


async def test_an_older_hash_verifies_and_comes_back_rehashed():
    old = await Passwords(hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)).hash("pass")
    verdict = await Passwords().verify(old, "pass")
    assert verdict.ok and verdict.rehashed is not None and verdict.rehashed.startswith(PARAMS)


def test_a_code_is_accepted_within_one_step_of_drift_and_only_once():
    secret, now = totp.new_secret(), datetime(2026, 12, 7, 12, 0, 10, tzinfo=UTC)
    gen = pyotp.TOTP(secret)
    step = gen.timecode(now)
    assert totp.accepted_step(secret, gen.at(now), now, None) == step
    assert totp.accepted_step(secret, gen.at(now), now, step) is None  # replay
    earlier = gen.at(now - timedelta(seconds=30))
    assert totp.accepted_step(secret, earlier, now, None) == step - 1
    assert totp.accepted_step(secret, gen.at(now - timedelta(seconds=90)), now, None) is None
    assert totp.accepted_step(secret, "12345a", now, None) is None


def test_a_sealed_secret_opens_only_for_its_agency_purpose_and_owner():
    vault = Vault(AgencyKeys(master_key=b"k" * 32))
    sealed = vault.seal("agency-a", "totp-secret", "prac-a1b2c3", b"secret")
    assert vault.open("agency-a", "totp-secret", "prac-a1b2c3", sealed) == b"secret"
    for agency, purpose, owner in [
        ("agency-b", "totp-secret", "prac-a1b2c3"),
        ("agency-a", "signing-key", "prac-a1b2c3"),
        ("agency-a", "totp-secret", "prac-d4e5f6"),
    ]:
        with pytest.raises(Unavailable):
            vault.open(agency, purpose, owner, sealed)


def test_login_names_are_keyed_hashes_per_agency_compared_case_folded():
    vault = Vault(AgencyKeys(master_key=b"k" * 32))
    assert vault.lookup("agency-a", " Sam.Example ") == vault.lookup("agency-a", "sam.example")
    assert vault.lookup("agency-a", "sam") != vault.lookup("agency-b", "sam")
    assert b"sam" not in vault.lookup("agency-a", "sam")


def test_an_address_has_a_bounded_number_of_attempts_a_window():
    limit = AddressLimit(limit=3, window=60)
    for _ in range(3):
        limit.check("10.0.0.1")
    with pytest.raises(RateLimited):
        limit.check("10.0.0.1")
    limit.check("10.0.0.2")  # another address is not held up
