"""kill -9 of a server in the middle of a burst: after a restart every stored message is answered
(or failed with an apology), none twice."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(database_url: str, port: int, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "tests.core.rule_server", database_url, str(port),
                                str(data_dir)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not start")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def message_rows(database_url: str) -> tuple[list[tuple[int, str]], dict[int, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            inbound = [(row[0], row[1]) for row in connection.execute(
                text("SELECT id, status FROM messages WHERE direction = 'in' ORDER BY id"))]
            replies = {row[0]: row[1] for row in connection.execute(
                text("SELECT reply_to, count(*) FROM messages WHERE direction = 'out' GROUP BY reply_to"))}
    finally:
        engine.dispose()
    return inbound, replies


def test_a_killed_server_leaves_nothing_unanswered_and_nothing_answered_twice(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    sender = "crash-burst-sender-01"
    with server(database_url, port, tmp_path / "var") as process:
        def send(number: int) -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server may be killed under this request
                httpx.post(f"http://127.0.0.1:{port}/api/v1/messages", timeout=30, json={
                    "bot": "city_hall", "sender": sender, "text": f"hello {number}", "lang": "en",
                    "id": f"burst-message-{number:04d}"})

        threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(message_rows(database_url)[0]) < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # the burst is stored; most turns (0.2 s each) have not run
        process.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=30)
    inbound, replies = message_rows(database_url)
    assert 0 < len(inbound) <= 16
    assert any(status == "received" for _id, status in inbound), "the kill came too late to test recovery"

    with server(database_url, port, tmp_path / "var"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            inbound, replies = message_rows(database_url)
            if all(status != "received" for _id, status in inbound):
                break
            time.sleep(0.5)
    assert all(status in ("processed", "failed") for _id, status in inbound), inbound
    assert {message_id: replies.get(message_id, 0) for message_id, _status in inbound} == \
        {message_id: 1 for message_id, _status in inbound}
