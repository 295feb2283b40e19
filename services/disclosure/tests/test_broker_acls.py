"""The broker's ACLs for sharing, on the real broker: each partner agency's principal reads its
own share topic and is refused another agency's (read, describe, join its group) and every
internal topic; only the disclosure principal may write a share topic."""

from __future__ import annotations

import secrets

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
)
from mend_events.app.settings import (
    KafkaAuth,
    events_topic,
    kafka_options,
    partner_principal,
    share_topic,
)
from mend_events.messaging.acls import create_acls, sharing_bindings
from mend_events.messaging.relay import producer_for
from mend_events.messaging.topics import ensure_named
from mend_testkit.kafka_users import add_scram_users


async def test_each_partner_reads_only_its_own_share_topic(
    platform, launcher, unique, topic_prefix
):
    bootstrap = platform.kafka_bootstrap
    a, b = f"pa{unique[:8]}", f"pb{unique[:8]}"
    # This test's own partners are new users; the gateway is the platform's own `disclosure`
    # principal, signed in with the launcher's password. (Giving it a password of the test's
    # own changed the shared broker's credential: the running gateway and every later test
    # signing in as `disclosure` were refused, test_forged_events among them.)
    passwords = {partner_principal(x): secrets.token_urlsafe(16) for x in (a, b)}
    await add_scram_users(bootstrap, passwords, platform.kafka_auth)
    passwords["disclosure"] = launcher.Settings.from_env().kafka_password("disclosure")
    await ensure_named(bootstrap, [share_topic(a, topic_prefix), share_topic(b, topic_prefix),
                                   events_topic("consent", topic_prefix)])  # fmt: skip
    await create_acls(bootstrap, sharing_bindings(topic_prefix, (a, b)))
    mine, theirs = share_topic(a, topic_prefix), share_topic(b, topic_prefix)
    as_a = KafkaAuth(partner_principal(a), passwords[partner_principal(a)])

    # The disclosure principal writes both; a partner writes neither.
    gateway = producer_for(bootstrap, KafkaAuth("disclosure", passwords["disclosure"]))
    await gateway.start()
    try:
        for topic in (mine, theirs):
            await gateway.send_and_wait(topic, b"{}", key=b"case-0001aa")
    finally:
        await gateway.stop()
    partner_producer = AIOKafkaProducer(**kafka_options(bootstrap, as_a), request_timeout_ms=5000)
    await partner_producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await partner_producer.send_and_wait(mine, b"{}")
    finally:
        await partner_producer.stop()

    # Its own topic, with its own group prefix: read.
    own = AIOKafkaConsumer(
        mine,
        group_id=f"{topic_prefix}{partner_principal(a)}.feed",
        auto_offset_reset="earliest",
        **kafka_options(bootstrap, as_a),
    )
    await own.start()
    try:
        got = await own.getmany(timeout_ms=10_000)
        assert sum(len(v) for v in got.values()) == 1
    finally:
        await own.stop()

    # The other agency's topic: describe, read and join are refused; so is the consent topic.
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap, as_a))
    await admin.start()
    try:
        described = await admin.describe_topics([theirs, events_topic("consent", topic_prefix)])
        assert all(t["error_code"] == 29 for t in described)  # TOPIC_AUTHORIZATION_FAILED
    finally:
        await admin.close()
    for topic in (theirs, events_topic("consent", topic_prefix)):
        # Reading, even with its own group prefix: the broker refuses the subscription.
        reader = AIOKafkaConsumer(topic, group_id=f"{topic_prefix}{partner_principal(a)}.x",
                                  **kafka_options(bootstrap, as_a))  # fmt: skip
        with pytest.raises(TopicAuthorizationFailedError):
            await reader.start()
        await reader.stop()
    joiner = AIOKafkaConsumer(mine, group_id=f"{topic_prefix}{partner_principal(b)}.feed",
                              **kafka_options(bootstrap, as_a))  # fmt: skip
    with pytest.raises(GroupAuthorizationFailedError):  # the other agency's group prefix
        await joiner.start()
    await joiner.stop()
