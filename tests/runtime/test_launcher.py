"""The launcher: repeatable, and clear about what is missing or in the way."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

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
    monkeypatch.setattr(
        launcher.shutil, "which", lambda name: "/usr/bin/java" if name == "java" else None
    )
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


def test_postgres_port_is_outside_the_ephemeral_range(launcher, tmp_path, monkeypatch):
    monkeypatch.setenv("MEND_HOME", str(tmp_path))  # no cluster of the launcher's runs there
    monkeypatch.delenv("MEND_PG_PORT", raising=False)
    assert launcher.Settings.from_env().pg_port == launcher.DEFAULT_PG_PORT == 25432
    low, high = 32768, 60999  # Linux's default net.ipv4.ip_local_port_range
    assert not low <= launcher.DEFAULT_PG_PORT <= high
    monkeypatch.setenv("MEND_PG_PORT", "25999")
    settings = launcher.Settings.from_env()
    assert settings.pg_port == 25999
    assert ":25999/mend" in settings.env()["MEND_DATABASE_URL"]


def _fake_running_cluster(home, port: int) -> None:
    """A pid file naming a live process (this one) and a postmaster.pid naming `port`."""
    (home / "run").mkdir()
    (home / "run" / "postgres.pid").write_text(str(os.getpid()))
    (home / "pg" / "data").mkdir(parents=True)
    (home / "pg" / "data" / "postmaster.pid").write_text(
        f"{os.getpid()}\n{home / 'pg' / 'data'}\n1795431906\n{port}\n"
    )


def test_a_running_cluster_keeps_its_port_until_restarted(launcher, tmp_path, monkeypatch):
    _fake_running_cluster(tmp_path, 54329)
    monkeypatch.setenv("MEND_HOME", str(tmp_path))
    monkeypatch.delenv("MEND_PG_PORT", raising=False)
    assert launcher.Settings.from_env().pg_port == 54329
    # Explicit wins, and the mismatch is explained. A port nothing listens on: the platform
    # these tests run against may well be on the default one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    monkeypatch.setenv("MEND_PG_PORT", str(free))
    settings = launcher.Settings.from_env()
    assert settings.pg_port == free
    with pytest.raises(launcher.LaunchError, match=f"already runs on port 54329, not {free}"):
        launcher.start_postgres(settings)


def test_an_existing_cluster_starts_on_the_configured_port(launcher, tmp_path, monkeypatch):
    """initdb wrote the old default into postgresql.conf; pg_ctl's -p overrides it."""
    (tmp_path / "run").mkdir()
    (tmp_path / "pg" / "data").mkdir(parents=True)
    (tmp_path / "pg" / "data" / "PG_VERSION").write_text("15\n")
    settings = replace(launcher.Settings.from_env(), home=tmp_path, pg_port=25432)
    started: list[list[str]] = []

    def record(cmd, what, log=None, env=None):
        started.append(cmd)
        raise launcher.LaunchError("recorded")

    monkeypatch.setattr(launcher, "pg_bin", lambda: tmp_path / "bin")
    monkeypatch.setattr(launcher, "ensure_port_free", lambda *args: None)
    monkeypatch.setattr(launcher, "pg_owner_chown", lambda path: None)
    monkeypatch.setattr(launcher, "run_checked", record)
    with pytest.raises(launcher.LaunchError, match="recorded"):
        launcher.start_postgres(settings)
    [cmd] = started
    assert cmd[cmd.index("-o") + 1].split(" -c ")[0] == "-p 25432"
    assert "-c ssl=on" in cmd[cmd.index("-o") + 1]  # TLS with the local CA's certificate
    assert cmd[-1] == "start"


def test_the_broker_authenticates_and_authorises_every_client(launcher, tmp_path):
    settings = replace(launcher.Settings.from_env(), home=tmp_path)
    props = launcher.kafka_config(settings)
    conf = dict(line.split("=", 1) for line in props.read_text().splitlines())
    assert "PLAINTEXT://" not in conf["listeners"].replace("SASL_PLAINTEXT://", "")
    assert set(conf["listener.security.protocol.map"].split(",")) == {
        "CONTROLLER:SASL_PLAINTEXT",
        "SASL_PLAINTEXT:SASL_PLAINTEXT",
        "SASL_SSL:SASL_SSL",
    }
    assert conf["authorizer.class.name"].endswith("StandardAuthorizer")
    assert conf["allow.everyone.if.no.acl.found"] == "false"
    assert conf["super.users"] == "User:mend-admin"
    assert props.stat().st_mode & 0o077 == 0  # it holds the administrator's password
    env = settings.env()
    password = settings.kafka_password("mend-admin")
    assert env["MEND_KAFKA_USER"] == "mend-admin" and password not in "".join(env.values())
    assert (tmp_path / "kafka/secrets/mend-admin").stat().st_mode & 0o077 == 0
    assert settings.kafka_env("consent")["MEND_KAFKA_USER"] == "consent"


