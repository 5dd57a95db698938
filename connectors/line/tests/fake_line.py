"""A local stand-in for LINE's Messaging API: records every request the real SDK sends.

Reply tokens starting with ``expired-`` are refused like a spent token; ``plain-only-`` tokens
refuse anything but text messages (as LINE refuses an invalid flex message).

Pushes and multicasts honour ``X-Line-Retry-Key`` as LINE does: a key accepted once is answered 409 and nothing
is sent again (:attr:`FakeLine.delivered` counts what reached the user per key). ``push_errors``
makes the next pushes fail (e.g. ``[500, 500]``: LINE down for two calls; ``[429]`` with
``push_error_headers={"retry-after": "1"}``); ``lost_answers`` accepts the next pushes but answers
500, as when LINE's answer is lost on the way back. Multicasts share those settings;
:attr:`FakeLine.reached` counts what each user received by multicast.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENT = {"sentMessages": [{"id": "1", "quoteToken": "x"}]}
PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class FakeLine:
    """The fake server; ``base`` is its URL once started."""

    tokens: set[str] = field(default_factory=set)
    languages: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    rich_menus: dict[str, str] = field(default_factory=dict)  # id -> name
    #: Statuses the next pushes are answered with (nothing is sent), first first.
    push_errors: list[int] = field(default_factory=list)
    #: Headers of those answers (e.g. ``retry-after``).
    push_error_headers: dict[str, str] = field(default_factory=dict)
    #: How many of the next pushes are sent but answered 500 (the answer is lost).
    lost_answers: int = 0
    #: Pushes that reached the user, per retry key ("" for pushes without one).
    delivered: dict[str, int] = field(default_factory=dict)
    #: Multicast messages that reached each user.
    reached: Counter[str] = field(default_factory=Counter)
    base: str = ""
    _accepted: dict[str, str] = field(default_factory=dict)  # retry key -> request id
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                call = Call(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:  # one request at a time: retry keys are checked and accepted atomically
                    fake.calls.append(call)
                    status, answer, headers = fake.respond(call)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def respond(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        """Status, body and headers of the answer to ``call``."""
        if call.path in (PUSH, MULTICAST) and self._authorized(call):
            return self._push(call)
        status, answer = self.answer(call)
        return status, answer, {}

    def _authorized(self, call: Call) -> bool:
        return call.headers.get("authorization", "").removeprefix("Bearer ") in self.tokens

    def _push(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        """A push as LINE handles it: a retry key accepted before → 409, nothing sent twice."""
        key = call.headers.get("x-line-retry-key", "")
        if key and key in self._accepted:
            return 409, {"message": "The retry key is already accepted", "sentMessages": SENT["sentMessages"]}, \
                {"x-line-accepted-request-id": self._accepted[key]}
        if self.push_errors:
            status = self.push_errors.pop(0)
            message = "Too many requests" if status == 429 else "An error occurred" if status >= 500 else \
                "The request body has 1 error(s)"
            return status, {"message": message}, dict(self.push_error_headers)
        request_id = str(uuid.uuid4())
        if key:
            self._accepted[key] = request_id
        self.delivered[key] = self.delivered.get(key, 0) + 1
        if call.path == MULTICAST:
            self.reached.update(call.json["to"])
        if self.lost_answers > 0:
            self.lost_answers -= 1
            return 500, {"message": "An error occurred"}, {}
        return 200, SENT, {"x-line-request-id": request_id}

    def answer(self, call: Call) -> tuple[int, Any]:
        """Status and body of the answer to any call but an authorized push."""
        if not self._authorized(call):
            return 401, {"message": "Authentication failed. Confirm that the access token is valid."}
        path, method = call.path, call.method
        if path == "/v2/bot/message/reply":
            token = call.json["replyToken"]
            if token.startswith("expired-"):
                return 400, {"message": "Invalid reply token"}
            if token.startswith("plain-only-") and any(m["type"] != "text" for m in call.json["messages"]):
                return 400, {"message": "A message (messages[1]) in the request body is invalid",
                             "details": [{"message": "invalid property", "property": "/contents"}]}
            return 200, SENT
        if path.startswith("/v2/bot/profile/"):
            user = path.rsplit("/", 1)[1]
            return 200, {"displayName": "Resident", "userId": user, "language": self.languages.get(user, "en")}
        if path == "/v2/bot/chat/loading/start":
            return 202, {}
        if path == "/v2/bot/richmenu" and method == "POST":
            menu_id = f"richmenu-{len(self.rich_menus) + 1:032d}"
            self.rich_menus[menu_id] = call.json["name"]
            return 200, {"richMenuId": menu_id}
        if path == "/v2/bot/richmenu/list":
            return 200, {"richmenus": [
                {"richMenuId": menu_id, "name": name, "size": {"width": 2500, "height": 843}, "selected": True,
                 "chatBarText": "Menu", "areas": []}
                for menu_id, name in self.rich_menus.items()
            ]}
        if path.startswith("/v2/bot/richmenu/") and method == "DELETE":
            self.rich_menus.pop(path.rsplit("/", 1)[1], None)
            return 200, {}
        if path.startswith("/v2/bot/richmenu/") and path.endswith("/content"):
            return 200, {}
        if path.startswith("/v2/bot/user/all/richmenu/"):
            return 200, {}
        return 404, {"message": "Not found"}

    def to(self, path: str) -> list[Call]:
        """Calls made to ``path`` (without a query)."""
        return [call for call in self.calls if call.path.split("?")[0] == path]
