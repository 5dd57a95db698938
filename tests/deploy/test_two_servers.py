"""Several API servers and a worker sharing PostgreSQL and Redis, as ``deploy/`` runs them, on loopback.

Two ``yorisoi run`` processes (A and B; a third, C, with live wake-ups off, so sockets only poll SQL)
and one ``yorisoi worker``, started together (so they also migrate the empty schema at the same time).
Residents and staff talk to whichever server, as a load balancer without stickiness would send them:

1. one conversation whose messages alternate between A and B keeps its state (a form asked on one
   server is answered on the other) and its transcript is complete and in order, also when a burst
   of its messages reaches both servers at once;
2. staff claim a handoff and write on A while the resident's widget is connected to B (or C): the
   message arrives on that socket, and the resident's answer reaches staff on A;
3. a broadcast created through A's admin API is delivered by the worker exactly once per recipient;
4. with Debian's HAProxy installed, the shipped ``deploy/haproxy.cfg`` spreads one conversation over
   both servers and carries the widget's WebSocket (skipped without HAProxy: nothing depends on it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import ClientConnection, connect

from bot.enums import DeliveryStatus, Direction, MessageStatus, NotificationKind, NotificationStatus, Role
from bot.tasks import create_task_engine
from bot.testing import Conversation, conversation_engine
from tests.deploy.cluster import (
    POSTGRES_URL,
    REDIS_URL,
    Deployment,
    Process,
    delete_redis_keys,
    free_port,
    new_deployment,
    postgres_reachable,
    postgres_schema,
    redis_reachable,
    start_haproxy,
    start_server,
    start_worker,
    stop,
    unique_name,
    wait_healthy,
    yorisoi_command,
)
from translations.catalog import Catalog

pytestmark = pytest.mark.postgres
CATALOG = Catalog.load()
STAFF_PASSWORD = "desk-password-1"
#: A form across servers: "garbage day" asks for the district, "kita" answers it.
SCRIPT = ("hello", "garbage day", "kita", "juminhyo", "garbage day", "kita")
DEADLINE = 30.0


@dataclass(frozen=True)
class Cluster:
    """The running deployment: servers A and B, server C (polling only), the worker, a staff login."""

    deployment: Deployment
    a: Process
    b: Process
    c: Process
    worker: Process
    staff_token: str

    def server(self, name: str) -> Process:
        return {"a": self.a, "b": self.b, "c": self.c}[name]


def required(service: str, reachable: bool, where: str) -> None:
    if not reachable:
        if os.environ.get("CI"):
            pytest.fail(f"{service} is required in CI but {where} is not reachable")
        pytest.skip(f"{service} not reachable at {where}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Servers A, B, C and a worker on a fresh schema and queue; everything stopped and removed afterwards."""
    required("PostgreSQL", postgres_reachable(), POSTGRES_URL)
    required("Redis", redis_reachable(), REDIS_URL)
    folder = tmp_path_factory.mktemp("deployment")
    queue = unique_name("yorisoi_deploy")
    with postgres_schema() as database_url:
        deployment = new_deployment(folder, database_url, REDIS_URL, queue)
        a, b = start_server(deployment, free_port(), folder), start_server(deployment, free_port(), folder)
        c = start_server(deployment, free_port(), folder, extra_env={"YORISOI_LIVE_WAKEUPS": "off"})
        worker = start_worker(deployment, folder)
        processes = [a, b, c, worker]
        try:
            for server in (a, b, c):
                wait_healthy(server)
            yield Cluster(deployment, a, b, c, worker, staff_login(deployment, a))
        finally:
            for process in processes:
                stop(process)
            delete_redis_keys(REDIS_URL, queue)


def staff_login(deployment: Deployment, server: Process) -> str:
    """Create a staff account once with ``yorisoi users create`` (the recipe's step), log in on ``server``."""
    created = subprocess.run(
        [*yorisoi_command(), "users", "create", "desk-a", "--role", "staff", "--language", "en",
         "--display-name", "Aoki", "--password-env", "STAFF_PASSWORD"],
        env={**deployment.environ(), "STAFF_PASSWORD": STAFF_PASSWORD}, capture_output=True, text=True, timeout=60,
        check=False)
    assert created.returncode == 0, created.stderr
    response = httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "desk-a", "password": STAFF_PASSWORD},
                          timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


