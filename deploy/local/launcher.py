"""Local launcher: a real Kafka broker (KRaft, jars from Maven Central), a real PostgreSQL and the
Mend services as local processes on 127.0.0.1, with no Docker engine.

`python deploy/local/launcher.py up|down|status|infra|restart-kafka|kill-kafka`.
State lives under `.mend/` in the repository (ignored by git). Every tool, test and service reads
the same `MEND_*` variables that `status` prints.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import glob
import json
import os
import pwd
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("consent", "risk", "sessions", "aftercare", "hub")
# Kafka principals (SASL/SCRAM users): one per service, `audit` for verification reads, `web`
# (the web app's case index: read-only), and the administrator (super user: topics, ACLs; the
# launcher, migrations and tests).
KAFKA_ADMIN = "mend-admin"
# The disclosure gateway (issue 18), and one principal per partner agency named in
# MEND_PARTNER_AGENCIES (`partner-<agency>`: it may read only its own share topic).
PARTNER_USERS = tuple(
    f"partner-{a.strip()}"
    for a in sorted(set(os.environ.get("MEND_PARTNER_AGENCIES", "").split(",")))
    if a.strip()
)
# Peer support circles (services/circles, issue 21): a service of its own, started after the five.
KAFKA_USERS = (*SERVICES, "circles", "audit", "web", "disclosure", *PARTNER_USERS, KAFKA_ADMIN)
SASL_MECHANISM = "SCRAM-SHA-512"
# Written beside the data directory once it is formatted with this security set-up; a log
# formatted otherwise (an older unauthenticated broker) is formatted anew, see `start_kafka`.
KAFKA_SECURITY = "sasl-scram-sha-512 standard-authorizer v1"
SERVICE_PORTS = {
    "consent": 8101,
    "risk": 8102,
    "sessions": 8103,
    "aftercare": 8104,
    "audit": 8105,
    "hub": 8106,
    "web": 8107,
    "disclosure": 8108,
    "circles": 8109,
}
# Below Linux's ephemeral range (32768-60999), so an outgoing connection never holds it first.
DEFAULT_PG_PORT = 25432


class LaunchError(Exception):
    """A problem the user can fix; printed as one clear line, never a stack trace."""


@dataclass(frozen=True)
class Settings:
    home: Path
    pg_port: int
    kafka_port: int
    controller_port: int
    tls_port: int = 29094

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("MEND_HOME", ROOT / ".mend"))
        # Without MEND_PG_PORT, a cluster this launcher already runs keeps the port it listens on
        # (one started before the default changed) until it is restarted.
        pg_port = os.environ.get("MEND_PG_PORT") or running_pg_port(home) or DEFAULT_PG_PORT
        return cls(
            home=home,
            pg_port=int(pg_port),
            kafka_port=int(os.environ.get("MEND_KAFKA_PORT", "29092")),
            controller_port=int(os.environ.get("MEND_KAFKA_CONTROLLER_PORT", "29093")),
            tls_port=int(os.environ.get("MEND_KAFKA_TLS_PORT", "29094")),
        )

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_tls_bootstrap(self) -> str:
        return f"127.0.0.1:{self.tls_port}"

    @property
    def tls(self) -> Path:
        """The local certificate authority and the broker's and database's certificates."""
        return self.home / "tls"

    def tls_env(self) -> dict[str, str]:
        """What the services `make up` starts are told: the broker's TLS listener and the
        database, each verified (chain and host name) against the local CA."""
        ca = str(self.tls / "ca.crt")
        return {
            "MEND_KAFKA_BOOTSTRAP": self.kafka_tls_bootstrap,
            "MEND_KAFKA_TLS": "true",
            "MEND_KAFKA_CA_FILE": ca,
            "MEND_DATABASE_TLS": "true",
            "MEND_DATABASE_CA_FILE": ca,
        }

    @property
    def database_url(self) -> str:
        # Plain text for tests and host tools (asyncpg would otherwise prefer TLS); the
        # services `make up` starts pass a verifying context, which overrides the URL's mode.
        return f"postgresql://mend_app:mend_app@127.0.0.1:{self.pg_port}/mend?sslmode=disable"

    @property
    def admin_database_url(self) -> str:
        return f"postgresql://mend_admin:mend_admin@127.0.0.1:{self.pg_port}/mend?sslmode=disable"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{service_port(name)}"

    def kafka_secret(self, user: str) -> Path:
        """The file holding `user`'s Kafka password (created on first use, owner-only)."""
        path = self.home / "kafka" / "secrets" / user
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.parent.chmod(0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24))
        return path

    def kafka_password(self, user: str) -> str:
        return self.kafka_secret(user).read_text().strip()

    def kafka_env(self, user: str) -> dict[str, str]:
        """Who a process is on the bus: its user and the file with its password (never the
        password itself, so `status` and the env file can be shown)."""
        return {
            "MEND_KAFKA_USER": user,
            "MEND_KAFKA_PASSWORD_FILE": str(self.kafka_secret(user)),
            "MEND_KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        }

    def env(self) -> dict[str, str]:
        """The live settings, as every tool and service reads them."""
        values = {
            "MEND_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "MEND_DATABASE_URL": self.database_url,
            "MEND_ADMIN_DATABASE_URL": self.admin_database_url,
            "MEND_HOME": str(self.home),
            "MEND_KEYS_DIR": str(self.home / "keys"),
            **self.kafka_env(KAFKA_ADMIN),
        }
        for name, _ in processes():
            values[f"MEND_{name.upper()}_URL"] = self.service_url(name)
        return values


def service_port(name: str) -> int:
    return int(os.environ.get(f"MEND_{name.upper()}_PORT", SERVICE_PORTS[name]))


def existing_services() -> list[str]:
    return [s for s in SERVICES if (ROOT / "services" / s / f"mend_{s}" / "app.py").exists()]


def has_audit() -> bool:
    """The auditors' read-only API (services/audit) runs beside the services when it exists."""
    return (ROOT / "services" / "audit" / "mend_audit" / "server.py").exists()


def has_web() -> bool:
    """The web app (services/web) runs last, in front of the services, when it exists."""
    return (ROOT / "services" / "web" / "mend_web" / "app.py").exists()


def has_disclosure() -> bool:
    """The disclosure gateway (services/disclosure, issue 18) runs beside the services."""
    return (ROOT / "services" / "disclosure" / "mend_disclosure" / "app.py").exists()


def has_circles() -> bool:
    """The peer support circles service (services/circles, issue 21) runs beside the services."""
    return (ROOT / "services" / "circles" / "mend_circles" / "app.py").exists()


def processes() -> list[tuple[str, list[str]]]:
    """(name, python -m arguments) of every process `up` starts after the infrastructure."""
    found = [(s, [f"mend_{s}"]) for s in existing_services()]
    if has_circles():
        found.append(("circles", ["mend_circles"]))
    if has_audit():
        found.append(("audit", ["mend_audit.server"]))
    if has_disclosure():
        found.append(("disclosure", ["mend_disclosure"]))
    if has_web():
        found.append(("web", ["mend_web"]))
    return found


# --- processes -------------------------------------------------------------------------------


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A zombie still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        if state == "Z":
            return None
    except (FileNotFoundError, IndexError):
        pass
    return pid


def wait_for(check, what: str, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    hint = f"; see {log}" if log else ""
    raise LaunchError(f"{what} did not answer within {timeout:.0f}s{hint}")


def ensure_port_free(port: int, what: str, env_var: str) -> None:
    if port_open(port):
        raise LaunchError(
            f"port {port} for {what} is taken by another process; stop it or set {env_var}"
        )


def spawn(
    cmd: list[str],
    log: Path,
    pid_file: Path,
    env: dict[str, str] | None = None,
    open_files: int | None = None,
) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)

    def limits() -> None:  # in the child, before it runs the command
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, hard))

    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=ROOT,
            preexec_fn=limits if open_files is not None else None,
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def stop_pid(pid_file: Path, timeout: float = 20.0, sig: int = signal.SIGTERM) -> bool:
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and read_pid(pid_file) is not None:
        time.sleep(0.1)
    if read_pid(pid_file) is not None:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = shutil.which("initdb")
    if candidates:
        return Path(candidates[0]).parent
    if found:
        return Path(found).parent
    raise LaunchError(
        "PostgreSQL server is not installed: run `apt-get update && apt-get install -y postgresql`"
    )


