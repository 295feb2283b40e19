"""The one rule for a schema name: it is spliced into SQL, so it must be a plain identifier."""

from __future__ import annotations

import re

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_schema(name: str) -> str:
    """`name` if it is a safe schema name; the error says what a name may hold, not the name."""
    if not _SCHEMA_NAME.match(name):
        raise ValueError("invalid schema name: lower-case letters, digits and _, at most 63")
    return name
