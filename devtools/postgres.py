"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary folder, start
it on a free loopback port, drop it all on exit.

It uses the server binaries of Debian's `postgresql` package (/usr/lib/postgresql/<version>/bin),
or those on PATH, or the folder in CRS_PG_BIN. PostgreSQL refuses to run as root: started by root,
the cluster runs as the `postgres` system user the Debian package creates (through `runuser`), in
a folder that user owns. Connections use trust authentication on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BIN = Path("/usr/lib/postgresql")
RUN_AS = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no user to run them as)."""


@dataclass(frozen=True)
class Cluster:
    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{RUN_AS}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh empty database in this cluster; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    @contextlib.contextmanager
    def gone_away(self, url: str) -> Iterator[None]:
        """The database at `url` stops answering (its connections cut, no new one let in), as
        in an outage, and answers again afterwards; the rest of the cluster is untouched."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            try:
                yield
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def server_bin() -> Path:
    configured = os.environ.get("CRS_PG_BIN")
    if configured:
        return Path(configured)
    versions = sorted(
        (p for p in DEBIAN_BIN.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable("no initdb: install Debian's postgresql package")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError as exc:
        raise PostgresUnavailable(f"running as root and there is no {RUN_AS!r} user") from exc
    return ["runuser", "-u", RUN_AS, "--", *command]


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """`durable`: flush to disk on commit as a real server does (benchmarks); tests skip it."""
    bin_dir = server_bin()
    root = Path(tempfile.mkdtemp(prefix="crs-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        entry = pwd.getpwnam(RUN_AS)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run(
            _as_server_user([str(bin_dir / args[0]), *args[1:]]),
            check=True,
            capture_output=True,
            cwd=root,
        )

    try:
        run("initdb", "-D", str(data), "-U", RUN_AS, "--auth=trust", "-E", "UTF8", "--no-sync")
        # Room for the many short-lived pools a test run opens.
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not durable:
            options += " -c fsync=off"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        try:
            yield Cluster(port, root)
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
