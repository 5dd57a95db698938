"""bench/bench_mt.py: says clearly when there is nothing to measure, and scores installed packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_mt.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_mt", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tsv(tmp_path: Path) -> Path:
    path = tmp_path / "parallel_x_en.tsv"
    rows = [
        "lang\ttext\ten",
        "ja\tこんにちは\thello",
        "ja\t区役所はどこですか。\tWhere is the ward office?",
        "vi\tchào\thello",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_missing_data_and_missing_packages_are_reported(
    bench: ModuleType, tsv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main(["--data", str(tmp_path / "absent.tsv")]) == 0
    assert "SKIP" in capsys.readouterr().out
    assert bench.main(["--data", str(tsv), "--packages-dir", str(tmp_path / "none")]) == 0
    assert "No Argos Translate packages installed" in capsys.readouterr().out


def test_installed_packages_are_scored_in_both_directions(
    bench: ModuleType, tsv: Path, installed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench.main(["--data", str(tsv), "--packages-dir", str(installed_dir)]) == 0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in capsys.readouterr().out.splitlines() if "→" in line}
    assert set(rows) == {"ja→en", "en→vi", "en→ja"}  # no references for the ja→vi pivot
    assert rows["en→vi"].split(" | ")[2] == "1" and rows["ja→en"].split(" | ")[2] == "2"
    assert float(rows["en→vi"].split(" | ")[4]) == pytest.approx(100.0)  # chrF: the tiny model maps hello → chào
