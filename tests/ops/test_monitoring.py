"""The operator's monitoring, checked against the code: the alert rules pass `promtool check
rules` and their unit tests (`promtool test rules`), and every metric the rules and the
dashboard query is one the processes export (mend_events.metrics), so neither can drift into
watching a series that no longer exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from mend_events import metrics  # noqa: F401  (registers every metric)
from prometheus_client import REGISTRY

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
# What a family exports beyond its name: counters' _total, histograms' parts.
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: deploy/local/system-deps.sh installs it"
    return subprocess.run([tool, *args], cwd=MONITORING, capture_output=True, timeout=60)


def exported() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("mend_"):
            names.add(family.name)
            names.update(family.name + s for s in SUFFIXES)
    return names


def queried(text: str) -> set[str]:
    return set(re.findall(r"\b(mend_[a-z_]+)", text))


def test_the_alert_rules_are_valid_and_their_tests_pass():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout.decode() + tested.stderr.decode()


def test_every_series_the_rules_and_the_dashboard_watch_is_exported():
    rules = (MONITORING / "alerts.yml").read_text()
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    missing = (queried(rules) | queried(exprs)) - exported()
    assert missing == set(), f"watched but not exported: {sorted(missing)}"


def test_the_rules_cover_what_the_issue_names():
    rules = (MONITORING / "alerts.yml").read_text()
    for series in ("mend_relay_backlog_oldest_age_seconds", "mend_consumer_lag_messages",
                   "mend_dead_letters_total", "mend_withdrawal_to_halt_seconds_bucket",
                   "mend_audit_verify_failures_total", "mend_sign_ins_total"):  # fmt: skip
        assert series in rules, series
