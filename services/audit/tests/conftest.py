"""Fixtures of the audit tests: four fresh service stores and an audit schema per test."""

from __future__ import annotations

import asyncio

import pytest
from mend_audit.cli import main
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


@pytest.fixture
def mend(audit, topic_prefix, capsys):
    """Run `mend audit <args>` against this test's stores; returns (exit code, out, err)."""
    schema_args = [a for s, n in audit.schemas.items() for a in ("--schema", f"{s}={n}")]

    async def run(*args: str) -> tuple[int, str, str]:
        argv = [
            "audit",
            *schema_args,
            "--audit-schema",
            audit.audit_schema,
            "--topic-prefix",
            topic_prefix,
            *args,
        ]
        code = await asyncio.to_thread(main, argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run
