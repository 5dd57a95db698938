"""The shipped knowledge base is complete and valid; the validator catches what staff get wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.config import load_config
from bot.kb_tools import CURATED_LANGUAGES, coverage, export_summary, validate_kb
from knowledge.entries import DATA_DIR


def test_the_shipped_knowledge_base_is_valid() -> None:
    assert [str(p) for p in validate_kb(load_config(environ={}))] == []


def test_every_faq_topic_is_answered_in_all_curated_languages() -> None:
    for bot, row in coverage(load_config(environ={})).items():
        for language in CURATED_LANGUAGES:
            answered, total = row[language]
            assert answered == total, (bot, language)


def test_export_lists_every_entry_with_its_languages() -> None:
    rows = export_summary()
    by_key = {(row["bot"], row["id"]): row for row in rows}
    assert by_key[("city_hall", "resident_certificate")]["machine_translated"] == []
    assert all(set(CURATED_LANGUAGES) <= set(row["languages"]) for row in rows)
    assert len(rows) == 66


def copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_mistakes_are_reported_with_file_and_line(tmp_path: Path) -> None:
    data = copy_kb(tmp_path)
    entry = data / "library" / "library_hours.yml"
    text = entry.read_text(encoding="utf-8").replace("{library.branches.central.hours}", "{library.central.hourz}", 1)
    entry.write_text(text.replace("related: [", "related: [no_such_topic, ", 1), encoding="utf-8")
    (data / "library" / "weather.yml").write_text("id: weather\ntitle: {en: Weather}\n", encoding="utf-8")
    profile = data / "city_profile.yml"
    profile.write_text(profile.read_text(encoding="utf-8") + "\nextra:\n  fee: {ja: 1,000円, en: 1000 yen}\n",
                       encoding="utf-8")
    problems = [str(p) for p in validate_kb(load_config(environ={}), data)]
    joined = "\n".join(problems)
    assert "unknown profile key {library.central.hourz}" in joined
    assert "related topic 'no_such_topic'" in joined
    assert "weather.yml:1: missing field 'questions'" in joined
    assert "id 'weather' is not a faq topic" in joined
    assert "an unquoted comma splits a value" in joined
    assert all(":" in p.split(" ")[0] or p.startswith(str(data)) for p in problems)
