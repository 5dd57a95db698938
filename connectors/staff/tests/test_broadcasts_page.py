"""The broadcasts page over HTTP: admins only (logged out → the login page, others → 403), the form in
the console's language with a text field per configured language, and the link from the console."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import Components, create_app
from connectors.staff.api import COOKIE
from connectors.staff.console import PAGE_HEADERS


@dataclass
class Site:
    """The app's client and a console session per role."""

    client: TestClient
    components: Components
    tokens: dict[str, str]

    def page(self, who: str | None, query: str = "") -> Any:
        headers = {"cookie": f"{COOKIE}={self.tokens[who]}"} if who else {}
        return self.client.get(f"/staff/broadcasts{query}", headers=headers, follow_redirects=False)


def site_of(components: Components) -> Site:
    tokens = {}
    for name, role in (("root", "admin"), ("sato", "staff"), ("nguyen", "interpreter")):
        components.accounts.create_user(name, "password-1", role, display_name=f"{name}-san")
        session = components.accounts.login(name, "password-1")
        assert session is not None
        tokens[name] = session.token
    return Site(TestClient(create_app(components.config, components=components)), components, tokens)


@pytest.fixture
def site(build: Callable[..., Components]) -> Iterator[Site]:
    components = build()
    yield site_of(components)
    components.database.dispose()


def test_logged_out_the_page_sends_you_to_the_login_form(site: Site) -> None:
    response = site.page(None, "?lang=en")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff?lang=en"


@pytest.mark.parametrize("who", ["nguyen", "sato"])
def test_interpreters_and_staff_are_refused_the_page(site: Site, who: str) -> None:
    response = site.page(who)
    assert response.status_code == 403
    html = response.text
    assert "一斉配信は管理者だけが使えます。" in html
    assert "staff-broadcasts.js" not in html and "<textarea" not in html and "/api/v1/admin" not in html


def test_admins_get_the_form_in_japanese_with_a_field_per_language(site: Site) -> None:
    response = site.page("root")
    assert response.status_code == 200
    for header, value in PAGE_HEADERS.items():
        assert response.headers[header] == value
    html = response.text
    assert '<html lang="ja">' in html and "root-san（管理者）" in html
    languages = site.components.config.languages
    assert re.findall(r'<textarea id="bc-text-([^"]+)"', html) == list(languages)
    assert re.findall(r'<input type="checkbox" name="languages" value="([^"]+)"', html) == list(languages)
    assert set(re.findall(r'name="channel" value="([^"]+)"', html)) >= {"web", "kiosk"}
    assert re.findall(r'name="kind" value="([a-z]+)"', html) == ["notice", "reminder", "disaster"]
    assert "配信停止時間帯を無視して、夜間でもすぐに届きます。" in html  # said next to "disaster"
    assert 'aria-live="polite"' in html and 'href="/staff/broadcasts?lang=en"' in html


def test_the_page_speaks_english_and_its_scripts_are_served(site: Site) -> None:
    html = site.page("root", "?lang=en").text
    assert '<html lang="en">' in html and "New broadcast" in html and "Ignores the quiet hours" in html
    for name in ("staff-broadcasts.js", "staff-broadcast-progress.js", "staff-broadcasts.css"):
        assert site.client.get(f"/staff/static/{name}").status_code == 200


def test_the_console_links_to_the_page_only_when_the_admin_api_is_served(
    site: Site, build: Callable[..., Components], tmp_path: Path
) -> None:
    assert 'href="/staff/broadcasts?lang=ja"' in site.client.get("/staff").text  # shown to admins by the script
    components = build(f"sqlite:///{tmp_path / 'without-admin.db'}")
    connectors = {**components.config.connectors, "admin": {"enabled": False}}
    components.config = components.config.model_copy(update={"connectors": connectors})
    without = site_of(components)
    assert "/staff/broadcasts" not in without.client.get("/staff").text
    assert without.page("root").status_code == 404
    components.database.dispose()
