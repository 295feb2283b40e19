"""The disclosure gateway on the real broker and database, one schema and topic prefix per
test."""

from __future__ import annotations

import pytest
from mend_disclosure.app import build
from mend_events.app.settings import SERVICES
from mend_events.messaging.relay import producer_for
from mend_events.messaging.topics import ensure_topics
from mend_testkit.fixtures import running_service

from .disclosure_support import SIGNER, Feed


@pytest.fixture
async def gateway(platform, unique, topic_prefix):
    await ensure_topics(platform.kafka_bootstrap, list(SERVICES), prefix=topic_prefix)
    async with running_service(build, "disclosure", platform, unique, topic_prefix,
                               hold=0.3, interval=0.05, signer=SIGNER) as running:  # fmt: skip
        yield running


@pytest.fixture
async def feed(platform, topic_prefix):
    producer = producer_for(platform.kafka_bootstrap)
    await producer.start()
    yield Feed(producer, topic_prefix)
    await producer.stop()
