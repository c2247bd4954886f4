"""A throw-away local PostgreSQL for tests and benches: Debian's server binaries, a private data dir
under /tmp and a private port, started as a non-root user (PostgreSQL refuses to run as root), removed
when done. ``ACTIONFLOW_TEST_PG_URL`` names a server to use instead (its user must be allowed to create
databases).

Only what the tests need: ``create_database`` gives each test its own database, copied from a template
the migrations ran on once (a copy costs tens of milliseconds; twelve migrations cost seconds).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
URL_ENV = "ACTIONFLOW_TEST_PG_URL"
SKIP_ENV = "ACTIONFLOW_TEST_PG"  # "skip": allow PostgreSQL tests to be skipped on a machine without the server
TEMPLATE = "actionflow_template"
RUN_AS = "postgres"  # the user Debian's package creates; used when we are root


class PostgresUnavailable(RuntimeError):
    """No server binaries and no ``ACTIONFLOW_TEST_PG_URL``: ``make system-deps`` installs them."""


def bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        path = shutil.which("initdb")
        if path is None:
            raise PostgresUnavailable("PostgreSQL server binaries not found: run `make system-deps` "
                                      "(apt package postgresql) or set ACTIONFLOW_TEST_PG_URL")
        return Path(path).parent
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """One server: ``start()`` (or an existing one by URL), ``create_database()`` per test, ``stop()``."""

    def __init__(self, url: str | None = None, *, durable: bool = False) -> None:
        self.external = url is not None
        self.durable = durable  # benches keep fsync on; tests need no durability across an OS crash
        self.dir: Path | None = None
        self.admin: URL = make_url(url) if url else URL.create("postgresql+asyncpg", "postgres", None, "127.0.0.1",
                                                              _free_port(), "postgres")
        self._template_ready = False

    @classmethod
    def from_env(cls, *, durable: bool = False) -> Postgres:
        return cls(os.environ.get(URL_ENV) or None, durable=durable)

    # ---- server life -------------------------------------------------------------------------
    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return args
        return ["runuser", "-u", RUN_AS, "--", *args]

    def start(self) -> Postgres:
        if self.external:
            self.psql("SELECT 1")
            return self
        bins = bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="actionflow-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(RUN_AS)
            except KeyError:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise PostgresUnavailable(f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as "
                                          "(Debian's postgresql package creates it)") from None
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        data = self.dir / "data"
        subprocess.run(self._as_owner([str(bins / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                       "-E", "UTF8", "--locale=C", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        opts = [f"-p {self.admin.port}", "-c listen_addresses=127.0.0.1", f"-k {self.dir}",
                "-c max_connections=300", "-c shared_buffers=128MB"]
        if not self.durable:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        done = subprocess.run(self._as_owner([str(bins / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"),
                                              "-o", " ".join(opts), "-w", "-t", "60", "start"]),
                              capture_output=True, text=True, timeout=90)
        if done.returncode != 0:
            log = (self.dir / "log").read_text(errors="replace") if (self.dir / "log").exists() else ""
            self.stop()
            raise PostgresUnavailable(f"PostgreSQL did not start: {done.stderr.strip()} {log[-2000:]}")
        return self

    def stop(self) -> None:
        if self.external or self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(self._as_owner([str(bin_dir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                           "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> Postgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- databases ---------------------------------------------------------------------------
    def psql(self, sql: str, database: str | None = None) -> str:
        """Run one statement as the admin user (CREATE/DROP DATABASE cannot run inside a transaction)."""
        a = self.admin
        env = {**os.environ, "PGPASSWORD": a.password or ""} if a.password else dict(os.environ)
        psql = shutil.which("psql") or str(bin_dir() / "psql")
        done = subprocess.run([psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", a.host or "127.0.0.1",
                               "-p", str(a.port or 5432), "-U", a.username or "postgres", "-d",
                               database or a.database or "postgres", "-c", sql],
                              capture_output=True, text=True, timeout=120, env=env)
        if done.returncode != 0:
            raise PostgresUnavailable(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def url(self, database: str) -> str:
        return self.admin.set(database=database).render_as_string(hide_password=False)

    def create_database(self, *, migrated: bool = True) -> str:
        """A new, empty database (``migrated``: at the newest Alembic revision); returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        if migrated:
            self._ensure_template()
            self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        else:
            self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _ensure_template(self) -> None:
        if self._template_ready:
            return
        self.psql(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{TEMPLATE}" TEMPLATE template0')
        code = ("import asyncio, sys\nfrom storage.db import Database\n"
                "async def go():\n    db = Database(sys.argv[1])\n    await db.migrate()\n    await db.close()\n"
                "asyncio.run(go())\n")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, "-c", code, self.url(TEMPLATE)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"migrations failed on PostgreSQL:\n{done.stderr[-4000:]}")
        self._template_ready = True
