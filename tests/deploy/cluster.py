"""Several Yorisoi processes on loopback, as ``deploy/`` runs them: API servers, a task worker and HAProxy.

Every process of a :class:`Deployment` shares the PostgreSQL schema, the broker and its queue name,
``YORISOI_SECRET_KEY``, ``YORISOI_ADMIN_TOKEN`` and a configuration file; each API server is
``yorisoi run --port P`` with the rule NLU (:mod:`tests.deploy.rule_run`), the worker is the real
``yorisoi worker``. Used by ``tests/deploy/test_two_servers.py`` and ``bench/bench_servers.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("YORISOI_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("YORISOI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HAPROXY_TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
#: Environment variables of the developer's shell that must not leak into a test deployment.
_NOT_INHERITED = ("YORISOI_ADMIN_PASSWORD", "YORISOI_DATABASE_URL", "YORISOI_BROKER_URL", "YORISOI_TASK_QUEUE",
                  "YORISOI_REDIS_URL", "YORISOI_CONFIG", "YORISOI_DATA_DIR", "YORISOI_SECRET_KEY")


class ClusterError(RuntimeError):
    """A process of the deployment did not start; the message ends with its log."""


@dataclass(frozen=True)
class Deployment:
    """What every process of one deployment shares."""

    database_url: str
    broker_url: str | None
    queue: str
    config_path: Path
    data_dir: Path
    admin_token: str
    secret_key: str

    def environ(self) -> dict[str, str]:
        """The environment of each process (``deploy/yorisoi.env.example`` names the same variables)."""
        env = {name: value for name, value in os.environ.items() if name not in _NOT_INHERITED}
        env.update({
            "YORISOI_CONFIG": str(self.config_path), "YORISOI_DATABASE_URL": self.database_url,
            "YORISOI_DATA_DIR": str(self.data_dir), "YORISOI_TASK_QUEUE": self.queue,
            "YORISOI_SECRET_KEY": self.secret_key, "YORISOI_ADMIN_TOKEN": self.admin_token,
            "YORISOI_DESK_ALWAYS_OPEN": "true", "YORISOI_LOG_LEVEL": "INFO", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT),
        })
        if self.broker_url:
            env["YORISOI_BROKER_URL"] = self.broker_url
        return env


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unique_name(prefix: str) -> str:
    """A schema, queue or sender name nobody else uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def postgres_reachable(url: str = POSTGRES_URL) -> bool:
    """Whether the PostgreSQL server answers."""
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def redis_reachable(url: str = REDIS_URL) -> bool:
    """Whether Redis answers."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


@contextmanager
def postgres_schema(base_url: str = POSTGRES_URL) -> Iterator[str]:
    """A database URL whose tables live in a new schema of their own, dropped on leaving."""
    schema = unique_name("yorisoi_deploy")
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def delete_redis_keys(url: str, prefix: str) -> None:
    """Delete every Redis key under ``prefix:`` (the task queue's namespace)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def write_config(path: Path, *, sweep_after_seconds: float = 4.0) -> Path:
    """The repository's ``config.yml`` for a test deployment: no KB retrieval index (it would load the
    encoder), the worker's housekeeping every ``sweep_after_seconds / 2``."""
    data = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    data.setdefault("knowledge", {})["retrieval"] = False
    data.setdefault("dialogue", {})["sweep_after_seconds"] = sweep_after_seconds
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def new_deployment(folder: Path, database_url: str, broker_url: str | None, queue: str) -> Deployment:
    """A deployment in ``folder`` (configuration, data directory) with fresh shared keys."""
    folder.mkdir(parents=True, exist_ok=True)
    return Deployment(database_url=database_url, broker_url=broker_url, queue=queue,
                      config_path=write_config(folder / "config.yml"), data_dir=folder / "var",
                      admin_token=uuid.uuid4().hex, secret_key=Fernet.generate_key().decode("ascii"))


@dataclass
class Process:
    """A started process, its log file and (for a server) its base URL."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the process's output (for failure messages)."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def count(self, needle: str) -> int:
        """How often ``needle`` occurs in the process's output so far (e.g. access-log lines)."""
        try:
            return self.log.read_text(errors="replace").count(needle)
        except OSError:
            return 0


def _bounded(command: Sequence[str], seconds: int) -> list[str]:
    """``command`` stopped by coreutils' timeout even if the test process dies first."""
    if shutil.which("timeout"):
        return ["timeout", "-k", "10", str(seconds), *command]
    return list(command)


def start(name: str, command: Sequence[str], env: dict[str, str], log: Path, *, seconds: int = 300) -> Process:
    """Start ``command`` in its own process group, its output into ``log``."""
    with log.open("wb") as output:
        popen = subprocess.Popen(_bounded(command, seconds), cwd=ROOT, env=env, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name, popen, log)


def yorisoi_command() -> list[str]:
    """The installed ``yorisoi`` script of this interpreter's environment."""
    script = Path(sys.executable).with_name("yorisoi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def start_server(deployment: Deployment, port: int, folder: Path, *, seconds: int = 300,
                 extra_env: dict[str, str] | None = None) -> Process:
    """``yorisoi run --port PORT`` (with the rule NLU) on 127.0.0.1; ``extra_env`` for this server only."""
    process = start(f"api:{port}", [sys.executable, "-m", "tests.deploy.rule_run", "run", "--port", str(port)],
                    {**deployment.environ(), **(extra_env or {})}, folder / f"api-{port}.log", seconds=seconds)
    process.url = f"http://127.0.0.1:{port}"
    return process


def start_worker(deployment: Deployment, folder: Path, *, threads: int = 4, seconds: int = 300) -> Process:
    """``yorisoi worker`` (one Dramatiq process with ``threads`` threads and the scheduler)."""
    return start("worker", [*yorisoi_command(), "worker", "--threads", str(threads)], deployment.environ(),
                 folder / "worker.log", seconds=seconds)


@contextmanager
def running_worker(env: dict[str, str], log: Path, *, threads: int = 2, seconds: int = 180) -> Iterator[Process]:
    """``yorisoi worker`` with ``env`` while the block runs, then stopped (:func:`stop`)."""
    process = start("worker", [*yorisoi_command(), "worker", "--threads", str(threads)], env, log, seconds=seconds)
    try:
        yield process
    finally:
        stop(process)


def wait_healthy(process: Process, timeout: float = 90.0) -> None:
    """Wait until the server answers ``/health`` (ClusterError with its log if it dies or never does)."""
    assert process.url is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise ClusterError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"{process.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise ClusterError(f"{process.name} did not answer /health within {timeout:.0f} s:\n{process.log_tail()}")


def wait_for_output(process: Process, needle: str, timeout: float = 60.0) -> None:
    """Wait until the process has printed ``needle`` (ClusterError with its log if it dies or never does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise ClusterError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
        if process.count(needle):
            return
        time.sleep(0.2)
    raise ClusterError(f"{process.name} did not print {needle!r} within {timeout:.0f} s:\n{process.log_tail()}")


def stop(process: Process, timeout: float = 20.0) -> None:
    """SIGTERM to the process group (a graceful stop, as systemd does), then SIGKILL."""
    if process.popen.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGTERM)
    try:
        process.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)


# --- HAProxy -------------------------------------------------------------------------------------------------------

_SECTION = re.compile(r"^(global|defaults|frontend|backend|listen)\b")


def haproxy_config(bind_port: int, server_ports: Sequence[int], template: Path = HAPROXY_TEMPLATE) -> str:
    """``deploy/haproxy.cfg`` for loopback: the same defaults, frontend and backend, but listening on
    127.0.0.1:``bind_port`` in front of ``server_ports``, without the global section's system paths
    (log socket, chroot, user, admin socket), so it runs in a test without root."""
    sections: list[list[str]] = []
    for line in template.read_text(encoding="utf-8").splitlines():
        if _SECTION.match(line) or not sections:
            sections.append([])
        sections[-1].append(line)
    rendered: list[str] = ["global", "    maxconn 4096", ""]
    for section in sections:
        head = section[0]
        if head.startswith("global"):
            continue
        body = [line for line in section[1:] if not re.match(r"\s+(bind|server)\s", line)]
        if head.startswith("frontend"):
            body.insert(0, f"    bind 127.0.0.1:{bind_port}")
        servers = [line for line in section[1:] if re.match(r"\s+server\s", line)]
        if servers:
            options = servers[0].split(None, 3)[3] if len(servers[0].split(None, 3)) > 3 else ""
            body += [f"    server api{number} 127.0.0.1:{port} {options}".rstrip()
                     for number, port in enumerate(server_ports, start=1)]
        rendered += [head, *body]
    return "\n".join(rendered) + "\n"


def start_haproxy(server_ports: Sequence[int], folder: Path, *, seconds: int = 300) -> Process:
    """HAProxy (Debian's package) with :func:`haproxy_config` on a free port; checked with ``haproxy -c`` first."""
    binary = shutil.which("haproxy")
    if binary is None:
        raise ClusterError("haproxy is not installed (apt-get install haproxy)")
    port = free_port()
    config = folder / "haproxy.cfg"
    config.write_text(haproxy_config(port, server_ports), encoding="utf-8")
    checked = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise ClusterError(f"haproxy -c rejected the configuration:\n{checked.stdout}{checked.stderr}")
    process = start("haproxy", [binary, "-db", "-f", str(config)], dict(os.environ), folder / "haproxy.log",
                    seconds=seconds)
    process.url = f"http://127.0.0.1:{port}"
    return process
