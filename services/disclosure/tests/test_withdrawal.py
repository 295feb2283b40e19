"""Withdrawal and erasure on the real broker: nothing that occurred after a withdrawal reaches
the partner under the grant it ended, whatever order the topics deliver in; the notice does;
the ledger shows both sides. Erasure notices go to exactly the partners the ledger names."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from uuid import uuid4

from mend_disclosure.app import build
from mend_events.app.settings import SERVICES
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import consent as cev
from mend_events.contracts.catalog import risk as rev
from mend_events.messaging.topics import ensure_topics
from mend_testkit.fixtures import running_service
from mend_testkit.waiting import wait_until

from .disclosure_support import CARE, POLICE, PROBATION, SIGNER, now, read_share_topic, terms

PRAC = "prac-aaaa01"
FLAGS = ["RiskFlagRaised"]


def flag() -> rev.RiskFlagRaised:
    return rev.RiskFlagRaised(flag_id=uuid4(), severity="high", category="coercive_control",
                              affects=None)  # fmt: skip


async def rows(runtime, kind: str) -> list:
    async with runtime.pool.acquire() as conn:
        return await conn.fetch(
            f"SELECT * FROM {runtime.schema}.disclosure_ledger WHERE kind = $1 ORDER BY position",
            kind,
        )


async def test_nothing_after_a_withdrawal_reaches_the_partner_and_the_notice_does(
    gateway, feed, platform, topic_prefix
):
    _, _, runtime = gateway
    case, hp = "case-wd0001", "hp-wd000001"
    t0 = now() - timedelta(minutes=1)
    await feed.sharing_key(POLICE, t0)
    await feed.open_case(case, hp, t0)
    gid = await feed.grant(case, hp, POLICE, terms(["safety_concerns"], FLAGS, t0), t0)
    t_w = now()
    before = await feed.send("risk", case, flag(), at=t_w - timedelta(seconds=1), actor=PRAC,
                             role=Role.PRACTITIONER)  # fmt: skip
    # Events that occurred after the withdrawal reach their topic before it does.
    for n in range(3):
        await feed.send("risk", case, flag(), at=t_w + timedelta(milliseconds=1 + n),
                        actor=PRAC, role=Role.PRACTITIONER)  # fmt: skip
    withdrawal = await feed.withdraw(case, hp, POLICE, gid, t_w)

    got = await read_share_topic(platform.kafka_bootstrap, POLICE, topic_prefix, 2)
    # The event from before the withdrawal may follow the notice (it waited for its hold):
    # it occurred under the grant. Nothing from after it arrives at all.
    by_type = {e["type"]: e for e in got}
    assert len(got) == 2 and set(by_type) == {
        "org.mend.share.v1.RiskFlagRaised", "org.mend.share.v1.WithdrawalNotice"}  # fmt: skip
    notice = by_type["org.mend.share.v1.WithdrawalNotice"]["data"]
    assert notice["grant_id"] == str(gid) and notice["ended_by"] == "withdrawn"
    disclosed, notices = await rows(runtime, "disclosure"), await rows(runtime, "withdrawal_notice")
    assert [r["event_ids"] for r in disclosed] == [[before.event_id]]
    assert [r["event_ids"] for r in notices] == [[withdrawal.event_id]]
    assert disclosed[0]["grant_id"] == notices[0]["grant_id"] == gid


async def test_a_race_of_50_withdrawals_against_bursts_leaks_nothing(
    platform, unique, topic_prefix, feed
):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    async with running_service(build, "disclosure", platform, unique, topic_prefix,
                               hold=2.0, interval=0.05, signer=SIGNER) as running:  # fmt: skip
        _, _, runtime = running
        t0 = now() - timedelta(minutes=1)
        await feed.sharing_key(POLICE, t0)
        cases = [(f"case-race{n:04d}", f"hp-race{n:04d}") for n in range(50)]
        grants = {}
        for case, hp in cases:
            await feed.open_case(case, hp, t0)
            grants[case] = await feed.grant(case, hp, POLICE, terms(["safety_concerns"], FLAGS,
                                                                    t0), t0)  # fmt: skip
        rng = random.Random(unique)
        t_w = now()
        withdrawn_at, occurred, acks = {}, {}, []
        sends = []
        for case, hp in cases:
            w = t_w + timedelta(milliseconds=rng.randint(0, 200))
            withdrawn_at[case] = w
            sends.append(("withdraw", case, hp, w))
            for _ in range(5):
                sends.append(("flag", case, hp, w + timedelta(milliseconds=rng.randint(-150, 150))))
        rng.shuffle(sends)  # bursts and withdrawals interleaved across the two topics
        for kind, case, hp, at in sends:
            if kind == "withdraw":
                _, ack = await feed.withdraw(case, hp, POLICE, grants[case], at, wait=False)
            else:
                event, ack = await feed.send("risk", case, flag(), at=at, actor=PRAC,
                                             role=Role.PRACTITIONER, wait=False)  # fmt: skip
                occurred[event.event_id] = (case, at)
            acks.append(ack)
        await asyncio.gather(*acks)

        async def settled() -> bool:
            async with runtime.pool.acquire() as conn:
                held = await conn.fetchval(f"SELECT count(*) FROM {runtime.schema}.candidates")
            return held == 0 and len(await rows(runtime, "withdrawal_notice")) == 50

        await wait_until(settled, timeout=60)
        disclosed = await rows(runtime, "disclosure")
        for r in disclosed:
            [event_id] = r["event_ids"]
            case, at = occurred[event_id]
            assert at < withdrawn_at[case], "an event after the withdrawal was disclosed"
        expected = sum(1 for case, at in occurred.values() if at < withdrawn_at[case])
        assert len(disclosed) == expected
        got = await read_share_topic(platform.kafka_bootstrap, POLICE, topic_prefix,
                                     expected + 50)  # fmt: skip
        assert len(got) == expected + 50


async def test_erasure_notices_reach_every_partner_that_received_the_persons_data(
    gateway, feed, platform, topic_prefix
):
    _, _, runtime = gateway
    case, hp = "case-er0001", "hp-er000001"
    t0 = now() - timedelta(minutes=1)
    for agency in (POLICE, CARE, PROBATION):
        await feed.sharing_key(agency, t0)
    await feed.open_case(case, hp, t0)
    await feed.grant(case, hp, POLICE, terms(["safety_concerns"], FLAGS, t0), t0)
    await feed.grant(case, hp, CARE, terms(["safety_concerns"], FLAGS, t0), t0)
    await feed.send("risk", case, flag(), at=t0 + timedelta(seconds=1), actor=PRAC,
                    role=Role.PRACTITIONER)  # fmt: skip
    await wait_until(lambda: rows_count(runtime, "disclosure", 2))
    erased = cev.PersonalDataErased(person_id=hp, basis="data_subject_request")
    await feed.send("consent", f"erasure.agency-a.{hp}", erased, at=now(), actor=hp)
    # Held or later events about her leave no more.
    await feed.send("risk", case, flag(), at=now(), actor=PRAC, role=Role.PRACTITIONER)
    for agency in (POLICE, CARE):
        got = await read_share_topic(platform.kafka_bootstrap, agency, topic_prefix, 2)
        # The notice is keyed by the person, the disclosure by the case: two partitions, so a
        # partner may read them in either order (the notice says when it took effect).
        by_type = {e["type"]: e for e in got}
        assert len(got) == 2 and set(by_type) == {
            "org.mend.share.v1.RiskFlagRaised", "org.mend.share.v1.ErasureNotice"}  # fmt: skip
        assert by_type["org.mend.share.v1.ErasureNotice"]["data"]["subject_id"] == hp
    assert await read_share_topic(platform.kafka_bootstrap, PROBATION, topic_prefix, 0,
                                  within=1.0) == []  # fmt: skip
    notices = await rows(runtime, "erasure_notice")
    assert sorted(r["recipient_agency"] for r in notices) == [POLICE, CARE]
    assert len(await rows(runtime, "disclosure")) == 2


async def rows_count(runtime, kind: str, n: int) -> bool:
    return len(await rows(runtime, kind)) >= n
