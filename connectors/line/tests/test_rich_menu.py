"""The rich menu is created, given an image, made the default and replaces older menus."""

from __future__ import annotations

import asyncio
import concurrent.futures
import struct
import zlib

import pytest

from bot.types import Button
from connectors.line import LineSettings, setup_rich_menu
from connectors.line.rich_menu import HEIGHT, LANGUAGE_PAYLOAD, WIDTH, main, menu_layout
from connectors.line.tests.fake_line import FakeLine

ITEMS = [
    Button("住民票", "/resident_certificate"), Button("転入の手続き", "/moving_in"),
    Button("ごみの日", "/garbage_collection_day"), Button("マイナンバーカード", "/my_number_card"),
    Button("窓口の時間", "/office_hours"), Button("スマホ教室", "/smartphone_class"),
]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and zlib.crc32(data[12:16 + length]) == struct.unpack(">I", data[16 + length:20 + length])[0]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_setup_creates_the_menu_uploads_a_png_and_sets_it_as_default(
    fake_line: FakeLine, line_settings: LineSettings
) -> None:
    fake_line.rich_menus["richmenu-old"] = "yorisoi-city_hall"
    fake_line.rich_menus["richmenu-someone-elses"] = "campaign"
    # A thread of its own: other tests (Playwright's sync API) may hold a running loop in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        menu_id = pool.submit(asyncio.run, setup_rich_menu("city_hall", line_settings, ITEMS)).result()

    [created] = fake_line.to("/v2/bot/richmenu")
    menu = created.json
    assert menu["size"] == {"width": WIDTH, "height": HEIGHT} and menu["chatBarText"] == "メニュー"
    actions = [area["action"] for area in menu["areas"]]
    assert [a["data"] for a in actions] == [b.payload for b in ITEMS] + [LANGUAGE_PAYLOAD]
    assert actions[-1]["label"] == "言語 / Language"
    for area in menu["areas"]:
        bounds = area["bounds"]
        assert bounds["x"] + bounds["width"] <= WIDTH and bounds["y"] + bounds["height"] <= HEIGHT

    [upload] = fake_line.to(f"/v2/bot/richmenu/{menu_id}/content")
    assert upload.headers["content-type"] == "image/png"
    assert png_size(upload.body) == (WIDTH, HEIGHT) and len(upload.body) < 1_000_000
    assert fake_line.to(f"/v2/bot/user/all/richmenu/{menu_id}")
    assert set(fake_line.rich_menus) == {menu_id, "richmenu-someone-elses"}


def test_the_layout_covers_the_menu_without_overlaps() -> None:
    for topics in range(7):
        bounds = menu_layout(topics)
        assert len(bounds) == topics + 1
        assert sum(w * h for _, _, w, h in bounds) == WIDTH * HEIGHT


def test_the_command_line_reads_credentials_from_the_environment(
    fake_line: FakeLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINE_LIBRARY_CHANNEL_SECRET", "library-channel-secret")
    monkeypatch.setenv("LINE_LIBRARY_ACCESS_TOKEN", "library-access-token")
    monkeypatch.setenv("LINE_API_BASE", fake_line.base)
    monkeypatch.setenv("LINE_DATA_API_BASE", fake_line.base)
    assert main(["--bot", "library", "--item", "開館時間=/library_hours", "--language", "en"]) == 0
    [created] = fake_line.to("/v2/bot/richmenu")
    assert [a["action"]["data"] for a in created.json["areas"]] == ["/library_hours", LANGUAGE_PAYLOAD]
    assert created.json["chatBarText"] == "Menu"
    assert main(["--bot", "residents"]) == 2  # no credentials: a clear error, nothing created
    assert len(fake_line.to("/v2/bot/richmenu")) == 1
