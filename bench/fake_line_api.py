"""A fast local stand-in for LINE's multicast endpoint, for ``bench/bench_broadcast.py`` (run as a process).

``python bench/fake_line_api.py --port P --token T --rate R [--errors 0.03] [--lost 0.02] [--seed 1]``
serves ``POST /v2/bot/message/multicast`` on aiohttp (one event loop: checking and accepting a retry
key happens without an await in between, so two calls with the same key cannot both be accepted):

* at most ``--rate`` requests per second are admitted (a token bucket holding one second's worth, as
  LINE counts requests per channel); beyond that 429 with ``Retry-After`` (seconds until a token is free);
* an ``X-Line-Retry-Key`` accepted before is answered 409 and nothing is sent again;
* of the other admitted requests, a share ``--errors`` is answered 500 without sending anything, and
  a share ``--lost`` is sent but answered 500 (the answer lost on the way back: the retry must not resend);
* everything else is accepted: each recipient's count goes up by one.

``GET /__stats`` returns the counts: requests by outcome and, per recipient, how many notices reached them.
``connectors/line/tests/fake_line.py`` is the fake the tests use (a threaded server recording every call);
this one records only counts, so 100,000 recipients stay cheap.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import uuid
from collections import Counter

from aiohttp import web

MULTICAST = "/v2/bot/message/multicast"
STATS = "/__stats"


class TokenBucket:
    """``rate`` requests per second, at most ``rate`` at once (one second's worth)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._at = time.monotonic()

    def take(self) -> float | None:
        """Take a token: None when taken, else the seconds until one is free."""
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate


class FakeMulticast:
    """The state of the fake: who received how many notices, and what every request was answered."""

    def __init__(self, token: str, rate: float, errors: float, lost: float, seed: int) -> None:
        self.token = token
        self.bucket = TokenBucket(rate)
        self.errors = errors
        self.lost = lost
        self.random = random.Random(seed)
        self.reached: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.accepted: dict[str, str] = {}  # retry key -> request id
        self.first_accepted: float | None = None
        self.last_accepted: float | None = None

    async def multicast(self, request: web.Request) -> web.Response:
        """One multicast call, answered as described in the module docstring."""
        if request.headers.get("authorization", "").removeprefix("Bearer ") != self.token:
            self.outcomes["401"] += 1
            return web.json_response({"message": "Authentication failed"}, status=401)
        body = await request.read()
        # No await from here on: the retry key is checked and accepted atomically.
        free_in = self.bucket.take()
        if free_in is not None:
            self.outcomes["429"] += 1
            return web.json_response({"message": "Too many requests"}, status=429,
                                     headers={"retry-after": str(max(1, math.ceil(free_in)))})
        key = request.headers.get("x-line-retry-key", "")
        if key and key in self.accepted:
            self.outcomes["409"] += 1
            return web.json_response({"message": "The retry key is already accepted"}, status=409,
                                     headers={"x-line-accepted-request-id": self.accepted[key]})
        draw = self.random.random()
        if draw < self.errors:
            self.outcomes["500"] += 1
            return web.json_response({"message": "An error occurred"}, status=500)
        recipients = json.loads(body)["to"]
        request_id = str(uuid.uuid4())
        if key:
            self.accepted[key] = request_id
        self.reached.update(recipients)
        now = time.time()
        self.first_accepted = self.first_accepted or now
        self.last_accepted = now
        if draw < self.errors + self.lost:
            self.outcomes["500 lost"] += 1
            return web.json_response({"message": "An error occurred"}, status=500)
        self.outcomes["200"] += 1
        return web.json_response({"sentMessages": [{"id": request_id, "quoteToken": "x"}]},
                                 headers={"x-line-request-id": request_id})

    async def stats(self, _request: web.Request) -> web.Response:
        """The counts so far (see the module docstring)."""
        return web.json_response({"outcomes": dict(self.outcomes), "reached": dict(self.reached),
                                  "recipients_reached": sum(self.reached.values()),
                                  "first_accepted": self.first_accepted, "last_accepted": self.last_accepted})

    async def progress(self, _request: web.Request) -> web.Response:
        """How many notices were sent so far (cheap: no per-recipient counts)."""
        return web.json_response({"outcomes": dict(self.outcomes), "recipients_reached": sum(self.reached.values())})


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second admitted")
    parser.add_argument("--errors", type=float, default=0.0, help="share answered 500, nothing sent")
    parser.add_argument("--lost", type=float, default=0.0, help="share sent but answered 500")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    fake = FakeMulticast(args.token, args.rate, args.errors, args.lost, args.seed)
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post(MULTICAST, fake.multicast)
    app.router.add_get(STATS, fake.stats)
    app.router.add_get("/__progress", fake.progress)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda *_: print("fake LINE ready", flush=True),
                access_log=None)


if __name__ == "__main__":
    main()
