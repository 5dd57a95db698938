"""One turn of a conversation: what was understood, the state, and the replies being built.

Skills and forms receive a :class:`Turn` and add replies with :meth:`Turn.say`, which
takes catalog keys, never literal text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot.config import AppConfig
from bot.effects import Effect
from bot.payloads import make_payload
from bot.protocols import KnowledgeBase
from bot.records import SecretRequestDraft
from bot.storage.store import DialogueState, HandoffChange, HandoffDraft
from bot.topics import TopicContract
from bot.types import Button, InboundMessage, Link, Reply
from knowledge.profile import CityProfile
from nlu.types import NluResult
from translations.catalog import Catalog

if TYPE_CHECKING:
    from bot.desk.resident import ResidentDesk
    from translations.pipeline import TranslationPipeline


@dataclass(frozen=True)
class Services:
    """What skills may use; built once by the app factory."""

    config: AppConfig
    catalog: Catalog
    knowledge: KnowledgeBase
    profile: CityProfile
    contract: TopicContract
    #: The staff desk (hours, queue); None in deployments and tests without one.
    desk: ResidentDesk | None = None
    #: Machine translation for KB answers missing in the reader's language (curated text always wins).
    translator: TranslationPipeline | None = None


@dataclass
class Turn:
    """The working state of one turn."""

    message: InboundMessage
    state: DialogueState
    language: str
    understood: NluResult
    services: Services
    today: date
    replies: list[Reply] = field(default_factory=list)
    handoff: HandoffDraft | None = None
    handoff_change: HandoffChange | None = None
    conversation_id: str = ""
    #: Topic reported for this turn (may differ from the NLU's, e.g. inside a form).
    topic: str | None = None
    #: A one-time secure page the turn opened for secret slots (only its link reaches the resident).
    secret_request: SecretRequestDraft | None = None
    #: Side effects to perform once the turn is committed (see :mod:`bot.effects`).
    effects: list[Effect] = field(default_factory=list)

    @property
    def bot(self) -> str:
        """The bot answering."""
        return self.message.bot

    def text(self, key: str, **params: object) -> str:
        """Catalog text in the turn's language."""
        return self.services.catalog.text(key, self.language, **params)

    def say(
        self, key: str, *, buttons: Iterable[Button] = (), links: Iterable[Link] = (), **params: object
    ) -> None:
        """Add a reply made from catalog ``key``."""
        self.replies.append(Reply(text=self.text(key, **params), buttons=tuple(buttons), links=tuple(links)))

    def entity(self, entity_type: str) -> str | None:
        """The first entity value of ``entity_type`` the NLU (or a button) found."""
        return next((e.value for e in self.understood.entities if e.type == entity_type), None)

    def profile_value(self, key: str) -> str:
        """A city-profile value in the turn's language."""
        return self.services.profile.value(key, self.language)

    def topic_buttons(self, topics: Iterable[str]) -> tuple[Button, ...]:
        """One button per topic that has a title, payload ``/<topic>``."""
        return topic_buttons(self.services, self.bot, topics, self.language)

    def menu_buttons(self) -> tuple[Button, ...]:
        """The bot's start menu."""
        return topic_buttons(self.services, self.bot, self.services.config.bots[self.bot].menu,  # type: ignore[index]
                             self.language)

    def button(self, key: str, payload: str) -> Button:
        """A button titled with catalog ``key``."""
        return Button(self.text(key), payload)

    @staticmethod
    def link(title: str, url: str) -> Link:
        """A link with a KB-provided title."""
        return Link(title or url, url)

    @staticmethod
    def button_for(title: str, payload: str) -> Button:
        """A button whose title is not a catalog text (a language's own name, a KB title)."""
        return Button(title, payload)


def topic_title(services: Services, bot: str, topic: str, language: str) -> str | None:
    """Button title of a topic: the KB entry's title, else the catalog's ``topic.<id>``, else None."""
    title = services.knowledge.title(bot, topic, language)
    if title:
        return title
    key = f"topic.{topic}"
    return services.catalog.text(key, language) if services.catalog.has(key) else None


def topic_buttons(services: Services, bot: str, topics: Iterable[str], language: str) -> tuple[Button, ...]:
    """One button per topic that has a title, payload ``/<topic>``."""
    titled = ((topic_title(services, bot, topic, language), topic) for topic in topics)
    return tuple(Button(title, make_payload(topic)) for title, topic in titled if title)


def welcome(services: Services, bot: str, language: str) -> Reply:
    """The bot's welcome with its start menu (the greet skill and a new follower's greeting)."""
    catalog = services.catalog
    text = catalog.text("greet.welcome", language, bot_name=catalog.text(f"bot.{bot}.name", language))
    menu = services.config.bots[bot].menu  # type: ignore[index]
    return Reply(text=text, buttons=topic_buttons(services, bot, menu, language))