def as_pg_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the `postgres` system user.
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise LaunchError(
            "running as root but no `postgres` user exists to own the database"
        ) from exc
    return ["runuser", "-u", "postgres", "--", *cmd]


def pg_owner_chown(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def running_pg_port(home: Path) -> int | None:
    """The port of the PostgreSQL this launcher started under `home`, if it still runs."""
    if read_pid(home / "run" / "postgres.pid") is None:
        return None
    try:
        # postmaster.pid: pid, data directory, start time, port, ... (one per line)
        return int((home / "pg" / "data" / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def pg_tls_options(settings: Settings) -> str:
    """TLS with the local CA's certificate (on the command line, so it holds for a cluster made
    before it); clients choose: the services `make up` starts verify it (verify-full)."""
    key = settings.home / "pg" / "server.key"
    return (
        f"-c ssl=on -c ssl_cert_file={settings.tls / 'postgres.crt'} -c ssl_key_file={key} "
        "-c ssl_min_protocol_version=TLSv1.2"
    )


def pg_tls_on(settings: Settings) -> bool:
    env = dict(os.environ, PGPASSWORD="mend_admin")
    query = [*psql_as_admin(settings), "-d", "postgres", "-tAc", "SHOW ssl"]
    result = subprocess.run(query, capture_output=True, text=True, env=env)
    return result.returncode == 0 and result.stdout.strip() == "on"


def pg_ready(settings: Settings) -> bool:
    result = subprocess.run(
        [str(pg_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(settings.pg_port), "-q"],
        capture_output=True,
    )
    return result.returncode == 0


def start_postgres(settings: Settings) -> None:
    data = settings.home / "pg" / "data"
    pid_file = settings.run / "postgres.pid"
    if read_pid(pid_file) is not None and pg_ready(settings):
        if pg_tls_on(settings):
            bootstrap_database(settings)
            return
        print("PostgreSQL runs without TLS (started before the local CA): restarting it")
        stop_postgres(settings)
    running = running_pg_port(settings.home)
    if running is not None and running != settings.pg_port:
        raise LaunchError(
            f"PostgreSQL from {data} already runs on port {running}, not {settings.pg_port}: "
            f"set MEND_PG_PORT={running}, or restart it (make down, then make up)"
        )
    bindir = pg_bin()
    ensure_port_free(settings.pg_port, "PostgreSQL", "MEND_PG_PORT")
    for d in (settings.home / "pg", settings.home / "pg" / "sock"):
        d.mkdir(parents=True, exist_ok=True)
        pg_owner_chown(d)
    if not (data / "PG_VERSION").exists():
        pwfile = settings.home / "pg" / "pw"
        pwfile.write_text("mend_admin\n")
        pg_owner_chown(pwfile)
        run_checked(
            as_pg_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "mend_admin",
                    "--pwfile",
                    str(pwfile),
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ]
            ),
            "initdb",
        )
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# Mend local settings\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {settings.pg_port}\n"
                f"unix_socket_directories = '{settings.home / 'pg' / 'sock'}'\n"
                "max_connections = 300\n"
                "shared_buffers = 512MB\n"
                "wal_buffers = 16MB\n"
                "max_wal_size = 4GB\n"
                "logging_collector = off\n"
            )
    log = settings.logs / "postgres.log"
    settings.logs.mkdir(parents=True, exist_ok=True)
    log.touch()
    pg_owner_chown(log)
    run_checked(
        as_pg_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                # The port on the command line wins over the one initdb wrote into the data
                # directory's postgresql.conf, so MEND_PG_PORT holds for an existing cluster too.
                "-o",
                f"-p {settings.pg_port} {pg_tls_options(settings)}",
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        "pg_ctl start",
        log,
    )
    pid = (data / "postmaster.pid").read_text().splitlines()[0]
    pid_file.write_text(pid)
    wait_for(lambda: pg_ready(settings), "PostgreSQL", 30, log)
    bootstrap_database(settings)


def psql_as_admin(settings: Settings) -> list[str]:
    """psql as the admin role on the local cluster, stopping at the first error (add `-d`)."""
    return [
        str(pg_bin() / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        str(settings.pg_port),
        "-U",
        "mend_admin",
        "-v",
        "ON_ERROR_STOP=1",
        "-q",
    ]


def bootstrap_database(settings: Settings) -> None:
    """Create the database and the application role; idempotent."""
    sql = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mend_app') THEN
    CREATE ROLE mend_app LOGIN PASSWORD 'mend_app' NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  -- Owns every schema object; nobody logs in as it. Migrations run under SET ROLE mend_owner.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mend_owner') THEN
    CREATE ROLE mend_owner NOLOGIN NOSUPERUSER;
  END IF;
END $$;
GRANT CREATE ON DATABASE mend TO mend_owner;
"""
    env = dict(os.environ, PGPASSWORD="mend_admin")
    base = psql_as_admin(settings)
    exists = subprocess.run(
        [*base, "-d", "postgres", "-tAc", "SELECT 1 FROM pg_database WHERE datname = 'mend'"],
        capture_output=True,
        text=True,
        env=env,
    )
    if exists.stdout.strip() != "1":
        run_checked(
            [*base, "-d", "postgres", "-c", "CREATE DATABASE mend"], "create database", env=env
        )
    run_checked([*base, "-d", "mend", "-c", sql], "create roles", env=env)
    run_checked(
        [*base, "-d", "mend", "-c", "REVOKE CREATE ON SCHEMA public FROM PUBLIC"],
        "lock public schema",
        env=env,
    )


def stop_postgres(settings: Settings) -> bool:
    data = settings.home / "pg" / "data"
    pid_file = settings.run / "postgres.pid"
    if read_pid(pid_file) is None:
        pid_file.unlink(missing_ok=True)
        return False
    subprocess.run(
        as_pg_user([str(pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        capture_output=True,
    )
    pid_file.unlink(missing_ok=True)
    return True


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (PostgreSQL's backends and auxiliaries)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(Path(stat).parent.name))
    return found


def kill_postgres(settings: Settings) -> None:
    """A crash, not a shutdown: SIGKILL to the postmaster and every process it forked (so no
    backend finishes its work), for fault-injection tests. `start_postgres` recovers from WAL."""
    pid_file = settings.run / "postgres.pid"
    pid = read_pid(pid_file)
    if pid is not None:
        victims = [pid, *children_of(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not any(_alive(v) for v in victims), "PostgreSQL's end", 30)
    pid_file.unlink(missing_ok=True)
    wait_for(lambda: not port_open(settings.pg_port), "PostgreSQL port release", 30)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def run_checked(
    cmd: list[str], what: str, log: Path | None = None, env: dict[str, str] | None = None
) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        hint = f" (log: {log})" if log else ""
        raise LaunchError(f"{what} failed{hint}: " + " | ".join(detail))


# --- Kafka -----------------------------------------------------------------------------------


def kafka_libs(settings: Settings) -> Path:
    """Resolve the broker's runtime classpath from Maven Central once; Maven caches it in ~/.m2."""
    libs = settings.home / "kafka" / "libs"
    marker = libs / ".complete"
    pom = ROOT / "deploy" / "local" / "kafka" / "pom.xml"
    if marker.exists() and marker.read_text() == pom.read_text():
        return libs
    if shutil.which("java") is None:
        raise LaunchError(
            "Java is not installed: install a JDK 17 (apt-get install -y openjdk-17-jre-headless)"
        )
    if shutil.which("mvn") is None:
        raise LaunchError("Maven is not installed: apt-get install -y maven")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    print("resolving the Kafka broker's jars from Maven Central ...", flush=True)
    run_checked(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ],
        "maven (Kafka jars)",
    )
    marker.write_text(pom.read_text())
    return libs


def kafka_config(settings: Settings) -> Path:
    kdir = settings.home / "kafka"
    data = kdir / "data"
    props = kdir / "server.properties"
    admin = settings.kafka_password(KAFKA_ADMIN)
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{settings.controller_port}",
        # Two client listeners: TLS for the services `make up` starts (as in production), and
        # plaintext for the tests and host tools (TLS on every test connection costs CPU the
        # 2-core CI machine lacks; tests/runtime/test_local_tls.py covers the TLS one).
        "listeners": (
            f"SASL_PLAINTEXT://127.0.0.1:{settings.kafka_port},"
            f"SASL_SSL://127.0.0.1:{settings.tls_port},"
            f"CONTROLLER://127.0.0.1:{settings.controller_port}"
        ),
        "advertised.listeners": (
            f"SASL_PLAINTEXT://127.0.0.1:{settings.kafka_port},"
            f"SASL_SSL://127.0.0.1:{settings.tls_port}"
        ),
        "controller.listener.names": "CONTROLLER",
        # Every listener authenticates: clients (and the broker to itself) with SCRAM, whose
        # users live in the metadata log (created at format time); the controller listener
        # with PLAIN, since SCRAM needs the metadata the controller serves.
        "listener.security.protocol.map": (
            "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
        ),
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": SASL_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
        f"listener.name.sasl_plaintext.{SASL_MECHANISM.lower()}.sasl.jaas.config": (
            f'{scram} required username="{KAFKA_ADMIN}" password="{admin}";'
        ),
        f"listener.name.sasl_ssl.{SASL_MECHANISM.lower()}.sasl.jaas.config": f"{scram} required;",
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": str(settings.tls / "kafka.pem"),
        "listener.name.sasl_ssl.ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            f'{plain} required username="{KAFKA_ADMIN}" password="{admin}" '
            f'user_{KAFKA_ADMIN}="{admin}";'
        ),
        # Deny by default; the ACLs (mend_events.messaging.acls) let each service write only its
        # topics.
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{KAFKA_ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(data),
        "num.partitions": "3",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "log.retention.hours": "-1",
        "log.retention.bytes": "-1",
        "log.segment.bytes": "268435456",
    }
    props.touch(mode=0o600)
    props.chmod(0o600)  # it holds the administrator's password
    props.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    log4j = kdir / "log4j2.properties"
    log4j.write_text(
        "status = warn\n"
        # Rolled at 100 MB, five kept: at INFO the broker logs every topic created and deleted.
        "appender.file.type = RollingFile\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {settings.logs / 'kafka-server.log'}\n"
        f"appender.file.filePattern = {settings.logs / 'kafka-server.log'}.%i\n"
        "appender.file.policies.type = Policies\n"
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
        "appender.file.policies.size.size = 100MB\n"
        "appender.file.strategy.type = DefaultRolloverStrategy\n"
        "appender.file.strategy.max = 5\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = file\n"
    )
    return props


