"""Every `MEND_*` variable is a field of a process's pydantic-settings class, the README's
configuration table is generated from those classes (so an operator never meets a setting only
the code knows), and no production code reads a `MEND_*` variable around them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mend_events.app.config import MendSettings, SettingsError

from tools import config_table

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [ROOT / "libs" / "events" / "mend_events", ROOT / "deploy" / "local",
              ROOT / "tools", *sorted((ROOT / "services").glob("*/mend_*"))]  # fmt: skip
NAME = re.compile(r"\bMEND_[A-Z0-9_]*[A-Z0-9]\b")
# An environment read by name, around the settings classes.
AD_HOC = re.compile(r"""(environ|getenv)[^\n]{0,20}["']MEND_""")
# The launcher's scripts (launcher, smoke check, demo accounts) read their few variables by
# name: they are documented by deploy/local/launcher_settings.py and MendSettings, and the
# launcher runs before anything is installed into the environment it makes.
LOCAL = ROOT / "deploy" / "local"


def sources() -> list[Path]:
    return [p for root in PRODUCTION for p in root.rglob("*.py") if "node_modules" not in p.parts]


def in_classes() -> set[str]:
    return {row[0] for row in config_table.rows()}


def test_the_readme_table_is_generated_from_the_settings_classes():
    readme = (ROOT / "README.md").read_text()
    assert config_table.documented(readme) == config_table.render(), (
        "README's configuration table is stale: run `python -m tools.config_table --write`"
    )


def test_every_variable_the_code_names_is_a_settings_field():
    named = {n for path in sources() for n in NAME.findall(path.read_text())}
    # Prefixes the code builds names from (MEND_<SERVICE>_PORT, MEND_KAFKA_<USER>_...), no
    # variables of their own.
    named -= {"MEND_KAFKA", "MEND_WEB"}
    assert named - in_classes() == set()


def test_no_production_code_reads_a_variable_around_the_classes():
    ad_hoc = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sources()
        if LOCAL not in path.parents
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if AD_HOC.search(line)
    ]
    assert ad_hoc == []


def test_every_field_is_read_by_some_code():
    """A field nobody reads is documentation of nothing: each is read as an attribute (or, in
    the launcher, by its variable's name) somewhere besides the settings classes."""
    classes = {"config.py", "launcher_settings.py", "config_table.py"}
    code = "\n".join(p.read_text() for p in sources() if p.name not in classes)
    unread = [
        variable
        for variable, *_ in config_table.rows()
        if variable not in code
        and f".{variable.removeprefix('MEND_').lower()}" not in code
        # Built from a service's name: MendSettings.service_url(name), launcher.service_port.
        and not re.fullmatch(r"MEND_[A-Z]+_(URL|PORT)", variable)
    ]
    assert unread == []


def test_a_bad_value_names_the_variable_and_never_the_value():
    with pytest.raises(SettingsError) as refused:
        MendSettings.load({"MEND_CASE_LAG_MS": "s3cr3t-not-a-number"})
    assert "MEND_CASE_LAG_MS" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)
    with pytest.raises(SettingsError, match="MEND_TOPIC_MIN_INSYNC may not exceed"):
        MendSettings.load({"MEND_TOPIC_REPLICATION": "1", "MEND_TOPIC_MIN_INSYNC": "2"})


def test_secrets_never_print():
    settings = MendSettings.load({"MEND_KAFKA_PASSWORD": "hunter2", "MEND_MASTER_KEY": "k" * 44})
    assert "hunter2" not in repr(settings) and "kkkk" not in repr(settings)
    assert settings.kafka_password is not None
    assert settings.kafka_password.get_secret_value() == "hunter2"


def test_a_mapping_is_read_alone(monkeypatch):
    monkeypatch.setenv("MEND_ENV", "production")
    assert MendSettings.load().production
    assert not MendSettings.load({}).production
    assert MendSettings.load({"MEND_ENV": "prod"}).production


def test_the_launchers_documented_defaults_are_the_ones_it_uses(launcher):
    """deploy/local/launcher_settings.py documents the launcher's variables; launcher.py reads
    them itself (it is another file's business): their defaults may not drift apart."""
    documented = config_table.load("deploy/local/launcher_settings.py:LauncherSettings")
    fields = documented.model_fields
    assert fields["pg_port"].default == launcher.DEFAULT_PG_PORT
    for name, port in launcher.SERVICE_PORTS.items():
        assert fields[f"{name}_port"].default == port, name
    source = (LOCAL / "launcher.py").read_text()
    assert f'"MEND_KAFKA_PORT", "{fields["kafka_port"].default}"' in source
    assert f'"MEND_KAFKA_CONTROLLER_PORT", "{fields["kafka_controller_port"].default}"' in source
    assert f'"MEND_KAFKA_TLS_PORT", "{fields["kafka_tls_port"].default}"' in source
    assert set(launcher.SERVICE_PORTS) == {
        n.removesuffix("_port") for n in fields if n.endswith("_port")
    } - {"pg", "kafka", "kafka_controller", "kafka_tls"}
