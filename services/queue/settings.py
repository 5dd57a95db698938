"""The queue service's settings: the ``connectors: queues:`` section of ``config.yml``.

Tokens and passwords come from the environment (``${VAR}``); the ingest API also accepts the token in
``YORISOI_QUEUE_TOKEN`` for every office.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The environment variable holding the ingest token of every office.
QUEUE_TOKEN_VARIABLE = "YORISOI_QUEUE_TOKEN"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NovosgaSettings(_Strict):
    """One NovoSGA server polled for its units' tickets (``services.queue.novosga``)."""

    url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)
    poll_seconds: float = Field(default=5.0, ge=0.5, le=600)
    #: The time zone of the server's clock (NovoSGA sends local times without an offset).
    timezone: str = "Asia/Tokyo"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: NovoSGA ``unidade`` id → our office id.
    units: dict[int, str] = Field(min_length=1)
    #: NovoSGA ``servico`` id → our window (service) id; tickets of other services are ignored.
    services: dict[int, str] = Field(min_length=1)


class QueueSettings(_Strict):
    """``connectors.queues`` (every key optional)."""

    #: Per-office ingest tokens (office id → token); ``YORISOI_QUEUE_TOKEN`` works for every office.
    office_tokens: dict[str, str] = Field(default_factory=dict)
    #: Figures older than this are shown as unavailable, never guessed.
    stale_after_seconds: int = Field(default=600, ge=10, le=24 * 3600)
    #: The "your number is near" notice goes out when this many tickets (or fewer) are ahead.
    notice_ahead: int = Field(default=3, ge=0, le=50)
    #: The expected wait comes from the pace of the last this-many calls of a window ...
    estimate_calls: int = Field(default=20, ge=2, le=500)
    #: ... within this many minutes (older calls say little about now).
    estimate_window_minutes: int = Field(default=60, ge=5, le=24 * 60)
    #: The bot whose chat the ticket's QR code opens (and whose conversations get the notices).
    bot: str = "city_hall"
    #: The channel the QR code's chat runs on (the web widget) ...
    widget_channel: str = "web"
    #: ... and the page with the widget it opens (``?bot=&lang=&resume=`` are added).
    chat_page: str = Field(default="/", pattern=r"^(/|https://)")
    #: The address residents reach this server at (QR codes); unset: relative links.
    public_url: str | None = None
    #: The key that signs ticket QR codes; unset: derived from the deployment's secret key.
    ticket_secret: str | None = None
    #: The LINE official account (e.g. "@yorisoi-city") the QR page also offers; unset: the widget only.
    line_account_id: str | None = Field(default=None, pattern=r"^@[A-Za-z0-9._-]{1,40}$")
    #: How often the status page and its live stream look at the figures.
    refresh_seconds: float = Field(default=3.0, ge=0.2, le=60)
    #: Ticketing systems polled instead of posting events.
    novosga: tuple[NovosgaSettings, ...] = ()