def java_cmd(settings: Settings, libs: Path, main: str, *args: str) -> list[str]:
    return [
        "java",
        "-Xms512m",
        "-Xmx768m",
        # Kafka's own JVM settings (kafka-run-class.sh): short G1 pauses, since a pause
        # stalls every produce and fetch in flight; a GC log to tell pauses from other stalls.
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        f"-Xlog:gc:file={settings.logs / 'kafka-gc.log'}:time,uptime:filecount=4,filesize=10M",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={settings.logs}",
        f"-Dlog4j2.configurationFile={settings.home / 'kafka' / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def kafka_ready(settings: Settings) -> bool:
    """The broker answers a metadata request, not just a TCP connect."""
    return kafka_not_ready(settings) is None


def kafka_not_ready(settings: Settings) -> str | None:
    """Why the broker does not answer the administrator yet (None: it does): the probe's last
    error line, e.g. a refused connection or refused credentials."""
    if not port_open(settings.kafka_port):
        return "its port is closed"
    probe = (
        "import asyncio,sys\n"
        "from aiokafka.admin import AIOKafkaAdminClient\n"
        "from mend_events.app.settings import kafka_options\n"
        "async def m():\n"
        f"    a=AIOKafkaAdminClient(**kafka_options('{settings.kafka_bootstrap}'),\n"
        "                          request_timeout_ms=3000)\n"
        "    await a.start()\n"
        "    try: await a.list_topics()\n"
        "    finally: await a.close()\n"
        "asyncio.run(m())\n"
    )
    env = {**os.environ, **settings.kafka_env(KAFKA_ADMIN), "PYTHONPATH": python_path()}
    env.pop("MEND_KAFKA_PASSWORD", None)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=20, env=env)
    if result.returncode == 0:
        return None
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else f"the probe exited with {result.returncode}"


