"""`make up` starts the web app: last, after the services it calls, on port 8107, its schema
migrated with the others, as its own read-only Kafka principal `web` (its case index) and with
the development cookie flag (plain http on 127.0.0.1)."""

from __future__ import annotations


def test_the_launcher_starts_the_web_app_last_on_8107(launcher, monkeypatch):
    monkeypatch.delenv("MEND_WEB_PORT", raising=False)
    names = [name for name, _ in launcher.processes()]
    assert names[-1] == "web" and ("web", ["mend_web"]) in launcher.processes()
    assert launcher.service_port("web") == 8107


def test_the_web_process_is_its_own_kafka_principal(launcher, monkeypatch, tmp_path):
    spawned = {}

    def spawn(cmd, log, pid_file, env=None):
        spawned[cmd[2]] = env  # under its keeper: keeper.py <name> <run dir> -- <command>
        return 0

    monkeypatch.setattr(launcher, "spawn", spawn)
    monkeypatch.setattr(launcher, "read_pid", lambda _: None)
    monkeypatch.setattr(launcher, "ensure_port_free", lambda *a: None)
    monkeypatch.setattr(launcher, "wait_for", lambda *a, **k: None)
    monkeypatch.setenv("MEND_HOME", str(tmp_path))
    launcher.start_services(launcher.Settings.from_env())
    web = spawned["web"]
    assert web["MEND_WEB_INSECURE_COOKIES"] == "1"
    assert web["MEND_KAFKA_USER"] == "web" and "MEND_KAFKA_PASSWORD" not in web
    assert "web" in launcher.KAFKA_USERS
    assert spawned["hub"]["MEND_KAFKA_USER"] == "hub"
