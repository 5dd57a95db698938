"""Replies rendered within LINE's limits: text length, quick replies, carousels, links, images."""

from __future__ import annotations

from typing import Any

from bot.types import Button, Card, Link, Reply
from connectors.line.render import (
    LABEL_LIMIT,
    QUICK_REPLY_LIMIT,
    TEXT_LIMIT,
    fit,
    graphemes,
    quick_reply,
    render_replies,
    render_reply,
    render_text_only,
    split_text,
    utf16_len,
)
from translations.catalog import Catalog

CATALOG = Catalog.load()


def as_dicts(messages: list[Any]) -> list[dict[str, Any]]:
    return [message.to_dict() for message in messages]


def test_text_over_5000_characters_is_split_at_natural_boundaries_without_losing_anything() -> None:
    paragraph = "住民票は市役所の窓口で受け取れます。マイナンバーカードがあればコンビニでも取得できます。🍎\n"
    text = paragraph * 300  # about 14,000 UTF-16 code units
    pieces = split_text(text)
    assert len(pieces) >= 3
    assert all(utf16_len(piece) <= TEXT_LIMIT for piece in pieces)
    assert all(piece.endswith("🍎") for piece in pieces)  # cut between lines, never inside the emoji
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    messages = as_dicts(render_reply(Reply(text=text), CATALOG, "ja"))
    assert [m["text"] for m in messages] == pieces


def test_text_without_any_boundary_is_still_cut_within_the_limit_and_not_inside_a_surrogate_pair() -> None:
    text = "😀" * 3000  # 6,000 code units, no spaces
    pieces = split_text(text)
    assert all(utf16_len(piece) <= TEXT_LIMIT for piece in pieces)
    assert "".join(pieces) == text


def test_quick_replies_are_at_most_13_with_labels_of_at_most_20_characters() -> None:
    buttons = [Button(f"Application for certificate number {i}", f"/topic_{i}") for i in range(13)]
    items = quick_reply(buttons).to_dict()["items"]  # type: ignore[union-attr]
    assert len(items) == QUICK_REPLY_LIMIT
    action = items[0]["action"]
    assert len(graphemes(action["label"])) <= LABEL_LIMIT and action["label"].endswith("…")
    assert action["displayText"] == "Application for certificate number 0"  # the whole title is what the user "says"
    assert action["data"] == "/topic_0"


def test_labels_are_cut_by_user_perceived_characters() -> None:
    thai = "ใบรับรองถิ่นที่อยู่ของผู้อยู่อาศัยในเมือง"  # combining vowels and tone marks
    label = fit(thai, LABEL_LIMIT)
    assert len(graphemes(label)) == LABEL_LIMIT and label.endswith("…")
    assert fit("ごみの日", LABEL_LIMIT) == "ごみの日"
    assert graphemes("👨‍👩‍👧🇯🇵") == ["👨‍👩‍👧", "🇯🇵"]


def test_steps_become_a_carousel_with_one_numbered_bubble_per_step() -> None:
    reply = Reply(text="Using the kiosk:", steps=("Tap the screen.", "Choose your language.", "Scan your card."))
    text, flex = as_dicts(render_reply(reply, CATALOG, "en"))
    assert text["text"] == "Using the kiosk:"
    bubbles = flex["contents"]["contents"]
    assert len(bubbles) == 3
    header, body = bubbles[1]["body"]["contents"]
    assert header["text"] == CATALOG.text("line.step_number", "en", number=2, total=3)
    assert body["text"] == "Choose your language."


def test_cards_become_a_flex_carousel_with_postback_buttons() -> None:
    cards = tuple(
        Card(f"Library {i}", "Open 9:00-19:00", image_url="https://example.org/lib.jpg",
             buttons=(Button("Hours", "/library_hours"),))
        for i in range(14)
    )
    messages = as_dicts(render_reply(Reply(text="Libraries", cards=cards), CATALOG, "en"))
    carousels = [m for m in messages if m["type"] == "flex"]
    assert [len(m["contents"]["contents"]) for m in carousels] == [12, 2]
    bubble = carousels[0]["contents"]["contents"][0]
    assert bubble["hero"]["url"] == "https://example.org/lib.jpg"
    assert bubble["footer"]["contents"][0]["action"] == {
        "type": "postback", "label": "Hours", "data": "/library_hours", "displayText": "Hours"}


def test_links_become_tappable_rows_and_images_image_messages_with_quick_replies_last() -> None:
    reply = Reply(
        text="See the city website.",
        links=(Link("Resident certificate (online application)", "https://example.org/juminhyo"),
               Link("Not a web address", "javascript:alert(1)")),
        image_url="https://example.org/map.png",
        buttons=(Button("Start over", "/restart"),),
    )
    messages = as_dicts(render_reply(reply, CATALOG, "en"))
    assert [m["type"] for m in messages] == ["text", "image", "flex"]
    rows = messages[2]["contents"]["contents"][0]["body"]["contents"]
    assert len(rows) == 1
    assert rows[0]["action"]["uri"] == "https://example.org/juminhyo"
    assert rows[0]["contents"][0]["text"] == "Resident certificate (online application)"  # the whole title is shown
    assert "quickReply" in messages[-1] and all("quickReply" not in m for m in messages[:-1])


def test_the_text_fallback_keeps_text_and_links() -> None:
    replies = [Reply(text="Hello", links=(Link("Site", "https://example.org"),), cards=(Card("c", "t"),))]
    messages = as_dicts(render_text_only(replies))
    assert [m["text"] for m in messages] == ["Hello", "Site\nhttps://example.org"]
    assert len(render_replies(replies, CATALOG, "en")) == 3