def wait_for_kafka(settings: Settings, log: Path, timeout: float = 120) -> None:
    """Until the broker answers; if it never does, the error names why (the probe's answer and
    the broker's own last errors), so a broker that refuses sign-ins is told apart from one
    still replaying its log."""
    try:
        wait_for(lambda: kafka_ready(settings), "Kafka", timeout)
    except LaunchError:
        reason = kafka_not_ready(settings)
        if reason is None:
            return
        errors = last_errors(settings.logs / "kafka-server.log")
        detail = f"; the broker's last errors: {' | '.join(errors)}" if errors else ""
        raise LaunchError(
            f"Kafka did not answer within {timeout:.0f}s ({reason}); see {log}{detail}"
        ) from None


def last_errors(log: Path, count: int = 3, tail_bytes: int = 1 << 20) -> list[str]:
    """The last `count` ERROR lines (each cut to 200 characters) in the last `tail_bytes` of a
    log: only its end is read, however large the file."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - tail_bytes))
            tail = f.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    return [line[:200] for line in tail.splitlines() if " ERROR " in line][-count:]


# Kafka keeps a file handle open per log segment of every partition it holds. Kafka's
# operations guide asks for at least 100,000; many machines start processes with a soft limit
# of 1,024 under a far higher hard one. The broker gets its hard limit (raising the hard limit
# itself needs CAP_SYS_RESOURCE, which a container's root often lacks).
KAFKA_OPEN_FILES_WANTED = 1_048_576


def kafka_open_files() -> int:
    """The open-files limit the broker is started with: as many as wanted, up to the hard limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (
        KAFKA_OPEN_FILES_WANTED
        if hard == resource.RLIM_INFINITY
        else min(hard, KAFKA_OPEN_FILES_WANTED)
    )