# --- residents and staff over HTTP --------------------------------------------------------------------------------


def resident_id() -> str:
    """A sender id as the widget makes it (long, random: the conversation's secret)."""
    return f"resident-{uuid.uuid4().hex}"


def post(server: Process, sender: str, message: str, *, bot: str = "city_hall", lang: str = "en",
         message_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"bot": bot, "sender": sender, "text": message, "lang": lang}
    if message_id:
        body["id"] = message_id
    response = httpx.post(f"{server.url}/api/v1/messages", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def transcript(server: Process, sender: str, bot: str = "city_hall") -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/api/v1/conversations/{bot}/{sender}", timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def staff_call(cluster: Cluster, server: Process, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = httpx.request(method, f"{server.url}{path}", timeout=30,
                             headers={"Authorization": f"Bearer {cluster.staff_token}"}, **kwargs)
    assert response.status_code < 300, response.text
    return dict(response.json())


def expected_replies(script: tuple[str, ...]) -> list[list[str]]:
    """The replies one process gives to ``script`` (the in-memory engine with the same rule NLU)."""
    talk = Conversation(conversation_engine(), "city_hall", language="en")
    return [[reply.text for reply in talk.say(line)] for line in script]


def wait_for(condition: Callable[[], Any], what: str, seconds: float = DEADLINE) -> Any:
    """``condition()``'s first truthy value, polled until ``seconds`` pass (then the test fails naming ``what``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def rows(cluster: Cluster, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(cluster.deployment.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


# --- 1. one conversation, both servers ----------------------------------------------------------------------------


def test_a_conversation_alternating_between_servers_keeps_its_state_and_its_transcript(cluster: Cluster) -> None:
    sender = resident_id()
    servers = [cluster.b, cluster.a] * 3  # "garbage day" is asked on A, "kita" answered on B
    answered = [[reply["text"] for reply in post(server, sender, line)["replies"]]
                for server, line in zip(servers, SCRIPT, strict=True)]

    assert answered == expected_replies(SCRIPT)  # exactly what one process answers: the form's state moved along
    assert "Kita" in answered[2][0]
    for server in (cluster.a, cluster.b):
        messages = transcript(server, sender)
        assert [m["text"] for m in messages if m["direction"] == Direction.IN] == list(SCRIPT)
        assert all(m["status"] == MessageStatus.PROCESSED for m in messages if m["direction"] == Direction.IN)
        turns: list[list[str]] = []
        for message in messages:  # each message is followed by its own replies, in order
            if message["direction"] == Direction.IN:
                turns.append([])
            else:
                turns[-1].append(message["text"])
        assert turns == answered
    assert transcript(cluster.a, sender) == transcript(cluster.b, sender)


def test_a_burst_reaching_both_servers_at_once_is_answered_once_per_message_in_order(cluster: Cluster) -> None:
    sender = resident_id()
    greeting = post(cluster.a, sender, "hello")["replies"]
    answers: dict[str, list[dict[str, Any]]] = {}

    def send(number: int) -> None:
        server = (cluster.a, cluster.b)[number % 2]
        answers[f"burst-{number:04d}"] = post(server, sender, f"hello {number}",
                                              message_id=f"burst-{number:04d}")["replies"]

    threads = [threading.Thread(target=send, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [f"burst-{number:04d}" for number in range(8)]
    assert all(replies == greeting for replies in answers.values())  # each got its own answer
    stored = rows(cluster, "SELECT m.id, m.direction, m.reply_to, m.status FROM messages m "
                           "JOIN conversations c ON c.id = m.conversation_id WHERE c.sender = :sender ORDER BY m.id",
                  sender=sender)
    inbound = [row[0] for row in stored if row[1] == Direction.IN]
    assert len(inbound) == 9 and all(row[3] == MessageStatus.PROCESSED for row in stored if row[1] == Direction.IN)
    answered_in_order = [row[2] for row in stored if row[1] == Direction.OUT]
    assert answered_in_order == sorted(answered_in_order)  # one turn at a time, oldest message first
    assert {message_id: answered_in_order.count(message_id) for message_id in inbound} == \
        {message_id: len(greeting) for message_id in inbound}  # no message answered twice or not at all


# --- 2. staff on A, the widget on B -------------------------------------------------------------------------------


def ws_url(server: Process) -> str:
    assert server.url is not None
    return server.url.replace("http://", "ws://") + "/ws/chat"


def frames_until(socket: ClientConnection, done: Callable[[dict[str, Any]], bool], what: str) -> list[dict[str, Any]]:
    """Frames received until one satisfies ``done`` (that one included)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        received.append(frame)
        if done(frame):
            return received
    pytest.fail(f"timed out waiting for {what}; received {received}")


