"""City facts come from the profile: change it once and every answer follows."""

from __future__ import annotations

import copy

import pytest

from knowledge.base import CuratedKnowledgeBase
from knowledge.entries import load_entries
from knowledge.profile import CityProfile, UnknownProfileKey


def test_changing_a_fee_in_the_profile_changes_every_answer_that_uses_it() -> None:
    profile = CityProfile.load()
    entries = load_entries()
    users = [
        (bot, topic, language)
        for bot, topics in entries.items()
        for topic, entry in topics.items()
        for language, text in entry.answer.items()
        if "{fees.resident_certificate}" in text
    ]
    assert users, "some answer must mention the resident-certificate fee"
    changed = copy.deepcopy(profile._data)
    changed["fees"]["resident_certificate"] = {"ja": "1通999円", "en": "999 yen per copy"}
    before = CuratedKnowledgeBase(entries, profile)
    after = CuratedKnowledgeBase(entries, CityProfile(changed))
    for bot, topic, language in users:
        old = before.answer(bot, topic, language)
        new = after.answer(bot, topic, language)
        assert old is not None and new is not None
        assert "999" in new.text and "999" not in old.text, (bot, topic, language)


def test_values_fall_back_by_language() -> None:
    profile = CityProfile({"a": {"b": {"ja": "日本語", "en": "English"}}, "desk": {"phone": "000-1"}})
    assert profile.value("a.b", "vi") == "English"
    assert profile.value("a.b", "ja-x-easy") == "日本語"
    assert profile.fill("call {desk.phone} ({a.b})", "en") == "call 000-1 (English)"
    assert profile.fill("{name} stays for the catalog", "en") == "{name} stays for the catalog"
    with pytest.raises(UnknownProfileKey):
        profile.fill("{a.missing}", "en")
    assert profile.missing_keys("{a.b} {x.y}") == ["x.y"]


def test_the_demo_profile_says_it_is_a_demo() -> None:
    assert CityProfile.load().is_demo