def kafka_tls_listener(settings: Settings) -> bool:
    """The running broker was configured with the TLS listener (its server.properties)."""
    props = settings.home / "kafka" / "server.properties"
    return props.exists() and f"SASL_SSL://127.0.0.1:{settings.tls_port}" in props.read_text()


def kafka_security_current(settings: Settings) -> bool:
    marker = settings.home / "kafka" / "security"
    return marker.exists() and marker.read_text().strip() == KAFKA_SECURITY


def start_kafka(settings: Settings) -> None:
    pid_file = settings.run / "kafka.pid"
    data = settings.home / "kafka" / "data"
    stale = (data / "meta.properties").exists() and not kafka_security_current(settings)
    running = read_pid(pid_file) is not None
    if running and not stale and kafka_tls_listener(settings):
        wait_for_kafka(settings, settings.logs / "kafka.out")
        ensure_acls(settings)
        return
    if running and not stale:
        print("the Kafka broker has no TLS listener (started before the local CA): restarting it")
        stop_pid(pid_file, timeout=30)
        wait_for(lambda: not port_open(settings.kafka_port), "Kafka port release", 30)
    if stale:
        # A log formatted before authentication (or with another set-up): its users and ACLs
        # live in the metadata log, so it is formatted anew. PostgreSQL is the system of
        # record: the relays publish everything again from the start (checkpoints reset).
        print("the Kafka log predates SASL/ACLs: formatting it anew (the relays republish)")
        stop_pid(pid_file, timeout=30)
        wait_for(lambda: not port_open(settings.kafka_port), "Kafka port release", 30)
        shutil.rmtree(data)
        reset_relay_checkpoints(settings)
    ensure_port_free(settings.kafka_port, "Kafka", "MEND_KAFKA_PORT")
    ensure_port_free(settings.controller_port, "the Kafka controller", "MEND_KAFKA_CONTROLLER_PORT")
    ensure_port_free(settings.tls_port, "Kafka's TLS listener", "MEND_KAFKA_TLS_PORT")
    libs = kafka_libs(settings)
    props = kafka_config(settings)
    if not (data / "meta.properties").exists():
        # Format once per data directory, never again: a restart keeps the log. Every
        # principal's SCRAM credentials go into the metadata log now, before anyone connects.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        users = [
            f"{SASL_MECHANISM}=[name={u},password={settings.kafka_password(u)}]"
            for u in KAFKA_USERS
        ]
        run_checked(
            java_cmd(
                settings,
                libs,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
                *(arg for user in users for arg in ("--add-scram", user)),
            ),
            "kafka storage format",
        )
        (settings.home / "kafka" / "security").write_text(KAFKA_SECURITY + "\n")
        (settings.home / "kafka" / "users").write_text("".join(f"{u}\n" for u in KAFKA_USERS))
    log = settings.logs / "kafka.out"
    spawn(
        java_cmd(settings, libs, "kafka.Kafka", str(props)),
        log,
        pid_file,
        open_files=kafka_open_files(),
    )
    # A restart replays the metadata log: with many partitions that takes a while.
    wait_for_kafka(settings, log)
    ensure_acls(settings)


