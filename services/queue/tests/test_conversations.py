"""Residents asking the bot about the queues, and the notices that reach them when their number is near."""

from __future__ import annotations

from datetime import timedelta

from services.queue.tests.conftest import OPEN, QueueApp, texts


def _records_queue(app: QueueApp, first: int = 240, last: int = 245) -> None:
    """Tickets ``first``..``last`` waiting at the North Ward Office's resident-records window, a pace of calls."""
    app.issue("north", "resident_records", *range(first - 4, last + 1), minutes=1)
    for ticket in range(first - 4, first):  # earlier tickets called every 4 minutes: the window's pace
        app.call("north", "resident_records", ticket)
        app.clock.moment += timedelta(minutes=4)


def test_the_bot_asks_which_office_then_answers_live(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    talk = queue_app.chat()
    talk.say("What is the waiting time now?")
    titles = [button.title for button in talk.buttons]
    assert titles == ["North Ward Office", "South Ward Office", "East Ward Office", "West Ward Office"]
    queue_app.clock.moment += timedelta(seconds=5)
    answer = texts(talk.press("North Ward Office"))
    assert "North Ward Office" in answer
    assert "Resident records (certificates, moving): 6 waiting, now calling No. 239, about" in answer
    assert "Notify me when my number is near" in [b.title for b in talk.buttons]


def test_an_office_named_in_the_message_is_answered_in_the_residents_language(queue_app: QueueApp) -> None:
    queue_app.issue("east", "tax", 1, 2, 3)
    talk = queue_app.chat()
    assert "East Ward Office" in texts(talk.say("is the East Ward office crowded?"))
    japanese = queue_app.chat()
    answer = texts(japanese.say("東区役所は混んでる？"))
    assert "東区役所" in answer and "3人待ち" in answer


def test_closed_offices_give_their_hours_and_silent_ones_say_so(queue_app: QueueApp) -> None:
    talk = queue_app.chat()
    assert "is not available right now" in texts(talk.say("is the North Ward office crowded?"))
    queue_app.clock.moment = OPEN.replace(hour=18)
    assert "closed now. Opening hours: weekdays 8:30-17:15" in texts(talk.say("is the North Ward office crowded?"))


def test_a_kiosk_answers_for_the_office_it_stands_in(queue_app: QueueApp) -> None:
    queue_app.issue("south", "welfare", 1, 2)
    kiosk = queue_app.chat(channel="kiosk")
    answer = texts(kiosk.say("Is it crowded?", metadata={"kiosk_location": "south-ward-1f"}))
    assert "South Ward Office" in answer and "2 waiting" in answer


def test_a_resident_gets_told_when_three_are_ahead_and_when_called(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    talk = queue_app.chat()
    talk.say("Please notify me when my number is near")
    talk.press("North Ward Office")
    assert "number on your ticket" in texts(talk.replies)
    confirmation = texts(talk.say("２４５"))  # full-width digits
    assert "when 3 or fewer people are ahead of No. 245 at North Ward Office" in confirmation
    assert "Right now 5 people are ahead of you (about" in confirmation
    queue_app.deliver()  # the subscription is stored by the effect

    queue_app.call("north", "resident_records", 240)
    queue_app.deliver()
    assert talk.notices() == []  # 4 ahead: not yet
    queue_app.call("north", "resident_records", 241)
    queue_app.deliver()
    near = texts(talk.notices())
    assert near == ("Your number 245 at North Ward Office is coming up: 3 people ahead of you. "
                    "Please head back to the window.")
    for ticket in (242, 243, 244):
        queue_app.call("north", "resident_records", ticket)
    queue_app.deliver()
    assert talk.notices() == []  # told once
    queue_app.call("north", "resident_records", 245, counter="4")
    queue_app.deliver()
    assert texts(talk.notices()) == ("Your number 245 at North Ward Office is being called now. "
                                     "Please go to counter 4.")


def test_kanji_ticket_numbers_and_japanese_notices(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    talk = queue_app.chat()
    assert "番号札" in texts(talk.say("北区役所で番号が近づいたら知らせて"))  # the office is in the message
    assert "245番" in texts(talk.say("二百四十五番です"))
    queue_app.deliver()
    for ticket in (240, 241):
        queue_app.call("north", "resident_records", ticket)
    queue_app.deliver()
    assert texts(talk.notices()) == "北区役所の245番がまもなくです。前はあと3人です。窓口の近くにお戻りください。"


def test_one_message_with_office_and_number_and_a_ticket_already_near(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    for ticket in (240, 241, 242):
        queue_app.call("north", "resident_records", ticket)
    talk = queue_app.chat()
    answer = texts(talk.say("notify me for number 244 at the North Ward office"))
    assert "Only 1 people are ahead of No. 244" in answer
    queue_app.deliver()
    queue_app.call("north", "resident_records", 243)
    queue_app.deliver()
    assert talk.notices() == []  # the chat already said it is near: no second "near" notice
    queue_app.call("north", "resident_records", 244, counter="2")
    queue_app.deliver()
    assert "counter 2" in texts(talk.notices())


def test_a_resident_can_cancel_and_hears_nothing_more(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    talk = queue_app.chat()
    talk.say("notify me for number 245 at the North Ward office")
    queue_app.deliver()
    assert "notice for No. 245 is cancelled" in texts(talk.press("Cancel my notice"))
    queue_app.deliver()
    for ticket in range(240, 246):
        queue_app.call("north", "resident_records", ticket)
    queue_app.deliver()
    assert talk.notices() == []
    assert "no notices set" in texts(talk.say("/subscribe_queue_notice{\"action\":\"cancel\"}"))


def test_notices_stop_at_closing_time(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    talk = queue_app.chat()
    talk.say("notify me for number 245 at the North Ward office")
    queue_app.deliver()
    queue_app.clock.moment = OPEN.replace(hour=17, minute=20)  # closed at 17:15: the subscription expired
    for ticket in range(240, 246):
        queue_app.call("north", "resident_records", ticket)
    queue_app.deliver()
    assert talk.notices() == []


def test_a_number_already_called_is_not_subscribed(queue_app: QueueApp) -> None:
    _records_queue(queue_app)
    talk = queue_app.chat()
    assert "has already been called" in texts(talk.say("notify me for number 237 at the North Ward office"))
    queue_app.deliver()
    assert talk.conversation_id is not None
    assert queue_app.runtime.board.subscriptions_of(talk.conversation_id, queue_app.clock()) == []


def test_the_kiosk_screen_sends_where_it_stands(queue_app: QueueApp) -> None:
    queue_app.issue("west", "welfare", 1, 2, 3)
    session = queue_app.client.post("/kiosk/api/session", json={"bot": "city_hall", "lang": "en"}).json()
    answer = queue_app.client.post("/kiosk/api/message", json={
        "bot": "city_hall", "sender": session["sender"], "lang": "en", "text": "Is it crowded here?",
        "location": "west-ward-1f"}).json()
    shown = " ".join(str(reply) for reply in answer["replies"])
    assert "West Ward Office" in shown and "3 waiting" in shown
