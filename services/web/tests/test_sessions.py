"""Browser sessions: idle expiry (30 minutes, as the hub's refresh tokens), the development
cookie flag refused in production, and the access token refreshed through the hub when it runs
out (the rotated refresh token kept)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mend_web.pages import now
from mend_web.settings import IDLE, SettingsError, WebSettings

from .accounts import practitioner_account
from .conftest import csrf_of
from .test_signin import CASE, HP, PRAC, _password


def test_the_development_cookie_flag_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("MEND_WEB_INSECURE_COOKIES", "1")
    monkeypatch.setenv("MEND_ENV", "production")
    with pytest.raises(SettingsError) as refused:
        WebSettings.from_env()
    assert "MEND_WEB_INSECURE_COOKIES" in str(refused.value)
    monkeypatch.setenv("MEND_ENV", "development")
    assert WebSettings.from_env().cookie_name == "mend_session"
    monkeypatch.delenv("MEND_WEB_INSECURE_COOKIES")
    assert WebSettings.from_env().cookie_name == "__Host-mend_session"
    assert IDLE == timedelta(minutes=30)


async def test_a_session_idle_for_thirty_minutes_is_gone(world):
    store = world.app.state.sessions
    raw, _ = await store.start(now())
    assert await store.load(raw, now() + timedelta(minutes=29)) is not None  # idle restarts
    assert await store.load(raw, now() + timedelta(minutes=58)) is not None
    assert await store.load(raw, now() + timedelta(minutes=89)) is None
    assert await store.load(raw, now()) is None  # removed, not merely hidden


async def test_an_expired_access_token_is_refreshed_through_the_hub(world, unique):
    agency = f"agency-{unique}"
    account = await practitioner_account(world, agency, PRAC, "sam.web", {CASE: HP})
    browser = await world.browser()
    await _password(browser, agency, account.username, account.password)
    page = await browser.get("/signin/second-factor")
    await browser.post("/signin/second-factor", data={"csrf_token": csrf_of(page.text),
                                                       "code": account.code()})  # fmt: skip
    store, pool = world.app.state.sessions, world.app.state.sessions.pool
    before = await pool.fetchrow(f"SELECT access_token, refresh_token FROM {store.t}")
    await pool.execute(f"UPDATE {store.t} SET access_expires = now() - interval '1 minute'")
    r = await browser.get("/cases")
    assert r.status_code == 200 and f"/cases/{CASE}" in r.text
    after = await pool.fetchrow(f"SELECT access_token, refresh_token FROM {store.t}")
    assert after["refresh_token"] != before["refresh_token"]  # rotated by the hub, kept here

    # A refresh token the hub no longer honours (signed out elsewhere): back to sign-in.
    await world.hub.post("/signout", json={"refresh_token": after["refresh_token"]})
    await pool.execute(f"UPDATE {store.t} SET access_expires = now() - interval '1 minute'")
    r = await browser.get("/cases")
    assert (r.status_code, r.headers["location"]) == (303, "/signin")
    assert await pool.fetchval(f"SELECT count(*) FROM {store.t}") == 0