def python_path() -> str:
    """mend_events for the helper processes (the launcher runs before any install)."""
    own = str(ROOT / "libs" / "events")
    current = os.environ.get("PYTHONPATH")
    return f"{own}:{current}" if current else own


def ensure_acls(settings: Settings) -> None:
    """Each service writes only its own topics, reads only what it consumes (idempotent)."""
    env = {**os.environ, **settings.env(), "PYTHONPATH": python_path()}
    env.pop("MEND_KAFKA_PASSWORD", None)
    run_checked([sys.executable, "-m", "mend_events.messaging.acls"], "Kafka ACLs", env=env)


def reset_relay_checkpoints(settings: Settings) -> None:
    """After the Kafka log was formatted anew, every relay starts again from position 0."""
    if read_pid(settings.run / "postgres.pid") is None:
        return
    sql = (
        "DO $$ DECLARE s text; BEGIN FOR s IN SELECT table_schema FROM information_schema.tables "
        "WHERE table_name = 'relay_checkpoint' LOOP "
        "EXECUTE format('DELETE FROM %I.relay_checkpoint', s); END LOOP; END $$;"
    )
    env = dict(os.environ, PGPASSWORD="mend_admin")
    run_checked(
        [*psql_as_admin(settings), "-d", "mend", "-c", sql], "reset relay checkpoints", env=env
    )


def kill_kafka(settings: Settings) -> None:
    """A crash, not a shutdown: SIGKILL, for fault-injection tests."""
    pid_file = settings.run / "kafka.pid"
    pid = read_pid(pid_file)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        while read_pid(pid_file) is not None:
            time.sleep(0.05)
    # The ports may linger in the kernel for a moment after the process dies.
    for port in (settings.kafka_port, settings.tls_port):
        wait_for(lambda p=port: not port_open(p), "Kafka port release", 30)


# --- services --------------------------------------------------------------------------------


def service_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def migrate(settings: Settings) -> None:
    names = existing_services()
    if not names:
        return
    env = {**os.environ, **settings.env()}
    schemas = [*names, "audit"] if has_audit() else names
    schemas += ["web"] if has_web() else []  # the web app's browser sessions
    schemas += ["disclosure"] if has_disclosure() else []  # grants, ledger, share outbox
    schemas += ["circles"] if has_circles() else []  # circles, their consent facts
    run_checked(
        [sys.executable, "-m", "mend_events.store.migrate", *schemas], "migrations", env=env
    )
    # Every service consumes the hub's topic (its trust model): it exists before they start,
    # created here by the administrator, even before the hub service runs.
    topics = [*names, *(["hub"] if "hub" not in names else [])]
    topics += ["circles"] if has_circles() else []
    run_checked([sys.executable, "-m", "mend_events.messaging.topics", *topics], "topics", env=env)