def pushed(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for frame in frames if frame.get("type") == "push" for message in frame["messages"]]


def talk_to_staff_over_a_widget(socket: ClientConnection, sender: str) -> None:
    """The resident's widget says hello and asks for a person; the queued notice comes back on the socket."""
    socket.send(json.dumps({"type": "hello", "bot": "city_hall", "sender": sender}))
    frames_until(socket, lambda frame: frame.get("type") == "ready", "ready")
    socket.send(json.dumps({"type": "message", "id": uuid.uuid4().hex, "bot": "city_hall", "sender": sender,
                            "text": "I want to talk to staff", "lang": "en"}))
    reply = frames_until(socket, lambda frame: frame.get("type") == "reply", "the reply")[-1]
    queued = (CATALOG.raw("handoff.queued", "en") or "").split("{")[0].strip()
    assert any(r["text"].startswith(queued) for r in reply["replies"]), reply


def staff_write_on(cluster: Cluster, server: Process, sender: str, message: str) -> int:
    """Staff on ``server`` find the resident's handoff, claim it and write ``message``; the handoff's id."""
    handoffs = staff_call(cluster, server, "GET", "/api/v1/handoffs")["handoffs"]
    [handoff_id] = [h["id"] for h in handoffs if h["sender"] == sender]
    staff_call(cluster, server, "POST", f"/api/v1/handoffs/{handoff_id}/claim")
    staff_call(cluster, server, "POST", f"/api/v1/handoffs/{handoff_id}/messages", json={"text": message})
    return int(handoff_id)


@pytest.mark.parametrize("widget_on", ["b", "c"], ids=["live-wakeups", "sql-polling"])
def test_staff_writing_on_one_server_reach_a_widget_connected_to_another(cluster: Cluster, widget_on: str) -> None:
    sender = resident_id()
    staff_text = f"Hello, this is Aoki from the city desk ({widget_on})."
    with connect(ws_url(cluster.server(widget_on)), open_timeout=10) as socket:
        talk_to_staff_over_a_widget(socket, sender)
        handoff_id = staff_write_on(cluster, cluster.a, sender, staff_text)

        frames = frames_until(socket, lambda frame: any(m["text"] == staff_text for m in pushed([frame])),
                              "the staff message on the widget's socket")
        messages = pushed(frames)
        joined = CATALOG.text("handoff.staff_joined", "en", name="Aoki")
        assert [m["text"] for m in messages] == [joined, staff_text]
        assert messages[-1]["role"] == Role.STAFF

        # And back: what the resident writes on the other server is in the room staff read on A.
        socket.send(json.dumps({"type": "message", "id": uuid.uuid4().hex, "bot": "city_hall", "sender": sender,
                                "text": "Thank you, I have a question about my tax.", "lang": "en"}))
        frames_until(socket, lambda frame: frame.get("type") == "reply", "the reply to the resident's message")
    room = staff_call(cluster, cluster.a, "GET", f"/api/v1/handoffs/{handoff_id}")
    assert "Thank you, I have a question about my tax." in json.dumps(room, ensure_ascii=False)


