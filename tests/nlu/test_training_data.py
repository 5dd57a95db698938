"""Rasa 3 YAML reading, writing and bot data assembly."""

from __future__ import annotations

from pathlib import Path

from nlu.training_data import (
    annotate,
    dump_rasa_yaml,
    export_bot_to_rasa,
    import_rasa_project,
    load_bot_training_data,
    parse_annotated,
    parse_rasa_yaml,
    read_rasa_nlu,
)

RASA = '''version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - こんにちは
- intent: check_congestion
  examples: |
    - is the [North Ward](ward) office crowded?
    - [北区]{"entity": "ward", "value": "north"}役所は混んでる？
    - [きたく](ward:north) いま こんでる？
- synonym: north
  examples: |
    - 北区
    - Kita-ku
- regex: library_card
  examples: |
    - (?<!\\d)2\\d{9}(?!\\d)
- lookup: district
  examples: |
    - 中央地区
    - 東地区
- intent: out_of_scope
  examples: |
    - tell me a joke
'''


def test_round_trip_is_lossless() -> None:
    data = parse_rasa_yaml(RASA)
    again = parse_rasa_yaml(dump_rasa_yaml(data))
    assert again == data
    assert data.intents["check_congestion"][1].startswith("[北区]{")
    assert data.regexes["library_card"] == [r"(?<!\d)2\d{9}(?!\d)"]
    assert data.synonyms["north"] == ["北区", "Kita-ku"]
    assert data.lookups["district"] == ["中央地区", "東地区"]


def test_annotations_become_entities() -> None:
    example = parse_annotated('[北区]{"entity": "ward", "value": "north"}役所は混んでる？')
    assert example.text == "北区役所は混んでる？"
    (entity,) = example.entities
    assert (entity.type, entity.value, entity.start, entity.end) == ("ward", "north", 0, 2)
    short = parse_annotated("[きたく](ward:north) いま")
    assert short.entities[0].value == "north"
    assert annotate(parse_annotated("is the [North Ward](ward) office crowded?")) == (
        "is the [North Ward](ward) office crowded?"
    )


def test_load_bot_training_data(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "nlu.yml").write_text(RASA, encoding="utf-8")
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: search_catalog\n  examples: |\n    - find a book\n', encoding="utf-8"
    )
    data = load_bot_training_data(tmp_path, "library", ["search_catalog", "library_hours"],
                                  {"library_hours": ["図書館は何時まで？", "library hours"]})
    assert "greet" in data.topics and "library_hours" in data.topics
    assert [e.text for e in data.examples["library_hours"]] == ["図書館は何時まで？", "library hours"]
    assert "check_congestion" not in data.examples  # not a topic of this bot
    assert [e.text for e in data.examples["out_of_scope"]] == ["tell me a joke"]
    assert data.resources.regexes["library_card"]


def test_import_and_export(tmp_path: Path) -> None:
    project = tmp_path / "rasa_project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "nlu.yml").write_text(RASA, encoding="utf-8")
    target = tmp_path / "ours" / "city_hall" / "nlu.yml"
    imported = import_rasa_project(project, target)
    assert read_rasa_nlu(target) == imported
    exported = export_bot_to_rasa(
        tmp_path / "ours", "city_hall", tmp_path / "out.yml", {"resident_certificate": ["住民票"]}
    )
    assert exported.intents["resident_certificate"] == ["住民票"]
    assert read_rasa_nlu(tmp_path / "out.yml").intents["greet"] == ["hello", "こんにちは"]
