"""Wiring of the disclosure gateway: the consumers of the five topics (grants, cases and
candidates, the hub's trust model and partners' keys), the gateway's decision loop, the share
relay, and the read API. The service writes no events of its own (no events relay): what it
records is the disclosure ledger."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe
from mend_events.security.cases import CaseDirectory
from mend_events.sharing.signer import ShareSigner
from mend_events.store.disclosure_ledger import Ledger

from mend_disclosure.api import router
from mend_disclosure.dispatch import Dispatch
from mend_disclosure.domain import Allowlist
from mend_disclosure.gateway import Gateway, Watermarks
from mend_disclosure.reactions import Reactions
from mend_disclosure.read_models import Positions
from mend_disclosure.service import DisclosureService
from mend_disclosure.settings import DisclosureSettings
from mend_disclosure.share_relay import ShareRelay

log = structlog.get_logger("mend.disclosure")


def wire(
    app: FastAPI,
    runtime: ServiceRuntime,
    *,
    hold: float | None = None,
    interval: float | None = None,
    signer: ShareSigner | None = None,
    run_gateway: bool = True,
) -> Wiring[DisclosureService]:
    """`hold`: seconds a candidate waits after its occurred_at before its barrier is read
    (`MEND_DISCLOSURE_HOLD`, default 5). `interval`: seconds between passes of the gateway and
    the share relay (`MEND_DISCLOSURE_INTERVAL`, default 0.1). `signer`: Mend's share-signing
    key (default `MEND_SHARE_SIGNING_KEY`). `run_gateway=False` leaves the passes to the caller
    (`app.state.gateway.pass_once()`, `app.state.share_relay.pass_once()`), for tests."""
    app.include_router(router())
    runtime.relay_enabled = False  # no events of its own
    schema = runtime.schema
    config = DisclosureSettings.load()
    hold_s = hold if hold is not None else config.disclosure_hold
    every = interval or config.disclosure_interval
    signer = signer or ShareSigner.from_env()
    app.state.share_signer = signer
    allowlist = Allowlist.load()
    dispatch = Dispatch(schema, Ledger(schema), signer)
    directory = CaseDirectory(schema)
    reactions, positions = Reactions(directory, dispatch), Positions(schema)

    async def on_position(conn, position) -> None:  # type: ignore[no-untyped-def]
        # After the batch's handlers, in their transaction: the held candidates, then where
        # the consumer stands (the barrier compares it with the consent topic's marks).
        await reactions.candidates.flush(conn)
        await positions.record(conn, position)

    subscribe(runtime, reactions, on_position=on_position)
    service_of = ServiceOf(runtime, lambda rt: DisclosureService(rt.pool, rt.schema))

    async def then(rt: ServiceRuntime, service: DisclosureService) -> None:
        settings = rt.settings
        assert rt.pool is not None
        marks = Watermarks(settings.kafka_bootstrap, rt.topic_of("consent"), settings.kafka_auth)
        gateway = Gateway(
            rt.pool, schema, consent_topic=rt.topic_of("consent"), allowlist=allowlist,
            dispatch=dispatch, watermarks=marks, hold=timedelta(seconds=hold_s),
        )  # fmt: skip
        relay = ShareRelay(
            rt.pool, schema, settings.kafka_bootstrap, settings.kafka_auth,
            topic_prefix=rt.topic_prefix,
        )  # fmt: skip
        app.state.gateway, app.state.share_relay = gateway, relay
        service.consent_lags = gateway.consent_lags
        checks = rt.ready

        async def ready() -> dict[str, bool]:
            # Not ready while the consent consumer lags past the hold: nothing is disclosed
            # then, and partner reads are refused (503), until it catches up.
            return {**await checks(), "consent_caught_up": not gateway.consent_lags()}

        rt.ready = ready  # type: ignore[method-assign]
        if run_gateway:
            rt.track(_loop(every, gateway.pass_once, "disclosure.gateway_failed"))
            rt.track(_loop(every, relay.pass_once, "disclosure.relay_failed"))

    return Wiring(service_of, then)


async def _loop(interval: float, work, failed: str) -> None:  # type: ignore[no-untyped-def]
    """Run `work` again at once while it finds something, else after `interval`."""
    while True:
        try:
            if await work():
                continue
        except Exception as exc:  # keep going; the next pass retries
            log.warning(failed, error=type(exc).__name__)
        await asyncio.sleep(interval)


build = composition_root("disclosure", wire)


def create() -> FastAPI:
    return build()[0]