# --- 3. a broadcast ----------------------------------------------------------------------------------------------


def test_a_broadcast_sent_through_one_server_is_delivered_once_to_each_recipient(cluster: Cluster) -> None:
    languages = ("en", "ja", "en", "ja", "en", "ja")
    residents = [(resident_id(), language) for language in languages]
    for number, (sender, language) in enumerate(residents):  # followers of the library bot, on either server
        post((cluster.a, cluster.b)[number % 2], sender, "hello", bot="library", lang=language)
    token = uuid.uuid4().hex[:8]
    texts = {"en": f"Library closed today: water outage ({token}).", "ja": f"本日は断水のため休館します（{token}）。"}
    admin = {"Authorization": f"Bearer {cluster.deployment.admin_token}"}

    created = httpx.post(f"{cluster.a.url}/api/v1/admin/broadcasts", headers=admin, timeout=30, json={
        "bot": "library", "kind": NotificationKind.DISASTER, "audience": {"channel": "web"}, "message": texts})
    assert created.status_code == 200, created.text
    assert created.json()["recipients"] == len(residents)
    # Several delivery rounds at once (the worker's threads, as several workers would) compete for the deliveries.
    assert cluster.deployment.broker_url is not None
    tasks = create_task_engine(cluster.deployment.broker_url, cluster.deployment.queue)
    for _ in range(4):
        tasks.deliver_notifications.send()

    def finished() -> dict[str, Any] | None:
        response = httpx.get(f"{cluster.b.url}/api/v1/admin/broadcasts/{created.json()['id']}", headers=admin,
                             timeout=30)
        assert response.status_code == 200, response.text
        report = dict(response.json())
        return report if report["status"] == NotificationStatus.DONE else None

    report = wait_for(finished, f"the broadcast to be delivered (worker log: {cluster.worker.log_tail(1500)})")
    assert (report[DeliveryStatus.SENT], report[DeliveryStatus.FAILED], report[DeliveryStatus.SKIPPED],
            report["pending"]) == (len(residents), 0, 0, 0)
    for number, (sender, language) in enumerate(residents):
        server = (cluster.b, cluster.a)[number % 2]  # read on the server the resident did not write to
        response = httpx.get(f"{server.url}/api/v1/conversations/library/{sender}/updates", params={"after": 0},
                             timeout=30)
        received = [m["text"] for m in response.json()["messages"] if token in m["text"]]
        assert received == [texts[language]], (sender, language, received)


# --- 4. the shipped HAProxy configuration -------------------------------------------------------------------------


def test_haproxy_with_the_shipped_configuration_spreads_a_conversation_and_carries_websockets(
    cluster: Cluster, tmp_path: Path
) -> None:
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (apt-get install haproxy); the servers are tested without it above")
    assert cluster.a.url is not None and cluster.b.url is not None
    ports = [int(cluster.a.url.rsplit(":", 1)[1]), int(cluster.b.url.rsplit(":", 1)[1])]
    proxy = start_haproxy(ports, tmp_path)
    try:
        wait_healthy(proxy)
        posts = '"POST /api/v1/messages'
        before = (cluster.a.count(posts), cluster.b.count(posts))
        sender = resident_id()
        answered = [[reply["text"] for reply in post(proxy, sender, line)["replies"]] for line in SCRIPT]
        assert answered == expected_replies(SCRIPT)
        after = (cluster.a.count(posts), cluster.b.count(posts))
        assert after[0] > before[0] and after[1] > before[1], "the balancer sent everything to one server"

        resident = resident_id()
        staff_text = "Hello through the balancer."
        with connect(ws_url(proxy), open_timeout=10) as socket:
            talk_to_staff_over_a_widget(socket, resident)
            staff_write_on(cluster, cluster.a, resident, staff_text)
            frames_until(socket, lambda frame: any(m["text"] == staff_text for m in pushed([frame])),
                         "the staff message through HAProxy")
    finally:
        stop(proxy)
