"""What every refused request must show, for the tests of each service's API and the edge."""

from __future__ import annotations


def clear_4xx(
    r, status: int | tuple[int, ...], field: str | None, words: str | None = None
) -> dict:
    """A client's error: the status, the field, a reason (naming `words` when given), and no
    echo of what was sent."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.text)
    body = r.json()
    assert body["reason"], body
    if field is not None:
        assert body["field"] == field, body
    if words is not None:
        assert words in body["reason"], body
    return body
