"""Engine :class:`~bot.types.Reply` objects rendered as LINE Messaging API messages.

What LINE limits and how we stay inside it: a text message holds 5,000 UTF-16 code units (longer
texts are split at a paragraph, line, sentence or word boundary, never inside a character); a quick
reply holds 13 items whose labels are at most 20 characters (longer titles are cut with "…" and the
whole title is still shown as the message the user sends); more than 13 buttons become a flex
message so that no choice is lost; a carousel holds 12 bubbles. Whatever cannot be rendered falls
back to text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexImage,
    FlexMessage,
    FlexText,
    ImageMessage,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
    URIAction,
)

from bot.types import Button, Card, Link, Reply
from translations.catalog import Catalog

TEXT_LIMIT = 5000
QUICK_REPLY_LIMIT = 13
LABEL_LIMIT = 20
DATA_LIMIT = 300
ALT_TEXT_LIMIT = 400  # LINE allows 1,500; notifications show far less
BUBBLE_TEXT_LIMIT = 1000
CAROUSEL_LIMIT = 12
BUTTONS_PER_BUBBLE = 7
URI_LIMIT = 1000
ELLIPSIS = "…"
_URI_SCHEMES = ("https://", "http://", "tel:", "line://")
_LINK_COLOR = "#1E6FD9"
_BOUNDARIES = ("\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "、", ", ", " ")


def utf16_len(text: str) -> int:
    """Length as LINE counts text: in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _extends(char: str) -> bool:
    """Whether ``char`` belongs to the character before it (combining marks, ZWJ, variation selectors...)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or code == 0x200D
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _is_flag_half(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def graphemes(text: str) -> list[str]:
    """User-perceived characters (an approximation of UAX #29 good enough for labels)."""
    clusters: list[str] = []
    joined = False
    for char in text:
        code = ord(char)
        flag_pair = _is_flag_half(char) and bool(clusters) and len(clusters[-1]) == 1 and _is_flag_half(clusters[-1])
        if clusters and (joined or _extends(char) or flag_pair):
            clusters[-1] += char
        else:
            clusters.append(char)
        joined = code == 0x200D
    return clusters


def fit(text: str, limit: int) -> str:
    """``text`` cut kindly to ``limit`` user-perceived characters, ending with "…" when cut."""
    clean = " ".join(text.split())
    parts = graphemes(clean)
    if len(parts) <= limit:
        return clean
    return "".join(parts[: limit - 1]).rstrip() + ELLIPSIS


def fit_utf16(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units (with "…"), never inside a character."""
    if utf16_len(text) <= limit:
        return text
    out: list[str] = []
    used = 1
    for cluster in graphemes(text):
        size = utf16_len(cluster)
        if used + size > limit:
            break
        out.append(cluster)
        used += size
    return "".join(out).rstrip() + ELLIPSIS


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 code units, split at the most natural boundary."""
    pieces: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        cut, used = 0, 0
        for char in rest:  # the longest prefix that fits
            used += utf16_len(char)
            if used > limit:
                break
            cut += 1
        while 0 < cut < len(rest) and _extends(rest[cut]):
            cut -= 1  # never separate a character from its combining marks
        floor = cut // 2
        for boundary in _BOUNDARIES:
            found = rest.rfind(boundary, floor, cut)
            if found > 0 and found + len(boundary) <= cut:
                cut = found + len(boundary)
                break
        piece = rest[:cut].rstrip()
        pieces.append(piece if piece else rest[:cut])
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _usable_uri(url: str) -> bool:
    return url.startswith(_URI_SCHEMES) and len(url) <= URI_LIMIT


def postback(button: Button) -> PostbackAction | None:
    """A postback action that sends the button's payload (and shows its title as the user's message)."""
    if not button.payload or len(button.payload) > DATA_LIMIT:
        return None
    return PostbackAction(
        label=fit(button.title, LABEL_LIMIT), data=button.payload, display_text=fit(button.title, DATA_LIMIT)
    )


def quick_reply(buttons: Sequence[Button]) -> QuickReply | None:
    """At most 13 quick-reply items; None when there is nothing to offer."""
    items = [QuickReplyItem(action=action) for action in map(postback, buttons) if action is not None]
    return QuickReply(items=items[:QUICK_REPLY_LIMIT]) if items else None


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _carousels(alt_text: str, bubbles: Sequence[FlexBubble]) -> list[FlexMessage]:
    return [
        FlexMessage(alt_text=alt_text, contents=FlexCarousel(contents=list(group)))
        for group in _chunks(bubbles, CAROUSEL_LIMIT)
    ]


def _text(text: str, **style: Any) -> FlexText:
    return FlexText(text=fit_utf16(text, BUBBLE_TEXT_LIMIT), wrap=True, **style)


def _button_bubbles(buttons: Sequence[Button]) -> list[FlexBubble]:
    bubbles = []
    actions = [action for action in map(postback, buttons) if action is not None]
    for group in _chunks(actions, BUTTONS_PER_BUBBLE):
        rows = [FlexButton(action=action, style="secondary", height="sm", margin="sm") for action in group]
        bubbles.append(FlexBubble(size="kilo", body=FlexBox(layout="vertical", contents=rows)))
    return bubbles


def _card_bubble(card: Card) -> FlexBubble:
    hero = None
    if card.image_url and card.image_url.startswith("https://") and len(card.image_url) <= 2000:
        hero = FlexImage(url=card.image_url, size="full", aspect_ratio="20:13", aspect_mode="cover")
    body = FlexBox(layout="vertical", spacing="sm", contents=[
        _text(card.title, weight="bold", size="lg"), _text(card.text, size="sm"),
    ])
    actions = [action for action in map(postback, card.buttons) if action is not None][:4]
    footer = None
    if actions:
        footer = FlexBox(layout="vertical", spacing="sm", contents=[
            FlexButton(action=action, style="link", height="sm") for action in actions
        ])
    return FlexBubble(hero=hero, body=body, footer=footer)


def _step_bubble(number: int, total: int, step: str, catalog: Catalog, language: str) -> FlexBubble:
    header = catalog.text("line.step_number", language, number=number, total=total)
    return FlexBubble(size="kilo", body=FlexBox(layout="vertical", spacing="md", contents=[
        _text(header, weight="bold", size="sm", color="#888888"), _text(step, size="md"),
    ]))


def _link_bubbles(links: Sequence[Link]) -> list[FlexBubble]:
    usable = [link for link in links if _usable_uri(link.url)]
    bubbles = []
    for group in _chunks(usable, BUTTONS_PER_BUBBLE):
        rows = [
            FlexBox(
                layout="vertical", padding_all="sm",
                action=URIAction(label=fit(link.title, LABEL_LIMIT), uri=link.url),
                contents=[_text(link.title, color=_LINK_COLOR, decoration="underline")],
            )
            for link in group
        ]
        bubbles.append(FlexBubble(size="kilo", body=FlexBox(layout="vertical", spacing="sm", contents=rows)))
    return bubbles


def render_reply(reply: Reply, catalog: Catalog, language: str) -> list[Any]:
    """One reply as LINE messages: text, image, cards, steps, links; buttons as quick replies (or flex)."""
    messages: list[Any] = [TextMessage(text=piece) for piece in split_text(reply.text)]
    alt_text = fit_utf16(" ".join(reply.text.split()) or ELLIPSIS, ALT_TEXT_LIMIT)
    if reply.image_url and reply.image_url.startswith("https://") and len(reply.image_url) <= 2000:
        messages.append(ImageMessage(original_content_url=reply.image_url, preview_image_url=reply.image_url))
    if reply.cards:
        messages.extend(_carousels(alt_text, [_card_bubble(card) for card in reply.cards]))
    if reply.steps:
        total = len(reply.steps)
        bubbles = [_step_bubble(i, total, step, catalog, language) for i, step in enumerate(reply.steps, start=1)]
        messages.extend(_carousels(alt_text, bubbles))
    link_bubbles = _link_bubbles(reply.links)
    if link_bubbles:
        messages.extend(_carousels(alt_text, link_bubbles))
    if len(reply.buttons) > QUICK_REPLY_LIMIT:
        messages.extend(_carousels(alt_text, _button_bubbles(reply.buttons)))
    elif reply.buttons and messages:
        messages[-1].quick_reply = quick_reply(reply.buttons)
    return messages


def render_replies(replies: Sequence[Reply], catalog: Catalog, language: str) -> list[Any]:
    """All replies of a turn as LINE messages, in order."""
    return [message for reply in replies for message in render_reply(reply, catalog, language)]


def render_text_only(replies: Sequence[Reply]) -> list[Any]:
    """The plain-text fallback: each reply's text, then its links as "title" and URL lines."""
    messages: list[Any] = []
    for reply in replies:
        messages.extend(TextMessage(text=piece) for piece in split_text(reply.text))
        if reply.links:
            listed = "\n\n".join(f"{link.title}\n{link.url}" for link in reply.links)
            messages.extend(TextMessage(text=piece) for piece in split_text(listed))
    return messages
