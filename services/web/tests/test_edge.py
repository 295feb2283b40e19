"""The web app's edge: the security headers on every response (pages, fragments, static files,
redirects, errors), the cookie's attributes, and CSRF refusals that change nothing."""

from __future__ import annotations

from mend_web.security_headers import CSP

from .conftest import csrf_of

EXPECTED = {
    "content-security-policy": CSP,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def _headers_ok(r) -> list[str]:
    return [f"{r.request.url.path} {k}" for k, v in EXPECTED.items() if r.headers.get(k) != v]


async def test_every_kind_of_response_carries_the_security_headers(world):
    browser = await world.browser()
    answers = [
        await browser.get("/signin"),
        await browser.get("/"),
        await browser.get("/static/htmx.min.js"),
        await browser.get("/static/mend.css"),
        await browser.get("/no-such-page"),
        await browser.get("/cases"),  # not signed in: a redirect
        await browser.post("/signin", data={"agency": "a", "username": "b", "password": "c"}),
        await browser.get("/health"),
    ]
    assert [r.status_code for r in answers] == [200, 303, 200, 200, 404, 303, 403, 200]
    assert [bad for r in answers for bad in _headers_ok(r)] == []
    assert CSP == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


async def test_the_session_cookie_is_host_prefixed_secure_httponly_strict(world):
    browser = await world.browser()
    r = await browser.get("/signin")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-mend_session=")
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attrs
    assert not any(a.startswith("domain") for a in attrs)


async def test_no_inline_script_or_style_and_no_hx_on_in_the_pages(world):
    browser = await world.browser()
    html = (await browser.get("/signin")).text
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert "hx-on" not in html and "javascript:" not in html
    assert '<script src="/static/htmx.min.js" defer></script>' in html


async def test_a_sign_in_without_its_csrf_token_is_refused_and_asks_the_hub_nothing(world):
    browser = await world.browser()
    page = await browser.get("/signin")
    body = {"agency": "agency-a", "username": "nobody", "password": "x" * 12}
    r = await browser.post("/signin", data=body)
    assert r.status_code == 403
    r = await browser.post("/signin", data={**body, "csrf_token": "wrong" * 8})
    assert r.status_code == 403
    # With the token: the hub is asked, and answers the generic failure.
    r = await browser.post("/signin", data={**body, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 400 and "Sign-in failed" in r.text
