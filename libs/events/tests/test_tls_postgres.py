"""`MEND_DATABASE_TLS` against a real PostgreSQL with TLS on (a throwaway cluster of this
machine's server, its certificate from a throwaway CA): the pool's and the single connections'
context connects and the session is encrypted; a server whose certificate names another host,
or comes from another CA, is refused (verify-full, not just encryption)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mend_events.app.db import connect, create_pool
from mend_testkit.tls import make_ca, make_leaf

# One cluster for the module (its fixture): its tests on one worker of a parallel run, not
# a cluster started by each.
pytestmark = pytest.mark.xdist_group("tls-postgres")


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(found[0] if found else shutil.which("initdb") or "initdb").parent


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse root: the launcher runs them as `postgres` the same way.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[int, Path]]:
    """(port, directory of ca.pem and other-ca.pem): a TLS-only cluster on 127.0.0.1."""
    base = Path(tempfile.mkdtemp(prefix="mend-tls-pg-"))
    certs = base / "certs"
    certs.mkdir()
    ours = make_ca(certs, "ca")
    make_ca(certs, "other-ca")
    make_leaf(certs, "server", ours, ("localhost",))
    if os.geteuid() == 0:  # the server's own files, owned by the user it runs as
        owner = pwd.getpwnam("postgres")
        for path in (base, certs, *certs.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    (certs / "server.key").chmod(0o600)
    data = base / "data"
    subprocess.run(
        _as_postgres([str(_bin() / "initdb"), "-D", str(data), "-U", "mend_tls", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    # TLS only: a plaintext connection is refused by pg_hba, so a connect that works is TLS.
    (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 trust\n")
    port = _free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "ssl": "on",
        "ssl_cert_file": certs / "server.crt",
        "ssl_key_file": certs / "server.key",
        "fsync": "off",
    }
    options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
    command = [str(_bin() / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base)]
    server = subprocess.Popen(
        _as_postgres([*command, *options]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            not (data / "postmaster.pid").exists()
            or subprocess.run(
                [str(_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"]
            ).returncode
        ):
            assert server.poll() is None and time.monotonic() < deadline, "no TLS PostgreSQL"
            time.sleep(0.2)
        yield port, certs
    finally:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)  # the server this fixture started: fast shutdown
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def _tls(monkeypatch: pytest.MonkeyPatch, ca: Path) -> None:
    monkeypatch.setenv("MEND_DATABASE_TLS", "true")
    monkeypatch.setenv("MEND_DATABASE_CA_FILE", str(ca))


async def test_verify_full_connects_and_encrypts(tls_postgres, monkeypatch):
    port, certs = tls_postgres
    _tls(monkeypatch, certs / "ca.pem")
    conn = await connect(f"postgresql://mend_tls@localhost:{port}/postgres")
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
    pool = await create_pool(f"postgresql://mend_tls@localhost:{port}/postgres", min_size=1)
    try:
        assert await pool.fetchval("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await pool.close()


async def test_another_host_name_or_another_ca_is_refused(tls_postgres, monkeypatch):
    port, certs = tls_postgres
    _tls(monkeypatch, certs / "ca.pem")
    with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|match"):
        await connect(f"postgresql://mend_tls@127.0.0.1:{port}/postgres")  # cert: localhost
    _tls(monkeypatch, certs / "other-ca.pem")
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(f"postgresql://mend_tls@localhost:{port}/postgres")
