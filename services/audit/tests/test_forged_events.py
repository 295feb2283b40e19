"""A service's own principal can still write its topics, so a forgery by (or through) a
service is caught downstream: `mend audit verify` compares Kafka against the stores and names
every event on a topic that no store holds (`make fault`)."""

from __future__ import annotations

import pytest
from mend_events.app.settings import SERVICES, KafkaAuth, events_topic
from mend_events.messaging import acls
from mend_events.messaging.topics import ensure_topics
from mend_testkit.forgery import forged_withdrawal, publish_all, publish_forged
from mend_testkit.written_cases import withdrawal_journey

pytestmark = pytest.mark.fault


async def test_an_event_no_store_holds_is_named_by_verify(
    platform, launcher, writer, topic_prefix, mend
):
    local = launcher.Settings.from_env()
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await acls.apply(platform.kafka_bootstrap, topic_prefix)
    await withdrawal_journey(writer, "case-forge0001")
    await publish_all(platform, writer, topic_prefix)

    # A well-formed withdrawal of every grant, published by the consent service's principal
    # (stolen credentials, or a bug): the broker lets it in, no store holds it.
    forged = forged_withdrawal(
        "case-forge0001", "hp-alice01", "consent", position=999_999, version=99
    )
    consent = KafkaAuth("consent", local.kafka_password("consent"))
    await publish_forged(
        platform.kafka_bootstrap, events_topic("consent", topic_prefix), forged, consent
    )

    code, out, _ = await mend("verify")
    assert code == 1, out
    assert "FAILED: 1 problem(s)" in out
    (line,) = [line for line in out.splitlines() if str(forged.event_id) in line]
    assert line.strip().startswith("consent stream case-forge0001 version 99")
    assert "ConsentWithdrawn but not in" in line
