"""What the kiosk shows: replies as HTML (with furigana for Japanese), guides split into steps, the QR code."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

import segno

from translations.catalog import Catalog
from translations.furigana import to_ruby_html
from translations.languages import base_language

_STEP = re.compile(r"^\s*(\d{1,2})[.．)）]\s*(.+)$")
#: Catalog keys of the kiosk screen.
KIOSK_KEYS = (
    "kiosk.topics_heading", "kiosk.next", "kiosk.back", "kiosk.step_of", "kiosk.home", "kiosk.call_helper",
    "kiosk.helper_coming", "kiosk.qr_caption", "kiosk.qr_alt", "kiosk.idle_warning", "kiosk.continue",
    "kiosk.finish", "kiosk.language_label", "kiosk.more_languages", "kiosk.ask_label", "kiosk.ask_send",
    "kiosk.waiting", "kiosk.links_heading", "kiosk.error",
    # Messages from city staff and interpreters (the widget's texts).
    "widget.speaker_staff", "widget.speaker_interpreter", "widget.machine_translated", "widget.show_original",
    "widget.hide_original", "widget.original_label",
)
#: Keys whose text goes into attributes or is filled in by the script: plain text, never ruby.
PLAIN_KEYS = frozenset({"kiosk.qr_alt", "kiosk.step_of", "kiosk.idle_warning"})


def wants_furigana(language: str | None) -> bool:
    """Japanese and easy Japanese get readings over their kanji."""
    return base_language(language or "") == "ja"


def text_html(text: str, language: str | None) -> str:
    """``text`` as HTML: ruby over kanji for Japanese, escaped otherwise; line breaks kept."""
    if not text:
        return ""
    if wants_furigana(language):
        # Screen readers read the kanji themselves; the readings are for the eyes.
        return to_ruby_html(text).replace("<rt>", '<rt aria-hidden="true">')
    return html.escape(text).replace("\n", "<br>")


def guide_sections(text: str, steps: Iterable[str]) -> tuple[list[str], list[list[str]], list[str]]:
    """Split a reply's text into the lines before its steps, each step (with its continuation lines), and after.

    A line "2. iPhone: ..." followed by "Android: ..." is one step: the unnumbered line
    belongs to the step above it. Lines after the last step are the closing notes.
    """
    wanted = [step.strip() for step in steps]
    intro: list[str] = []
    found: list[list[str]] = []
    outro: list[str] = []
    for line in text.splitlines():
        match = _STEP.match(line)
        if match and len(found) < len(wanted) and match.group(2).strip() == wanted[len(found)]:
            found.append([match.group(2).strip()])
        elif not found:
            intro.append(line)
        elif len(found) < len(wanted):
            found[-1].append(line)
        else:
            outro.append(line)
    if len(found) != len(wanted):  # the text does not contain the steps as lines: show them as given
        return [line for line in text.splitlines()], [[step] for step in wanted], []
    return intro, found, outro


def render_reply(reply: Mapping[str, Any], language: str | None) -> dict[str, Any]:
    """One reply (``Reply.to_dict()``) ready for the kiosk screen."""
    text = str(reply.get("text", ""))
    steps = [str(step) for step in reply.get("steps", []) or []]
    rendered: dict[str, Any] = {"text": text}
    if len(steps) >= 2:
        intro, found, outro = guide_sections(text, steps)
        rendered["html"] = text_html("\n".join(intro).strip(), language)
        rendered["steps_html"] = [text_html("\n".join(lines).strip(), language) for lines in found]
        rendered["outro_html"] = text_html("\n".join(outro).strip(), language)
    else:
        rendered["html"] = text_html(text, language)
    rendered["buttons"] = [_button(b, language) for b in reply.get("buttons", []) or []]
    rendered["links"] = [
        {"title": str(link.get("title", "")), "url": str(link.get("url", ""))} for link in reply.get("links", []) or []
    ]
    rendered["cards"] = [
        {
            "title_html": text_html(str(card.get("title", "")), language),
            "html": text_html(str(card.get("text", "")), language),
            "buttons": [_button(b, language) for b in card.get("buttons", []) or []],
        }
        for card in reply.get("cards", []) or []
    ]
    return rendered


def _button(button: Mapping[str, Any], language: str | None) -> dict[str, str]:
    title = str(button.get("title", ""))
    return {"title": title, "html": text_html(title, language), "payload": str(button.get("payload", ""))}


def ui_html(catalog: Catalog, language: str, bots: Iterable[str]) -> dict[str, str]:
    """The kiosk's UI strings as HTML (ruby for Japanese; plain text for attributes and templates)."""
    strings: dict[str, str] = {}
    for key in (*KIOSK_KEYS, *(f"bot.{bot}.name" for bot in bots)):
        text = catalog.text(key, language)
        strings[key] = html.escape(text) if key in PLAIN_KEYS else text_html(text, language)
    return strings


def resume_url(base_url: str, bot: str, sender: str) -> str:
    """The widget's demo page that continues this conversation on the resident's own phone."""
    return f"{base_url.rstrip('/')}/?{urlencode({'bot': bot, 'resume': sender})}"


def qr_data_uri(url: str) -> str:
    """An SVG QR code of ``url`` as a data URI (black on white, with the quiet zone scanners need)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=4, dark="#000", light="#fff"))