def test_a_log_formatted_before_authentication_is_formatted_anew(launcher, tmp_path):
    settings = replace(launcher.Settings.from_env(), home=tmp_path)
    (tmp_path / "kafka/data").mkdir(parents=True)
    (tmp_path / "kafka/data/meta.properties").write_text("node.id=1\n")
    assert not launcher.kafka_security_current(settings)  # start_kafka reformats it
    (tmp_path / "kafka/security").write_text(launcher.KAFKA_SECURITY + "\n")
    assert launcher.kafka_security_current(settings)


async def test_a_principal_added_after_the_log_was_formatted_can_sign_in(
    platform, launcher, tmp_path, unique
):
    """`make up` on a broker formatted before the hub existed: the launcher adds the missing
    principal's SCRAM credentials through Kafka's ConfigCommand (password from a file, never
    the command line), once; the principal then authenticates. Run against the running broker
    with a throwaway user, removed afterwards."""
    import subprocess

    from aiokafka.admin import AIOKafkaAdminClient
    from mend_events.app.settings import KafkaAuth, kafka_options

    real = launcher.Settings.from_env()
    settings = replace(real, home=tmp_path)
    (tmp_path / "kafka" / "secrets").mkdir(parents=True, mode=0o700)
    admin_secret = real.kafka_secret(launcher.KAFKA_ADMIN).read_text()
    (tmp_path / "kafka" / "secrets" / launcher.KAFKA_ADMIN).write_text(admin_secret)
    (tmp_path / "kafka" / "libs").symlink_to(real.home / "kafka" / "libs")
    (tmp_path / "kafka" / "security").write_text(launcher.KAFKA_SECURITY + "\n")
    user = f"t-{unique}"
    # the users of a log formatted before the hub, and the new one (never a real user here)
    users = ("consent", "risk", "sessions", "aftercare", "audit", launcher.KAFKA_ADMIN, user)
    try:
        launcher.ensure_kafka_users(settings, users)
        done = (tmp_path / "kafka" / "users").read_text().split()
        assert sorted(done) == sorted(users)
        assert not list((tmp_path / "kafka").glob("*.properties"))  # no password left behind
        client = AIOKafkaAdminClient(
            **kafka_options(real.kafka_bootstrap, KafkaAuth(user, settings.kafka_password(user)))
        )
        await client.start()  # authenticates, or raises
        await client.close()
    finally:
        props = tmp_path / "admin.properties"
        props.write_text(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{launcher.KAFKA_ADMIN}" password="{admin_secret.strip()}";\n'
        )
        subprocess.run(  # noqa: ASYNC221 - clean-up of the throwaway user
            ["java", "-cp", f"{real.home}/kafka/libs/*", "kafka.admin.ConfigCommand",
             "--bootstrap-server", real.kafka_bootstrap, "--command-config", str(props),
             "--alter", "--entity-type", "users", "--entity-name", user,
             "--delete-config", "SCRAM-SHA-512"],
            capture_output=True, check=False,
        )  # fmt: skip


def test_a_service_whose_keeper_waits_out_its_back_off_is_not_started_twice(launcher, tmp_path):
    settings = replace(launcher.Settings.from_env(), home=tmp_path)
    settings.run.mkdir()
    assert not launcher.kept_or_running(settings, "consent")
    (settings.run / "consent.pid").write_text("999999999")  # the service died: no such pid
    (settings.run / "consent.keeper.pid").write_text(str(os.getpid()))  # its keeper lives
    assert launcher.kept_or_running(settings, "consent")
    (settings.run / "consent.keeper.pid").unlink()
    assert not launcher.kept_or_running(settings, "consent")


