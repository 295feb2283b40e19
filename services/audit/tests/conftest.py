"""Fixtures of the audit tests: four fresh service stores and an audit schema per test."""

from __future__ import annotations

import pytest
from mend_testkit.case_writer import audit_platform


@pytest.fixture
async def audit(platform, app_pool, unique):
    async with audit_platform(platform, app_pool, unique) as stores:
        yield stores


@pytest.fixture
async def writer(audit):
    w = audit.writer()
    yield w
    await w.close()
