"""The ticket's QR code: a signed URL that opens the chat with the notice filled in."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from bot.storage import models
from services.queue.tests.conftest import OPEN, QueueApp
from services.queue.tickets import TicketLinks, derive_key


def test_signatures_bind_office_number_and_day() -> None:
    links = TicketLinks(derive_key(b"deployment key"))
    day = date(2026, 12, 2)
    signature = links.signature("north", 245, day)
    assert links.valid("north", 245, "2026-12-02", signature)
    assert not links.valid("north", 246, "2026-12-02", signature)
    assert not links.valid("south", 245, "2026-12-02", signature)
    assert not links.valid("north", 245, "2026-12-03", signature)
    assert not links.valid("north", 245, "not-a-day", signature)
    assert not TicketLinks(derive_key(b"another key")).valid("north", 245, "2026-12-02", signature)
    assert links.url("north", 245, day) == f"/q/north/245?d=2026-12-02&s={signature}"


def _conversations(app: QueueApp) -> int:
    with app.parts.store.sessions() as session:
        return int(session.execute(select(func.count()).select_from(models.Conversation)).scalar_one())


def test_scanning_the_code_opens_the_chat_with_the_notice_set(queue_app: QueueApp) -> None:
    queue_app.issue("north", "resident_records", *range(240, 246))
    url = queue_app.post("north", type="issued", ticket=246, service="resident_records").json()["qr_url"]
    page = queue_app.client.get(url + "&lang=en")
    assert page.status_code == 200
    assert "North Ward Office, ticket No. 246" in page.text and "Notify me in the chat" in page.text
    assert _conversations(queue_app) == 0  # opening the page (a link preview, say) changes nothing

    query = parse_qs(urlsplit(url).query)
    started = queue_app.client.post(urlsplit(url).path, data={"d": query["d"][0], "s": query["s"][0], "lang": "en"},
                                    follow_redirects=False)
    assert started.status_code == 303
    target = urlsplit(started.headers["location"])
    params = parse_qs(target.query)
    assert target.path == "/" and params["bot"] == ["city_hall"] and params["lang"] == ["en"]
    sender = params["resume"][0]
    transcript = queue_app.client.get(f"/api/v1/conversations/city_hall/{sender}").json()["messages"]
    said = "\n".join(str(message.get("text")) for message in transcript)
    assert "when 3 or fewer people are ahead of No. 246 at North Ward Office" in said
    assert "Right now 6 people are ahead of you" in said

    queue_app.deliver()
    for ticket in (240, 241, 242):
        queue_app.call("north", "resident_records", ticket)
    queue_app.deliver()
    updates = queue_app.client.get(f"/api/v1/conversations/city_hall/{sender}/updates",
                                   params={"after": 0, "channel": "web"}).json()["messages"]
    assert any("Your number 246 at North Ward Office is coming up" in str(m.get("text")) for m in updates)


def test_wrong_and_old_codes_are_refused(queue_app: QueueApp) -> None:
    links = queue_app.runtime.links
    today = OPEN.date()
    assert queue_app.client.get(f"/q/north/245?d={today}&s=forged").status_code == 404
    other = links.url("south", 245, today).replace("/q/south/", "/q/north/")
    assert queue_app.client.get(other).status_code == 404
    yesterday = queue_app.client.get(links.url("north", 245, today - timedelta(days=1)))
    assert yesterday.status_code == 410 and "another day" in yesterday.text.replace("別の日", "another day")
    assert queue_app.client.post("/q/north/245", data={"d": str(today), "s": "forged"}).status_code == 404
    assert _conversations(queue_app) == 0


@pytest.mark.parametrize("queue_section", [{"line_account_id": "@yorisoi-city"}])
def test_the_page_offers_line_when_an_account_is_configured(queue_app: QueueApp) -> None:
    url = queue_app.runtime.links.url("north", 7, OPEN.date())
    page = queue_app.client.get(url + "&lang=ja").text
    assert "LINEで受け取る" in page
    assert "https://line.me/R/oaMessage/%40yorisoi-city/?%2Fsubscribe_queue_notice" in page
