"""Topics are made by the deployment, with the partitions, replication and min.insync.replicas
it configures; in production a service refuses to start on a missing topic (naming it) rather
than create one with whatever it would guess. Real broker."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from mend_events.app.settings import kafka_options
from mend_events.messaging.topics import TopicSettings, TopicsMissing, ensure_named


async def _described(bootstrap: str, topic: str) -> tuple[int, dict[str, str]]:
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:
        (meta,) = await admin.describe_topics([topic])
        (configs,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = {c[0]: c[1] for c in configs.resources[0][4]}
    return len(meta["partitions"]), entries


async def test_production_refuses_a_missing_topic_and_names_it(platform, topic_prefix, monkeypatch):
    monkeypatch.setenv("MEND_ENV", "production")
    topic = f"{topic_prefix}sample.events.v1"
    with pytest.raises(TopicsMissing, match=topic):
        await ensure_named(platform.kafka_bootstrap, [topic])
    # Nothing was created meanwhile.
    with pytest.raises(TopicsMissing):
        await ensure_named(platform.kafka_bootstrap, [topic])


async def test_the_deployment_creates_them_as_configured(platform, topic_prefix, monkeypatch):
    monkeypatch.setenv("MEND_TOPIC_PARTITIONS", "3")
    topic = f"{topic_prefix}sample.events.v1"
    assert await ensure_named(platform.kafka_bootstrap, [topic], create=True) == [topic]
    partitions, config = await _described(platform.kafka_bootstrap, topic)
    assert partitions == 3
    assert config["min.insync.replicas"] == "1" and config["retention.ms"] == "-1"
    assert await ensure_named(platform.kafka_bootstrap, [topic], create=True) == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEND_TOPIC_PARTITIONS": "0"}, "MEND_TOPIC_PARTITIONS"),
        ({"MEND_TOPIC_REPLICATION": "three"}, "MEND_TOPIC_REPLICATION"),
        ({"MEND_TOPIC_REPLICATION": "1", "MEND_TOPIC_MIN_INSYNC": "2"}, "MIN_INSYNC"),
    ],
)
def test_bad_topic_settings_name_the_variable(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        TopicSettings.from_env()
