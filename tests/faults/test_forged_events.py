"""A forger on the bus (`make fault`): only each service may write its own topics.

The broker authenticates every client (SASL/SCRAM) and authorises it (StandardAuthorizer, the
ACLs of `mend_events.messaging.acls`): a well-formed CloudEvent published onto a consumed topic by
any
principal but the topic's own service, or by no principal at all, is refused by the broker
itself, so no consumer ever sees it."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from mend_events.app.settings import (
    CONSUMES,
    KAFKA_PRINCIPALS,
    SERVICES,
    KafkaAuth,
    events_topic,
)
from mend_events.messaging import acls
from mend_events.messaging.topics import ensure_topics
from mend_testkit.forgery import forged_withdrawal, publish_forged

pytestmark = pytest.mark.fault


async def publish(bootstrap: str, topic: str, auth: KafkaAuth | None, service: str) -> None:
    # Not idempotent: an idempotent producer would already be refused its producer id (a
    # cluster permission) before it asks to write the topic.
    event = forged_withdrawal("case-forged01", "hp-forged01", service)
    await publish_forged(bootstrap, topic, event, auth, request_timeout_ms=10_000)


async def test_only_a_topics_own_service_may_write_it(platform, launcher, topic_prefix):
    local = launcher.Settings.from_env()

    def auth(user: str) -> KafkaAuth:
        return KafkaAuth(user, local.kafka_password(user))

    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    await acls.apply(platform.kafka_bootstrap, topic_prefix)
    consumed = sorted({source for sources in CONSUMES.values() for source in sources})
    assert consumed == sorted(SERVICES)  # every events topic has readers to protect
    refused = []
    for source in consumed:
        topic = events_topic(source, topic_prefix)
        for principal in KAFKA_PRINCIPALS:
            if principal == source:
                continue
            with pytest.raises(TopicAuthorizationFailedError):
                await publish(platform.kafka_bootstrap, topic, auth(principal), source)
            refused.append((principal, topic))
        # No principal at all: the broker does not even let it connect.
        with pytest.raises(KafkaConnectionError):
            await publish(platform.kafka_bootstrap, topic, None, source)
        # A wrong password is no principal either.
        with pytest.raises(KafkaConnectionError):
            await publish(platform.kafka_bootstrap, topic, KafkaAuth(source, "guess"), source)
        # The owner may (and the verification below shows what that is worth).
        await publish(platform.kafka_bootstrap, topic, auth(source), source)
    assert len(refused) == len(consumed) * (len(KAFKA_PRINCIPALS) - 1)
