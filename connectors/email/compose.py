"""The e-mails: a notice (plain text and simple HTML, in the resident's language) and the confirmation.

Every notice e-mail is addressed to one resident and carries their own unsubscribe link, in the footer and
in the ``List-Unsubscribe`` header with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058: a
mail client's "unsubscribe" button works without opening a page). Its ``Message-ID`` is derived from the
batch's key and the resident, so a batch sent again produces the very same message (receivers and mail
clients recognise the repeat). All texts come from the catalogs.
"""

from __future__ import annotations

import html
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import quote

from bot.types import BulkBatch, Reply, RouteContact
from connectors.catalogs import CatalogSource
from connectors.email.settings import EmailSettings

#: Namespace of the Message-IDs (one per batch and resident, one per confirmation link).
_MESSAGE_NAMESPACE = uuid.UUID("6f1d2c3b-8a47-4e0f-b3c5-2d9e7a41c6b8")
#: Stands for the link while a footer is HTML-escaped.
_LINK = "\x00link\x00"


def message_id(seed: str, domain: str) -> str:
    """A Message-ID that is the same for the same ``seed`` (``<batch key>:<conversation id>``)."""
    return f"<{uuid.uuid5(_MESSAGE_NAMESPACE, seed)}@{domain}>"


class Composer:
    """Builds the e-mails of one deployment (links under ``public_url``, texts from ``catalog()``)."""

    def __init__(self, settings: EmailSettings, catalog: CatalogSource, public_url: str) -> None:
        self._settings = settings
        self._catalog = catalog
        self._base = public_url.rstrip("/")

    def unsubscribe_url(self, contact: RouteContact, language: str) -> str:
        """The resident's unsubscribe page (and one-click target), in ``language``."""
        return f"{self._base}/email/unsubscribe/{quote(contact.token)}?lang={quote(language)}"

    def confirm_url(self, contact: RouteContact) -> str:
        """The page that confirms the address."""
        return f"{self._base}/email/confirm/{quote(contact.token)}"

    def notice(self, batch: BulkBatch, contact: RouteContact) -> EmailMessage:
        """The notice of ``batch`` for one resident, in the batch's language (the notice was rendered in it)."""
        catalog = self._catalog()
        language = batch.language
        bot_name = catalog.text(f"bot.{batch.bot}.name", language)
        link = self.unsubscribe_url(contact, language)
        body = _notice_text(batch.reply, catalog.text("email.notice.machine_translated", language))
        footer = catalog.text("email.notice.footer", language, bot_name=bot_name, link=_LINK)
        message = self._message(contact.address, catalog.text("email.notice.subject", language, bot_name=bot_name),
                                language, message_id(f"{batch.key}:{contact.conversation_id}", self._domain))
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(f"{body}\n\n-- \n{footer.replace(_LINK, link)}\n")
        message.add_alternative(_html(language, body, footer, link), subtype="html")
        message["Content-Language"] = language  # after the parts: making them moves Content-* headers down
        return message

    def confirmation(self, contact: RouteContact) -> EmailMessage:
        """The e-mail whose link confirms ``contact``'s address (in the language the resident gave it in)."""
        catalog = self._catalog()
        language = contact.language or catalog.languages[0]
        bot_name = catalog.text(f"bot.{contact.bot}.name", language)
        link = self.confirm_url(contact)
        body = catalog.text("email.confirm.body", language, bot_name=bot_name, link=_LINK)
        message = self._message(contact.address, catalog.text("email.confirm.subject", language, bot_name=bot_name),
                                language, message_id(f"confirm:{contact.token}", self._domain))
        message.set_content(body.replace(_LINK, link) + "\n")
        message.add_alternative(_html(language, body, "", link), subtype="html")
        message["Content-Language"] = language
        return message

    @property
    def _domain(self) -> str:
        return self._settings.sender.domain or "yorisoi.invalid"

    def _message(self, to: str, subject: str, language: str, identifier: str) -> EmailMessage:
        local, _, domain = to.rpartition("@")
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = Address(username=local, domain=domain)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = identifier
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a notice
        return message


def _notice_text(reply: Reply, machine_note: str) -> str:
    """The notice as plain text: its text, links, and for a machine translation the note and the original."""
    parts = [reply.text.strip()]
    parts.extend(f"{link.title}: {link.url}" for link in reply.links)
    if reply.machine_translated and reply.original:
        parts.append(f"{machine_note}\n{reply.original.strip()}")
    return "\n\n".join(parts)


def _html(language: str, body: str, footer: str, link: str) -> str:
    """A simple HTML part: the paragraphs of ``body``, then ``footer`` with ``link`` as an anchor (escaped)."""
    paragraphs = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in body.split("\n\n"))
    anchor = f'<a href="{html.escape(link)}" style="word-break:break-all">{html.escape(link)}</a>'
    paragraphs = paragraphs.replace(html.escape(_LINK), anchor)
    closing = ""
    if footer:
        text = html.escape(footer).replace(html.escape(_LINK), anchor).replace("\n", "<br>")
        closing = f'<hr><p style="font-size:0.85em;color:#555555">{text}</p>'
    return (f'<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8"></head>'
            f'<body style="font-family:sans-serif;line-height:1.6;max-width:40em">{paragraphs}{closing}</body></html>')