def test_the_broker_may_open_as_many_files_as_the_machine_allows(platform, launcher):
    """Kafka holds a handle per log segment of every partition (its operations guide asks for a
    limit of 100,000 or more): the broker runs with the hard limit, not a soft one that is
    often 1,024."""
    local = launcher.Settings.from_env()
    pid = launcher.read_pid(local.run / "kafka.pid")
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    soft = next(line for line in limits if line.startswith("Max open files")).split()[3]
    assert int(soft) == launcher.kafka_open_files()


def test_a_broker_that_never_answers_is_named_with_the_reason(launcher, tmp_path):
    """Not just "did not answer": why (the probe's answer) and the broker's last errors, so a
    broker refusing sign-ins is told apart from one still replaying its log."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings = replace(launcher.Settings.from_env(), home=tmp_path, kafka_port=port)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "kafka-server.log").write_text(
        "[2026-12-07 12:58:40,000] INFO started (kafka.Kafka)\n"
        "[2026-12-07 12:58:41,000] ERROR Too many open files (kafka.log.LogManager)\n"
    )
    with pytest.raises(launcher.LaunchError) as refused:
        launcher.wait_for_kafka(settings, tmp_path / "logs" / "kafka.out", timeout=0.5)
    message = str(refused.value)
    assert "its port is closed" in message
    assert "ERROR Too many open files" in message


def test_two_starters_at_once_take_turns(launcher, tmp_path, monkeypatch):
    """The workers of `make test -n 2` each start the platform (`up_infra`): one at a time,
    under `run/infra.lock`, so the second finds the first's PostgreSQL and Kafka running
    instead of starting its own beside them. A lock held elsewhere (another process's flock on
    the same file) makes `up_infra` wait; its release lets it go on."""
    import fcntl
    import threading

    settings = replace(launcher.Settings.from_env(), home=tmp_path)
    steps: list[str] = []
    for step in ("ensure_local_ca", "start_postgres", "start_kafka", "ensure_kafka_users"):
        monkeypatch.setattr(launcher, step, lambda s, step=step: steps.append(step))
    (tmp_path / "run").mkdir()
    with open(tmp_path / "run" / "infra.lock", "a") as other:  # another starter holds it
        fcntl.flock(other, fcntl.LOCK_EX)
        starter = threading.Thread(target=launcher.up_infra, args=(settings,))
        starter.start()
        starter.join(0.5)
        assert starter.is_alive() and steps == []  # waiting its turn
        fcntl.flock(other, fcntl.LOCK_UN)
    starter.join(10)
    assert not starter.is_alive()
    assert steps == ["ensure_local_ca", "start_postgres", "start_kafka", "ensure_kafka_users"]


def test_the_broker_log_rolls_over_at_a_size_limit(launcher, tmp_path):
    """A broker's log must not grow without bound: at INFO it writes lines for every topic the
    tests create and delete, and one machine's log had reached 6.5 GB."""
    settings = replace(launcher.Settings.from_env(), home=tmp_path)
    launcher.kafka_config(settings)
    conf = dict(
        line.split(" = ", 1)
        for line in (tmp_path / "kafka/log4j2.properties").read_text().splitlines()
    )
    assert conf["appender.file.type"] == "RollingFile"
    assert conf["appender.file.filePattern"].startswith(conf["appender.file.fileName"])
    assert conf["appender.file.policies.size.type"] == "SizeBasedTriggeringPolicy"
    assert conf["appender.file.policies.size.size"] == "100MB"
    assert int(conf["appender.file.strategy.max"]) <= 5


def test_the_broker_errors_are_read_from_the_end_of_a_large_log(launcher, tmp_path):
    """The reason given when the broker does not answer reads the log's last bytes only: a
    3 GB log (sparse, so this test writes almost nothing) is not read into memory whole."""
    log = tmp_path / "kafka-server.log"
    with log.open("wb") as f:
        f.write(b"[2026-12-07 12:00:00,000] ERROR an old error (kafka.Kafka)\n")
        f.seek(3 * 1024**3)
        f.write(b"\n[2026-12-07 12:58:41,000] ERROR Too many open files (kafka.log.LogManager)\n")
    errors = launcher.last_errors(log)
    assert errors == ["[2026-12-07 12:58:41,000] ERROR Too many open files (kafka.log.LogManager)"]
    assert launcher.last_errors(tmp_path / "absent.log") == []
