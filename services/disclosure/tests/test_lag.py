"""While the gateway's consent consumer is behind the consent topic, nothing is disclosed, the
partner read route answers 503 and readiness says so; once it catches up, both resume."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from mend_disclosure.gateway import caught_up
from mend_testkit.waiting import wait_until

from .disclosure_support import POLICE, now


def test_caught_up_needs_every_partition_at_its_barrier() -> None:
    assert caught_up({"0": 3, "1": 0}, {0: 3})
    assert not caught_up({"0": 3, "1": 1}, {0: 3})
    assert not caught_up({"0": 4}, {0: 3, 1: 9})


async def test_a_lagging_consent_consumer_holds_disclosures_and_partner_reads(gateway, token):
    client, app, runtime = gateway
    event_id = uuid4()
    async with runtime.pool.acquire() as conn:
        # A candidate whose barrier the consumer has not reached: as if the consent topic held
        # messages the gateway has not applied yet.
        await conn.execute(
            f"INSERT INTO {runtime.schema}.candidates (event_id, event_type, source, case_id, "
            f"occurred_at, data, barrier) VALUES ($1, 'CaseClosed', 'sessions', 'case-lag001', "
            f"$2, $3::jsonb, $4::jsonb)",
            event_id, now() - timedelta(minutes=1), {"reason": "harmed_person_ready"},
            {"0": 10**12},
        )  # fmt: skip
    gateway_ = app.state.gateway
    await wait_until(lambda: _async(gateway_.consent_lags()))
    practitioner = token("practitioner", "prac-pol001", agency=POLICE)
    r = await client.get("/cases/case-lag001/shared", headers=practitioner)
    assert r.status_code == 503, r.text
    assert (await runtime.ready())["consent_caught_up"] is False
    async with runtime.pool.acquire() as conn:
        await conn.execute(
            f"UPDATE {runtime.schema}.candidates SET barrier = $2::jsonb WHERE event_id = $1",
            event_id,
            {},
        )
    await wait_until(lambda: _async(not gateway_.consent_lags()))
    assert (await runtime.ready())["consent_caught_up"] is True
    r = await client.get("/cases/case-lag001/shared", headers=practitioner)
    assert r.status_code == 403  # no grant: the ordinary answer again


async def _async(value: bool) -> bool:
    return value
