"""Throwaway real servers for the tests: each on a free port in its own temp dir, stopped after.

Never touches the services a machine may already run on the standard ports.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class ServerStartError(RuntimeError):
    """A throwaway server did not come up; the message carries the tail of its log."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    """Poll predicate until it is true or fail with the server log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.05)
    tail = ""
    if log and log.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise ServerStartError(f"{what} did not become ready within {timeout}s\n{tail}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a process group started with start_new_session=True, then kill it if needed."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


# --------------------------------------------------------------------------------------- Redis
@dataclass
class RedisServer:
    """A redis-server process. `password` set means requirepass (the default user's password)."""

    port: int
    workdir: Path
    password: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.workdir / "redis.log"

    def client(self, db: int = 0, **kwargs):
        import redis

        return redis.Redis(host=self.host, port=self.port, db=db, password=self.password, **kwargs)

    def start(self, extra_args: list[str] | None = None) -> RedisServer:
        cmd = [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--logfile",
            str(self.log),
            "--daemonize",
            "no",
        ]
        if self.password:
            cmd += ["--requirepass", self.password]
        cmd += extra_args or []
        self.proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.client().ping(), 15, f"redis-server on port {self.port}", self.log)
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)

    def kill(self) -> None:
        """Kill -9: the server dies at once, as a crashed production node would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def redis_server(password: str | None = None, extra_args: list[str] | None = None) -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="stratum-redis-") as tmp:
        server = RedisServer(port=free_port(), workdir=Path(tmp), password=password)
        server.start(extra_args)
        try:
            yield server
        finally:
            server.stop()


# ---------------------------------------------------------------------------------- PostgreSQL
def postgres_bindir() -> Path:
    """Where initdb and pg_ctl live (Debian keeps them off PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise ServerStartError("PostgreSQL is not installed: no initdb (apt-get install postgresql)")
    return Path(candidates[-1]).parent


@dataclass
class PostgresServer:
    """A PostgreSQL cluster made with initdb; superuser `postgres` with a password over TCP."""

    port: int
    workdir: Path
    password: str = "pg-test-secret-Xq81"
    user: str = "postgres"
    host: str = "127.0.0.1"
    database: str = "postgres"
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    @property
    def log(self) -> Path:
        return self.workdir / "postgres.log"

    @property
    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={self.database}"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def login_args(self) -> dict:
        """The stratum.ops.postgres connection options for this server."""
        return {
            "login_host": self.host,
            "login_port": self.port,
            "login_user": self.user,
            "login_password": self.password,
            "login_db": self.database,
        }

    def connect(self, dbname: str | None = None, user: str | None = None, password: str | None = None, **kw):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=user or self.user,
            password=password if password is not None else self.password,
            dbname=dbname or self.database,
            **kw,
        )

    def _as_owner(self, cmd: list[str]) -> list[str]:
        # initdb refuses to run as root; run the server as the `postgres` system user instead.
        if os.geteuid() == 0:
            return ["runuser", "-u", self._os_user(), "--", *cmd]
        return cmd

    @staticmethod
    def _os_user() -> str:
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return name
        raise ServerStartError("running as root and no 'postgres' system user to run PostgreSQL as")

    def start(self, settings: dict[str, str] | None = None) -> PostgresServer:
        bindir = postgres_bindir()
        if os.geteuid() == 0:
            owner = pwd.getpwnam(self._os_user())
            os.chown(self.workdir, owner.pw_uid, owner.pw_gid)
        self.workdir.chmod(0o700)
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            self._as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    self.user,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        pwfile.unlink()
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.workdir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "shared_buffers": "64MB",
            "logging_collector": "off",
        }
        conf.update(settings or {})
        with open(self.datadir / "postgresql.conf", "a") as fh:
            for key, value in conf.items():
                fh.write(f"{key} = {value}\n")
        self.proc = subprocess.Popen(
            self._as_owner([str(bindir / "postgres"), "-D", str(self.datadir)]),
            start_new_session=True,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the server process owns it
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise ServerStartError(f"postgres exited: {self.log.read_text(errors='replace')[-2000:]}")
            self.connect().close()
            return True

        wait_for(ready, 30, f"PostgreSQL on port {self.port}", self.log)
        return self

    def stop(self) -> None:
        # SIGINT is PostgreSQL's fast shutdown: disconnect clients, stop cleanly.
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                stop_process(self.proc)


@contextlib.contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    tmp = tempfile.mkdtemp(prefix="stratum-pg-")
    server = PostgresServer(port=free_port(), workdir=Path(tmp))
    try:
        server.start(settings)
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------ RabbitMQ
def rabbitmq_server_script() -> str | None:
    """The node start script itself; Debian's /usr/sbin wrapper switches user and drops our environment."""
    for path in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server")):
        if path and os.path.exists(path):
            return path
    return None


def rabbitmq_installed() -> bool:
    return rabbitmq_server_script() is not None


@dataclass
class RabbitMQServer:
    """A RabbitMQ node of its own: own node name, ports, epmd, cookie and data dir."""

    port: int
    workdir: Path
    user: str = "stratum"
    password: str = "rabbit-test-secret-Zk27"
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.workdir),  # own .erlang.cookie
            RABBITMQ_NODENAME=f"stratum-test-{self.port}@localhost",
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_MNESIA_BASE=str(self.workdir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.workdir / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.workdir / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.workdir / "rabbitmq"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.workdir / "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=str(self.workdir / "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=str(self.workdir / "rabbit.pid"),
        )
        return env

    def start(self) -> RabbitMQServer:
        self.dist_port = free_port()
        self.epmd_port = free_port()
        (self.workdir / "enabled_plugins").write_text("[].\n")
        (self.workdir / "rabbitmq.conf").write_text(
            "loopback_users = none\n"
            f"default_user = {self.user}\n"
            f"default_pass = {self.password}\n"
            "disk_free_limit.absolute = 1MB\n"
        )
        (self.workdir / "rabbitmq-env.conf").write_text("")
        self.proc = subprocess.Popen(
            [rabbitmq_server_script()],
            stdin=subprocess.DEVNULL,
            env=self._env(),
            start_new_session=True,
            stdout=open(self.workdir / "stdout.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise ServerStartError("rabbitmq-server exited: " + (self.workdir / "stdout.log").read_text()[-2000:])
            import kombu

            with kombu.Connection(self.url, connect_timeout=1) as conn:
                conn.connect()
            return True

        wait_for(ready, 90, f"RabbitMQ on port {self.port}", self.workdir / "stdout.log")
        return self

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, timeout=30)
        stop_epmd(self.epmd_port)


def stop_epmd(port: int) -> None:
    """The node's own epmd daemon outlives the node; stop it so nothing is left behind."""
    epmd = shutil.which("epmd") or next(iter(glob.glob("/usr/lib/erlang/erts-*/bin/epmd")), None)
    if epmd:
        subprocess.run([epmd, "-kill"], env=dict(os.environ, ERL_EPMD_PORT=str(port)), check=False, capture_output=True)


@contextlib.contextmanager
def rabbitmq_server() -> Iterator[RabbitMQServer]:
    with tempfile.TemporaryDirectory(prefix="stratum-rabbit-") as tmp:
        server = RabbitMQServer(port=free_port(), workdir=Path(tmp))
        try:
            server.start()
            yield server
        finally:
            server.stop()


# -------------------------------------------------------------------------------------- Celery
@dataclass
class CeleryWorker:
    """A real `celery worker` process for tests/harness/celery_app.py."""

    name: str
    broker_url: str
    queues: list[str]
    workdir: Path
    concurrency: int = 1
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def hostname(self) -> str:
        return f"{self.name}@stratum-test"

    def start(self, wait: bool = True) -> CeleryWorker:
        env = dict(os.environ, CELERY_BROKER_URL=self.broker_url, PYTHONPATH=str(REPO / "tests" / "harness"))
        log = self.workdir / f"{self.name}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_app",
                "worker",
                "-n",
                self.hostname,
                "-Q",
                ",".join(self.queues),
                "-c",
                str(self.concurrency),
                "--pool",
                "threads",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            env=env,
            start_new_session=True,
            stdout=open(log, "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        if wait:
            wait_for(self.ping, 60, f"celery worker {self.hostname}", log)
        return self

    def ping(self) -> bool:
        from celery import Celery

        app = Celery(broker=self.broker_url)
        try:
            replies = app.control.ping(destination=[self.hostname], timeout=0.5)
            return any(self.hostname in reply for reply in replies)
        finally:
            app.close()

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc, timeout=15)


# --------------------------------------------------------------------------------- moto server
@dataclass
class MotoServer:
    """moto's HTTP server: AWS as boto3 (and amazon.aws) see it, on its own port."""

    port: int
    workdir: Path
    region: str = "us-east-1"
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Dummy credentials and the endpoint, as a user would export them."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing-secret",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def module_args(self) -> dict:
        """amazon.aws connection options for this server."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key": "testing",
            "secret_key": "testing-secret",
        }

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing-secret",
        )

    def start(self) -> MotoServer:
        log = self.workdir / "moto.log"
        moto_bin = Path(sys.executable).parent / "moto_server"
        self.proc = subprocess.Popen(
            [str(moto_bin), "-H", "127.0.0.1", "-p", str(self.port)],
            start_new_session=True,
            stdout=open(log, "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            env=dict(os.environ, **self.env),
        )
        wait_for(lambda: port_open(self.port), 30, f"moto server on port {self.port}", log)
        return self

    def reset(self) -> None:
        """Forget every resource (moto's own reset endpoint)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"), timeout=10)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


@contextlib.contextmanager
def moto_server() -> Iterator[MotoServer]:
    with tempfile.TemporaryDirectory(prefix="stratum-moto-") as tmp:
        server = MotoServer(port=free_port(), workdir=Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()
