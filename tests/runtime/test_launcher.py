"""The launcher: repeatable, and clear about what is missing or in the way."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest


def test_up_twice_is_harmless(platform, launcher):
    local = launcher.Settings.from_env()
    pids = {p: launcher.read_pid(local.run / f"{p}.pid") for p in ("postgres", "kafka")}
    launcher.up_infra(local)  # everything already runs: nothing restarts
    assert {p: launcher.read_pid(local.run / f"{p}.pid") for p in pids} == pids
    assert all(pids.values())


def test_port_taken_is_a_clear_message(launcher, tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = replace(launcher.Settings.from_env(), home=tmp_path, pg_port=port)
        (tmp_path / "run").mkdir()
        with pytest.raises(launcher.LaunchError, match=f"port {port} .* taken"):
            launcher.start_postgres(settings)


def test_missing_java_or_maven_is_a_clear_message(launcher, tmp_path, monkeypatch):
    settings = replace(launcher.Settings.from_env(), home=tmp_path)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    with pytest.raises(launcher.LaunchError, match="Java is not installed"):
        launcher.kafka_libs(settings)
    monkeypatch.setattr(launcher.shutil, "which",
                        lambda name: "/usr/bin/java" if name == "java" else None)
    with pytest.raises(launcher.LaunchError, match="Maven is not installed"):
        launcher.kafka_libs(settings)


def test_missing_postgresql_is_a_clear_message(launcher, monkeypatch):
    monkeypatch.setattr(launcher.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    with pytest.raises(launcher.LaunchError, match="PostgreSQL server is not installed"):
        launcher.pg_bin()


def test_main_prints_one_line_not_a_stack_trace(launcher, monkeypatch, capsys):
    def broken(settings):
        raise launcher.LaunchError("Java is not installed: install a JDK 17")

    monkeypatch.setattr(launcher, "up_infra", broken)
    assert launcher.main(["infra"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "mend: Java is not installed: install a JDK 17"
