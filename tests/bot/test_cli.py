"""The ``yorisoi`` command line as an operator uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.storage.database import head_revision

ROOT = Path(__file__).resolve().parents[2]


def yorisoi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def test_a_bad_config_is_reported_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("bots:\n  library:\n    topic_groups: [library]\nserver:\n  port: -1\n", encoding="utf-8")
    result = yorisoi("--config", str(config), "db", "current")
    assert result.returncode == 2
    assert f"{config} line 5: server.port" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_sqlite_database(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("bots:\n  library:\n    topic_groups: [library]\ndatabase_url: sqlite:///data/y.db\n",
                      encoding="utf-8")
    result = yorisoi("--config", str(config), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"revision {head_revision()}" in result.stdout
    assert (tmp_path / "data" / "y.db").exists()


def test_kb_rank_ranks_a_citys_own_faq_export(tmp_path: Path) -> None:
    import json

    config = tmp_path / "config.yml"
    config.write_text(f"bots:\n  library:\n    topic_groups: [library]\ndata_dir: {tmp_path / 'var'}\n",
                      encoding="utf-8")
    faq = tmp_path / "faq.jsonl"
    faq.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"faq_id": "f1", "question": "粗大ごみの出し方", "answer": "電話で申し込んでください。"},
        {"faq_id": "f2", "question": "住民票の写しの取り方", "answer": "市民課の窓口で取れます。"},
        {"faq_id": "f3", "question": "図書館の開館時間", "answer": "9時から20時までです。"},
    ]) + "\n", encoding="utf-8")
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query_id": "q1", "query": "住民票はどこでもらえる？"}\n', encoding="utf-8")
    out = tmp_path / "ranks.jsonl"
    result = yorisoi("--config", str(config), "kb", "rank", "--faq", str(faq), "--queries", str(queries),
                     "--out", str(out), "--k", "2")
    assert result.returncode == 0, result.stderr
    line = json.loads(out.read_text(encoding="utf-8"))
    assert line["query_id"] == "q1" and line["ranked"][0] == "f2" and len(line["ranked"]) == 2
    queries.write_text('{"query_id": "q1", "query": "x"}\nnot json\n', encoding="utf-8")
    broken = yorisoi("--config", str(config), "kb", "rank", "--faq", str(faq), "--queries", str(queries),
                     "--out", str(out))
    assert broken.returncode == 2 and f"{queries}:2" in broken.stderr
