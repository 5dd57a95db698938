"""The rich menu of a bot's LINE account: its top topics and a "Language / 言語" switch.

``setup_rich_menu(bot, settings, items)`` creates the menu (2500x843), uploads its image, makes it
the account's default and deletes the menus it replaces. Without a designed image (``image=``) a
plain one is generated: one tile per area, the language tile marked with a globe and "LANGUAGE".
Command line (credentials from ``LINE_<BOT>_...`` variables)::

    python -m connectors.line.rich_menu --bot city_hall --item "住民票=/resident_certificate" ...
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
)

from bot.types import Button
from connectors.line.image import Canvas
from connectors.line.render import LABEL_LIMIT, fit
from connectors.line.settings import LineSettings
from translations.catalog import Catalog

WIDTH, HEIGHT = 2500, 843
#: Topic areas besides the language switch (the menu stays legible on a phone).
MAX_TOPICS = 6
LANGUAGE_PAYLOAD = "/change_language"
CHAT_BAR_LIMIT = 14
_GAP = 12
_TILE = (232, 244, 241)
_TILE_ALT = (221, 238, 234)
_LANGUAGE_TILE = (30, 111, 217)
_WHITE = (255, 255, 255)
_BACKGROUND = (250, 250, 250)


Bounds = tuple[int, int, int, int]


def menu_layout(topics: int) -> list[Bounds]:
    """Bounds (x, y, width, height) of ``topics`` areas then the language area (which takes what is left)."""
    cells = topics + 1
    rows = 1 if cells <= 4 else 2
    columns = -(-cells // rows)
    width, height = WIDTH // columns, HEIGHT // rows
    bounds: list[Bounds] = []
    for index in range(topics):
        row, column = divmod(index, columns)
        right = WIDTH if column == columns - 1 else (column + 1) * width
        bottom = HEIGHT if row == rows - 1 else (row + 1) * height
        bounds.append((column * width, row * height, right - column * width, bottom - row * height))
    row, column = divmod(topics, columns)
    bounds.append((column * width, row * height, WIDTH - column * width, HEIGHT - row * height))
    return bounds


def rich_menu_request(bot: str, items: Sequence[Button], catalog: Catalog, language: str) -> RichMenuRequest:
    """The menu definition: one postback area per topic (its payload) and the language switch."""
    items = list(items)[:MAX_TOPICS]
    language_label = catalog.text("button.language", language)
    bounds = menu_layout(len(items))
    buttons = [*items, Button(language_label, LANGUAGE_PAYLOAD)]
    areas = [
        RichMenuArea(
            bounds=RichMenuBounds(x=x, y=y, width=w, height=h),
            action=PostbackAction(
                label=fit(button.title, LABEL_LIMIT), data=button.payload, display_text=fit(button.title, 300)
            ),
        )
        for button, (x, y, w, h) in zip(buttons, bounds, strict=True)
    ]
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT), selected=True, name=menu_name(bot),
        chat_bar_text=fit(catalog.text("line.menu", language), CHAT_BAR_LIMIT), areas=areas,
    )


def menu_name(bot: str) -> str:
    """The name our menus carry (menus of that name are replaced by a new setup)."""
    return f"yorisoi-{bot}"


def menu_image(topics: int) -> bytes:
    """A plain 2500x843 PNG matching :func:`menu_layout` (a designed image is better: pass ``image=``)."""
    canvas = Canvas(WIDTH, HEIGHT, _BACKGROUND)
    bounds = menu_layout(topics)
    for index, (x, y, w, h) in enumerate(bounds[:-1]):
        canvas.rectangle(x + _GAP, y + _GAP, w - 2 * _GAP, h - 2 * _GAP, _TILE if index % 2 == 0 else _TILE_ALT)
    x, y, w, h = bounds[-1]
    canvas.rectangle(x + _GAP, y + _GAP, w - 2 * _GAP, h - 2 * _GAP, _LANGUAGE_TILE)
    radius = min(w, h) // 5
    cx, cy = x + w // 2, y + h // 2 - radius // 2
    canvas.ring(cx, cy, radius, radius, 10, _WHITE)
    canvas.ring(cx, cy, radius // 2, radius, 8, _WHITE)
    canvas.rectangle(cx - radius, cy - 4, 2 * radius, 8, _WHITE)
    canvas.rectangle(cx - 4, cy - radius, 8, 2 * radius, _WHITE)
    scale = max(2, min(12, (w - 4 * _GAP) // (6 * len("LANGUAGE"))))
    canvas.text(x + (w - canvas.text_width("LANGUAGE", scale)) // 2, cy + radius + 3 * _GAP, "LANGUAGE", scale, _WHITE)
    return canvas.png()


async def setup_rich_menu(
    bot: str,
    settings: LineSettings,
    items: Sequence[Button] = (),
    *,
    language: str = "ja",
    image: bytes | None = None,
    catalog: Catalog | None = None,
) -> str:
    """Create ``bot``'s rich menu, upload its image, make it the default; returns the new menu id.

    ``items``: the top topics as buttons (title, payload), e.g. the engine's start-menu buttons;
    at most 6 are used. ``language``: the language of the labels. Older menus of this bot are deleted.
    """
    channel = settings.channel(bot)
    if channel is None:
        raise ValueError(f"bot {bot!r} has no LINE channel (set LINE_{bot.upper()}_CHANNEL_SECRET and _ACCESS_TOKEN)")
    request = rich_menu_request(bot, items, catalog or Catalog.load(), language)
    png = image if image is not None else menu_image(len(request.areas) - 1)
    api_config = Configuration(host=settings.api_base, access_token=channel.access_token)
    data_config = Configuration(host=settings.data_api_base, access_token=channel.access_token)
    async with AsyncApiClient(api_config) as client, AsyncApiClient(data_config) as data_client:
        api = AsyncMessagingApi(client)
        created = await api.create_rich_menu(request)
        menu_id = str(created.rich_menu_id)
        content_type = "image/png" if png.startswith(b"\x89PNG") else "image/jpeg"
        await AsyncMessagingApiBlob(data_client).set_rich_menu_image(
            menu_id, body=png, _headers={"Content-Type": content_type}
        )
        await api.set_default_rich_menu(menu_id)
        existing = await api.get_rich_menu_list()
        for menu in existing.richmenus or ():
            if menu.name == request.name and menu.rich_menu_id != menu_id:
                await api.delete_rich_menu(menu.rich_menu_id)
    return menu_id


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: set up one bot's rich menu from ``--item TITLE=PAYLOAD`` arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m connectors.line.rich_menu", description="Set up the rich menu of a bot's LINE account."
    )
    parser.add_argument("--bot", required=True)
    parser.add_argument("--item", action="append", default=[], metavar="TITLE=PAYLOAD",
                        help="a topic area, e.g. '住民票=/resident_certificate' (up to 6, in order)")
    parser.add_argument("--language", default="ja", help="language of the labels (default: ja)")
    parser.add_argument("--image", type=Path, help="a designed 2500x843 PNG or JPEG (default: a plain one)")
    args = parser.parse_args(argv)
    items = []
    for item in args.item:
        title, separator, payload = item.partition("=")
        if not separator or not title.strip() or not payload.startswith("/"):
            parser.error(f"--item {item!r}: expected TITLE=/payload")
        items.append(Button(title.strip(), payload.strip()))
    settings = LineSettings.from_env(os.environ, [args.bot])
    image = args.image.read_bytes() if args.image else None
    try:
        menu_id = asyncio.run(setup_rich_menu(args.bot, settings, items, language=args.language, image=image))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(menu_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
