"""How a consumer polls the broker: one long wait that returns as soon as records arrive, and
no pause after an empty poll (faststream's own batch poll sleeps as long as it waited, and a
message arriving meanwhile waited it out: up to 10 ms more on a withdrawal's way to its halt)."""

from __future__ import annotations

import anyio
from mend_events.messaging.consumer import InboxConsumer


class _Broker:
    """What the subscriber's poll asks of aiokafka's consumer: `getmany`, answered in turn."""

    def __init__(self, *answers: dict) -> None:
        self.answers = list(answers)
        self.asked: list[dict] = []

    async def getmany(self, **kwargs) -> dict:
        self.asked.append(kwargs)
        return self.answers.pop(0)


def _consumer() -> InboxConsumer:
    async def handler(conn, event) -> None: ...

    return InboxConsumer(
        name="poll-test",
        pool=None,
        schema="unused",
        bootstrap="127.0.0.1:1",
        topics=["t.sample.events.v1"],
        handler=handler,
        dlq_topic="t.sample.dlq",
        fetch_max_wait_ms=500,
        max_batch=200,
        auth=None,
    )


async def test_an_empty_poll_is_followed_by_the_next_at_once(monkeypatch):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(anyio, "sleep", sleep)
    broker = _Broker({}, {"tp-0": ["r1", "r2"], "tp-1": ["r3"]})
    subscriber = _consumer().subscriber
    assert await subscriber.get_msg(broker) == ()
    assert await subscriber.get_msg(broker) == ("r1", "r2", "r3")
    assert slept == []
    assert broker.asked == [{"timeout_ms": 500, "max_records": 200}] * 2
