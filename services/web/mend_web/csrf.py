"""CSRF: one token per browser session (a new one at sign-in), sent back by every form as the
hidden field `csrf_token` and by htmx as the `X-CSRF-Token` header (set by `hx-headers` on the
body, so no script is needed). Every unsafe route depends on `check`; a test walks the routes to
see that none is without it."""

from __future__ import annotations

import hmac

from fastapi import Request

from mend_web.session import WebSession

FIELD, HEADER = "csrf_token", "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfRefused(Exception):
    """The token is missing or wrong: 403, and nothing is done."""


async def check(request: Request, session: WebSession | None) -> None:
    if session is None:
        raise CsrfRefused()
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused()
