"""The console page over HTTP: its language, its security headers, its static files and its strings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.http_errors import install_error_handlers
from connectors.staff.console import PAGE_HEADERS, STATIC_FILES, StaffConsole, console_strings, json_for_html
from connectors.web.tests.live_server import app_with_channels, build_on_sqlite
from translations.catalog import Catalog


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """Only the console's routes (the page needs no database: it asks the API from the browser)."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(StaffConsole(bots=("city_hall", "residents", "library")).router())
    with TestClient(app) as test_client:
        yield test_client


def page_data(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="staff-data">(.*?)</script>', html, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_the_page_is_japanese_by_default_with_the_login_form(client: TestClient) -> None:
    response = client.get("/staff")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="ja">' in html
    assert "<title>よりそい 職員コンソール</title>" in html
    for text in ("ユーザー名", "パスワード", "ログイン", "担当する", "通訳を招待", "対応完了", "記録をダウンロード"):
        assert text in html
    assert 'href="/staff?lang=en"' in html
    data = page_data(html)
    strings = data["strings"]
    assert isinstance(strings, dict)
    assert data["lang"] == "ja"
    assert strings["staff.status.queued"] == "対応待ち"
    assert strings["staff.machine_translated"] == "機械翻訳"
    assert strings["bot.residents.name"] == Catalog.load().text("bot.residents.name", "ja")
    assert data["languages"]["vi"] == "Tiếng Việt"  # type: ignore[index]


def test_the_page_speaks_english_with_lang_en_and_falls_back_to_japanese(client: TestClient) -> None:
    html = client.get("/staff?lang=en").text
    assert '<html lang="en">' in html
    assert "Take this conversation" in html and "Download transcript" in html
    assert 'href="/staff?lang=ja"' in html
    assert page_data(html)["lang"] == "en"
    assert '<html lang="ja">' in client.get("/staff?lang=xx").text  # an unknown language: the default


def test_the_page_has_a_strict_content_security_policy_and_no_inline_code(client: TestClient) -> None:
    response = client.get("/staff")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    for header, value in PAGE_HEADERS.items():
        assert response.headers[header] == value
    html = response.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:  # every script is a file, or data the browser never runs
        assert 'src="/staff/static/' in attributes or ('type="application/json"' in attributes and body.strip())
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers


def test_every_static_file_is_served_with_its_type(client: TestClient) -> None:
    for name, media_type in STATIC_FILES.items():
        response = client.get(f"/staff/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == media_type
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content
    script = client.get("/staff/static/staff-console.js").text
    assert 'from "./staff-room.js"' in script and 'from "./staff-util.js"' in script


@pytest.mark.parametrize("name", ["nope.js", "..%2Fconsole.py", "staff.html", "%2E%2E%2Fapi.py"])
def test_anything_else_under_static_is_not_found(client: TestClient, name: str) -> None:
    response = client.get(f"/staff/static/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("not_found", "http_error")


def test_the_strings_cover_every_staff_key_in_both_languages() -> None:
    catalog = Catalog.load()
    japanese = console_strings(catalog, "ja", ("residents",))
    english = console_strings(catalog, "en", ("residents",))
    assert set(japanese) == set(english)
    assert {"staff.login_failed", "staff.claim", "staff.invite", "staff.resolve", "staff.transcript"} <= set(japanese)
    for status in ("queued", "active", "callback", "resolved", "cancelled", "timed_out"):
        assert f"staff.status.{status}" in japanese
    for reason in ("asked", "misses", "kiosk", "sensitive"):
        assert f"staff.reason.{reason}" in japanese
    for role in ("resident", "bot", "staff", "interpreter", "system"):
        assert f"staff.speaker.{role}" in japanese


def test_json_in_the_page_cannot_close_its_script_element() -> None:
    text = str(json_for_html({"x": "</script><script>alert(1)</script> & \u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script> & \u2028"}


def test_the_app_mounts_the_console_next_to_the_api(tmp_path: Path) -> None:
    components = build_on_sqlite(tmp_path)
    try:
        with TestClient(app_with_channels(components)) as client:
            assert client.get("/staff").status_code == 200
            assert client.get("/staff/static/staff.css").status_code == 200
            assert client.get("/api/v1/auth/me").status_code == 401  # the page's first question
    finally:
        components.database.dispose()
