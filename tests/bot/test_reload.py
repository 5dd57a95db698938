"""A KB change is picked up by the reload endpoint without restarting the server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import bot.app as app_module
from bot.app import Components, create_app
from knowledge.base import CuratedKnowledgeBase
from knowledge.profile import CityProfile
from tests.fakes import RuleNlu


def test_reload_picks_up_a_changed_fee(build: Callable[..., Components], rule_nlu: RuleNlu,
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    components = build(nlu=rule_nlu)
    client = TestClient(create_app(components.config, components=components))
    body = {"bot": "city_hall", "sender": "u1", "text": "juminhyo please", "lang": "en"}
    before = client.post("/api/v1/messages", json=body).json()["replies"][-1]["text"]
    assert "300 yen" in before

    profile = CityProfile.load()
    changed = dict(profile._data)
    changed["fees"] = {**changed["fees"], "resident_certificate": {"ja": "1通350円", "en": "350 yen per copy"}}
    monkeypatch.setattr(app_module.CityProfile, "load", classmethod(lambda cls, path=None: CityProfile(changed)))
    monkeypatch.setattr("bot.training.load_or_train_nlu", lambda *args: rule_nlu)
    response = client.post("/api/v1/admin/reload")
    assert response.status_code == 200 and response.json()["entries"]["city_hall"] > 30
    after = client.post("/api/v1/messages", json=body).json()["replies"][-1]["text"]
    assert "350 yen" in after and isinstance(components.knowledge, CuratedKnowledgeBase)


def test_reload_needs_the_admin_token_when_one_is_set(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YORISOI_ADMIN_TOKEN", "t0ken")
    assert client.post("/api/v1/admin/reload").status_code == 403
    assert client.post("/api/v1/admin/reload", headers={"authorization": "Bearer wrong"}).status_code == 403
