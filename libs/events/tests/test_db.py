"""Pools never make a caller wait for ever: an acquire on a used-up pool ends, after the pool's
acquire timeout, in PoolBusy (503 with a reason; an infrastructure fault to a consumer)."""

from __future__ import annotations

import time

import pytest
from mend_events.app.db import PoolBusy, create_pool
from mend_events.messaging.consumer_errors import TRANSIENT


async def test_an_acquire_on_a_used_up_pool_ends_in_a_clear_503(platform):
    pool = await create_pool(platform.database_url, min_size=1, max_size=1, acquire_timeout=0.3)
    try:
        async with pool.acquire():
            began = time.monotonic()
            with pytest.raises(PoolBusy) as raised:
                await pool.fetchval("SELECT 1")  # fetch & co. acquire too
            assert 0.25 <= time.monotonic() - began < 3
            with pytest.raises(PoolBusy):
                async with pool.acquire():
                    pass
        error = raised.value
        assert error.status == 503 and error.to_dict()["reason"]
        assert isinstance(error, TRANSIENT)  # a consumer retries it, never dead-letters it
        assert await pool.fetchval("SELECT 1") == 1  # and the pool serves again once freed
    finally:
        await pool.close()
