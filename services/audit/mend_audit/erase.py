"""`mend erase PERSON --basis CODE`: a person's erasure request from the command line.

The same path as `POST /people/{person}/erasure` (`mend_events.security.erasure.request_erasure`):
the
caller's signed token says who asks (`--token`, or `MEND_TOKEN`), the same rule decides, the
request is recorded in the consent service's store and the consent service's keys of the person
are destroyed before the answer; the other services destroy theirs when they consume the event
(the consent service's relay publishes it; if the service is down, when it is up again).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mend_events.app.config import CliSettings
from mend_events.app.db import create_pool
from mend_events.app.settings import Settings
from mend_events.commands.service import CommandService
from mend_events.contracts.catalog.consent import ErasureBasis
from mend_events.errors import Unauthenticated
from mend_events.security.erasure import ErasureBody, ErasureProjection, decider, request_erasure
from mend_events.security.identity import default_verifier
from mend_events.security.trust import TrustView
from mend_events.store import EventStore
from mend_events.store.projection import ProjectionRunner

from mend_audit.history import to_json


def add_parser(tools: Any) -> None:
    erase = tools.add_parser(
        "erase",
        help="erase a person's personal data in an agency (the person or a coordinator)",
        description="Record an erasure request; every service destroys the person's data keys, "
        "so their sealed texts become unreadable while the history keeps its events.",
    )
    erase.add_argument("person", metavar="PERSON", help="the pseudonymous id, e.g. hp-3f9a2c")
    erase.add_argument(
        "--basis", required=True, choices=[b.value for b in ErasureBasis], help="why (a code)"
    )
    erase.add_argument("--agency", help="the agency whose records are meant (default: the token's)")
    erase.add_argument("--token", help="the caller's signed token (default: $MEND_TOKEN)")
    erase.add_argument(
        "--schema",
        action="append",
        default=[],
        metavar="SERVICE=SCHEMA",
        help="the consent service's schema (default: consent)",
    )
    erase.add_argument("--json", action="store_true")


async def run(
    args: argparse.Namespace, settings: Settings, schema: str, out: Callable[[str | bytes], None]
) -> int:
    config = CliSettings.load()
    token = args.token or (config.token.get_secret_value() if config.token else None)
    if not token:
        raise Unauthenticated("no token: pass --token or set MEND_TOKEN")
    body = ErasureBody(basis=ErasureBasis(args.basis), agency=args.agency)
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    store = EventStore(pool, schema, service="consent")
    try:
        # The caller admitted as the consent service admits them: its trust model (the hub's
        # keys by kid, suspended agencies, deactivated staff, OIDC providers), read from the
        # consent schema's trust tables as they stand now; never the development keys alone.
        trust = await TrustView(pool, schema, settings.database_url).current()
        identity = await default_verifier().authenticate(token, trust)
        runner = ProjectionRunner(store, ErasureProjection(schema))
        result = await request_erasure(
            CommandService(store, decider), identity, args.person, body, settle=runner.catch_up
        )
        occurred = result.events[0].metadata.occurred_at if result.events else None
        destroyed = 0
        if occurred is not None:
            destroyed = await pool.fetchval(
                f"SELECT count(*) FROM {schema}.data_keys WHERE owner = $1 AND agency = $2 "
                "AND shredded_at >= $3",
                args.person,
                identity.agency,
                occurred,
            )
    finally:
        await store.close()
        await pool.close()
    answer = {
        "person_id": args.person,
        "agency": identity.agency,
        "basis": body.basis.value,
        "events": [{"event_id": str(e.event_id), "type": e.event_type} for e in result.events],
        "keys_destroyed": destroyed,
    }
    if args.json:
        out(to_json(answer))
    elif result.events:
        out(
            f"erasure of {args.person} in {identity.agency} recorded (event "
            f"{result.events[0].event_id}); {destroyed} data key(s) of the consent service "
            "destroyed; the other services destroy theirs as they consume the event"
        )
    else:
        out(f"erasure of {args.person} in {identity.agency} was already recorded")
    return 0