def start_services(settings: Settings) -> None:
    base = {**os.environ, **settings.env()}
    base.pop("MEND_KAFKA_PASSWORD", None)
    for name, module in processes():
        # Each process is its own principal, on the broker's TLS listener, and verifies the
        # database's certificate too.
        env = {**base, **settings.tls_env(), **settings.kafka_env(name)}
        if name == "web":
            # Its own read-only principal (its case index reads the five topics); plain http on
            # 127.0.0.1, so the session cookie drops Secure and the __Host- prefix (refused in
            # production).
            env["MEND_WEB_INSECURE_COOKIES"] = "1"
        if kept_or_running(settings, name):
            continue
        ensure_port_free(service_port(name), f"the {name} service", f"MEND_{name.upper()}_PORT")
        command = [sys.executable, "-m", *module, "--port", str(service_port(name))]
        start_kept(settings, name, command, env)
    for name, _ in processes():
        wait_for(
            lambda n=name: service_ready(settings.service_url(n)),
            f"the {name} service",
            60,
            settings.logs / f"{name}.log",
        )


def start_kept(settings: Settings, name: str, command: list[str], env: dict[str, str]) -> int:
    """Run `command` as the process `name` under its keeper (deploy/local/keeper.py), which
    starts it again when it dies, with a back-off; returns the keeper's pid."""
    keeper = [sys.executable, str(ROOT / "deploy" / "local" / "keeper.py"), name,
              str(settings.run), "--", *command]  # fmt: skip
    return spawn(keeper, settings.logs / f"{name}.log", settings.run / f"{name}.keeper.pid", env)


def kept_or_running(settings: Settings, name: str) -> bool:
    """Whether `name` runs, or its keeper does (the service may be dead and waiting out its
    back-off: a second keeper would fight the first for its port)."""
    return any(read_pid(settings.run / f"{name}{suffix}.pid") is not None
               for suffix in ("", ".keeper"))  # fmt: skip


def stop_kept(settings: Settings, name: str) -> bool:
    """Stop the keeper first (it stops its service and starts no other), then whatever of the
    service is left (a keeper killed before it could)."""
    kept = stop_pid(settings.run / f"{name}.keeper.pid", timeout=30)
    return stop_pid(settings.run / f"{name}.pid") or kept


def restarts(settings: Settings, name: str) -> dict[str, object]:
    """What the keeper of `name` recorded: restarts, last exit, when (empty if none ran)."""
    try:
        return json.loads((settings.run / f"{name}.state").read_text())
    except (OSError, ValueError):
        return {}


# --- commands --------------------------------------------------------------------------------


def ensure_local_ca(settings: Settings) -> None:
    """A certificate authority of this machine's own and the broker's and database's
    certificates (valid for 127.0.0.1 and localhost), made once by the same script as
    docker-compose's; the database's key copied where PostgreSQL's user alone reads it."""
    if not (settings.tls / "ca.crt").exists():
        run_checked(["bash", str(ROOT / "deploy/compose/make-certs.sh"), str(settings.tls)],
                    "the local certificate authority")  # fmt: skip
        # The script leaves the keys readable for docker-compose's container users; here only
        # this user (the broker) and PostgreSQL's (its own copy, below) read them.
        for secret in ("postgres.key", "kafka.pem"):
            (settings.tls / secret).chmod(0o600)
    key = settings.home / "pg" / "server.key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(settings.tls / "postgres.key", key)
        key.chmod(0o600)
        pg_owner_chown(key)


