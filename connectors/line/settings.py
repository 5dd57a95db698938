"""Settings of the LINE channel: one LINE official account (channel) per bot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_API_BASE = "https://api.line.me"
DEFAULT_DATA_API_BASE = "https://api-data.line.me"


@dataclass(frozen=True)
class LineChannel:
    """The credentials of one LINE official account (Messaging API channel)."""

    secret: str
    access_token: str

    def __repr__(self) -> str:  # never print credentials in logs or tracebacks
        return "LineChannel(secret=***, access_token=***)"


@dataclass(frozen=True)
class LineSettings:
    """What the LINE connector needs; bots without a channel are not served on LINE.

    ``reply_deadline_seconds``: when processing took this long, the reply token is assumed to have
    expired and the answer is pushed instead. ``loading_after_seconds``: when processing is still
    running after this long, LINE's loading animation is shown (``<= 0`` shows it at once).
    """

    api_base: str = DEFAULT_API_BASE
    channels: Mapping[str, LineChannel] = field(default_factory=dict)
    reply_deadline_seconds: float = 20.0
    loading_after_seconds: float = 2.0
    #: Host of the blob endpoints (rich menu images); LINE serves them from a second host.
    data_api_base: str = DEFAULT_DATA_API_BASE

    def channel(self, bot: str) -> LineChannel | None:
        """The channel of ``bot``, or None when the bot has no LINE account."""
        return self.channels.get(bot)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], bots: Iterable[str]) -> LineSettings:
        """Read ``LINE_<BOT>_CHANNEL_SECRET`` / ``LINE_<BOT>_ACCESS_TOKEN`` (e.g. ``LINE_CITY_HALL_...``),
        ``LINE_API_BASE`` and ``LINE_DATA_API_BASE``; a bot lacking either credential is not served."""
        channels: dict[str, LineChannel] = {}
        for bot in bots:
            prefix = f"LINE_{bot.upper()}_"
            secret = environ.get(prefix + "CHANNEL_SECRET", "").strip()
            token = environ.get(prefix + "ACCESS_TOKEN", "").strip()
            if secret and token:
                channels[bot] = LineChannel(secret=secret, access_token=token)
        return cls(
            api_base=(environ.get("LINE_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            data_api_base=(environ.get("LINE_DATA_API_BASE") or DEFAULT_DATA_API_BASE).rstrip("/"),
            channels=channels,
        )
