"""Configuration errors name the key and the line; secrets come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_is_valid() -> None:
    config = load_config(environ={})
    assert set(config.bots) == {"city_hall", "residents", "library"}
    assert config.database_url == "sqlite:///var/yorisoi.db"
    assert "ja-x-easy" in config.languages


def test_wrong_keys_and_values_name_the_key_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bots:\n  city_hall:\n    topic_groups: [city_hall]\n  libary:\n"
                           "    topic_groups: [library]\nserver:\n  port: 99999\n  hots: x\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    message = str(error.value)
    assert f"{path} line 4: bots.libary" in message
    assert f"{path} line 7: server.port" in message
    assert f"{path} line 8: server.hots: unknown key" in message


def test_environment_variables_are_expanded_with_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "bots:\n  library:\n    topic_groups: [library]\n"
                           "server:\n  port: ${PORT:-8123}\ndatabase_url: ${DB}\n")
    config = load_config(path, environ={"DB": "postgresql+psycopg://db/x"})
    assert config.server.port == 8123 and config.database_url == "postgresql+psycopg://db/x"
    with pytest.raises(ConfigError, match="line 6: environment variable DB is not set"):
        load_config(path, environ={})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bots:\n  library: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path, environ={})


def test_database_url_from_the_environment_wins(tmp_path: Path) -> None:
    config = load_config(environ={"YORISOI_DATABASE_URL": "postgresql+psycopg://root@127.0.0.1/test"})
    assert config.resolved_database_url == "postgresql+psycopg://root@127.0.0.1/test"