@contextlib.contextmanager
def infra_lock(settings: Settings):
    """One starter of PostgreSQL and Kafka at a time per MEND_HOME: the test workers of one
    `make test` (pytest-xdist) and a `make up` beside them each call `up_infra`, and two at
    once would both find nothing running and both start (initdb, a broker format, the admin
    client's properties written with O_EXCL). The second waits, then finds both running.
    flock is released by the kernel when its holder dies, so a killed starter blocks no one."""
    settings.run.mkdir(parents=True, exist_ok=True)
    with open(settings.run / "infra.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up_infra(settings: Settings) -> None:
    with infra_lock(settings):
        settings.logs.mkdir(parents=True, exist_ok=True)
        ensure_local_ca(settings)
        start_postgres(settings)
        start_kafka(settings)
        # Every principal, on a broker formatted before one was added (the web app's `web`):
        # the tests (`make test` starts only this) connect as each of them.
        ensure_kafka_users(settings)


def ensure_kafka_users(settings: Settings, users: tuple[str, ...] = KAFKA_USERS) -> None:
    """SCRAM credentials for a principal added after the log was formatted (a new service,
    e.g. the hub): the administrator adds them through Kafka's own ConfigCommand. Done once per
    user; the users done are listed in `kafka/users`. The new user's password is on
    ConfigCommand's command line while it runs (its --add-config-file does not take SCRAM
    credentials): a local development broker only, and never in an error message."""
    done_file = settings.home / "kafka" / "users"
    done = set(done_file.read_text().split()) if done_file.exists() else set()
    formatted = settings.home / "kafka" / "security"
    if not done and formatted.exists():
        done = {"consent", "risk", "sessions", "aftercare", "audit", KAFKA_ADMIN}  # at format
    missing = [u for u in users if u not in done]
    if not missing:
        return
    libs = kafka_libs(settings)
    admin = settings.home / "kafka" / "admin-client.properties"
    _owner_only(
        admin,
        "security.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism={SASL_MECHANISM}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{KAFKA_ADMIN}" password="{settings.kafka_password(KAFKA_ADMIN)}";\n',
    )
    try:
        for user in missing:
            credential = f"{SASL_MECHANISM}=[password={settings.kafka_password(user)}]"
            result = subprocess.run(
                ["java", "-cp", f"{libs}/*", "kafka.admin.ConfigCommand",
                 "--bootstrap-server", settings.kafka_bootstrap, "--command-config", str(admin),
                 "--alter", "--entity-type", "users", "--entity-name", user,
                 "--add-config", credential],
                capture_output=True, text=True,
            )  # fmt: skip
            if result.returncode != 0:
                raise LaunchError(
                    f"adding the Kafka user {user} failed (ConfigCommand exit code "
                    f"{result.returncode})"
                )
            done.add(user)
            done_file.write_text("".join(f"{u}\n" for u in sorted(done)))
    finally:
        admin.unlink(missing_ok=True)


def _owner_only(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def cmd_up(settings: Settings) -> None:
    up_infra(settings)
    migrate(settings)
    start_services(settings)
    write_env(settings)
    print(f"PostgreSQL  listening on 127.0.0.1:{settings.pg_port}  (database mend; TLS)")
    print(
        f"Kafka       listening on {settings.kafka_tls_bootstrap} (TLS: the services) and "
        f"{settings.kafka_bootstrap} (tests, tools); KRaft, single node"
    )
    print(f"TLS         verified against the local CA {settings.tls / 'ca.crt'}")
    print(f"logs in {settings.logs}; `make status` prints the settings; `make down` stops it all")
    if "consent" in existing_services():
        # Each process once, with its address and its answer (the APIs' docs at /docs).
        print("smoke check (each process's /docs; the web app: sign in there):")
        env = {**os.environ, **settings.env(), "MEND_KEYS_DIR": str(settings.home / "keys")}
        result = subprocess.run([sys.executable, str(ROOT / "deploy/local/smoke.py")], env=env)
        if result.returncode != 0:
            raise LaunchError("the smoke check failed; see the lines above and the logs")
    if "hub" in existing_services():
        # The demo agency and its accounts (mend_hub.demo); its file keeps the secrets.
        env = {**os.environ, **settings.env()}
        demo = [sys.executable, str(ROOT / "deploy/local/demo_accounts.py")]
        if subprocess.run(demo, env=env).returncode != 0:
            raise LaunchError("the demo accounts could not be set up; see the line above")


def cmd_down(settings: Settings) -> None:
    for name in ["web", "disclosure", "audit", "circles", *reversed(SERVICES)]:
        if stop_kept(settings, name):
            print(f"stopped {name}")
    if stop_pid(settings.run / "kafka.pid", timeout=30):
        print("stopped Kafka")
    if stop_postgres(settings):
        print("stopped PostgreSQL")


def write_env(settings: Settings) -> None:
    (settings.home / "env").write_text("".join(f"{k}={v}\n" for k, v in settings.env().items()))


def cmd_status(settings: Settings) -> None:
    for key, value in settings.env().items():
        print(f"{key}={value}")
    states = {
        "POSTGRES": read_pid(settings.run / "postgres.pid") is not None,
        "KAFKA": read_pid(settings.run / "kafka.pid") is not None,
    }
    for name, _ in processes():
        states[name.upper()] = read_pid(settings.run / f"{name}.pid") is not None
    for key, running in states.items():
        print(f"MEND_{key}_STATE={'running' if running else 'stopped'}")
    # Which services their keeper had to start again, how often, and how the last run ended.
    for name, _ in processes():
        kept = restarts(settings, name)
        if kept.get("restarts"):
            key = name.upper()
            print(f"MEND_{key}_RESTARTS={kept['restarts']}")
            print(f"MEND_{key}_LAST_EXIT={kept['last_exit']}")
            print(f"MEND_{key}_LAST_EXIT_AT={kept['last_exit_at']}")


def main(argv: list[str]) -> int:
    settings = Settings.from_env()
    commands = {
        "up": cmd_up,
        "infra": up_infra,
        "kafka-jars": lambda s: print(f"Kafka broker jars in {kafka_libs(s)}"),
        "down": cmd_down,
        "status": cmd_status,
        "kill-kafka": kill_kafka,
        "restart-kafka": lambda s: (kill_kafka(s), start_kafka(s)),
    }
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: launcher.py {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    try:
        commands[argv[0]](settings)
    except LaunchError as exc:
        print(f"mend: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
