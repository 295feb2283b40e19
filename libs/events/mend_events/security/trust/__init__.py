"""The trust model every service keeps in its own schema, fed by the hub's events: which agencies
exist and whether they are suspended, how their staff sign in (hub-signed keys by key id, or the
agency's own OpenID Connect provider), which staff are active in which role, and who is
allocated to which case.

- `tables.TrustTables.apply`: the write side, run by each service's `hub` subscription inside
  the inbox transaction (`Reactions.on_hub`); every change raises the schema's trust version and
  sends it with NOTIFY in the same transaction.
- `snapshot.TrustSnapshot`: an immutable in-process copy, and `admit`, the per-request decision
  (suspended agency, deactivated or unenrolled staff, retired key; the caller's current cases).
- `view.TrustView`: keeps one snapshot per process current: loaded at start, reloaded when a
  NOTIFY names a newer version (so every instance of the service sees a change at once), read
  from the database on each request while its listening connection is down.
"""

from mend_events.security.trust.snapshot import Provider, TrustSnapshot
from mend_events.security.trust.tables import (
    HUB,
    SUBSCRIPTION,
    TRUST_EVENTS,
    TrustTables,
    channel_of,
)
from mend_events.security.trust.view import TrustView

__all__ = [
    "HUB",
    "SUBSCRIPTION",
    "TRUST_EVENTS",
    "Provider",
    "TrustSnapshot",
    "TrustTables",
    "TrustView",
    "channel_of",
]
