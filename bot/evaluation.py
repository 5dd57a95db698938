"""``yorisoi eval``: predictions through the live engine path, and a Markdown report.

Each line is sent as the first message of a brand-new conversation, to the real
engine on a throw-away database, so the prediction is exactly what a resident's
first message would get.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_components
from bot.config import AppConfig
from bot.protocols import Understanding
from bot.types import InboundMessage
from nlu.types import OUT_OF_SCOPE


@dataclass(frozen=True)
class Prediction:
    """One evaluated line."""

    line: dict[str, Any]
    predicted: str
    confidence: float
    language: str


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Lines of ``{"bot", "id", "lang", "text"}``; a bad line is an error naming its number."""
    rows = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} line {number}: not JSON ({error.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "bot" not in row:
            raise ValueError(f"{path} line {number}: needs at least \"bot\" and \"text\"")
        rows.append(row)
    return rows


def predict(config: AppConfig, rows: list[dict[str, Any]], *, nlu: Understanding | None = None,
            progress: TextIO | None = None) -> Iterator[Prediction]:
    """Run every row through a fresh conversation of the live engine."""
    with tempfile.TemporaryDirectory(prefix="yorisoi-eval-") as scratch:
        scratch_config = config.model_copy(update={"database_url": f"sqlite:///{Path(scratch) / 'eval.db'}"})
        engine = build_components(scratch_config, nlu=nlu).engine
        for index, row in enumerate(rows):
            sender = f"eval-{index}"
            result = engine.handle(InboundMessage(str(row["bot"]), "eval", sender, row["text"]))
            if progress is not None:
                _progress(progress, index + 1, len(rows))
            yield Prediction(row, result.topic or OUT_OF_SCOPE, float(result.confidence or 0.0), result.language)


def _progress(stream: TextIO, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    # Redraw in place on a terminal; in a log file, one line per tenth is enough.
    if stream.isatty():
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            stream.write("\n")
    elif done == total or (10 * done // max(total, 1)) != (10 * (done - 1) // max(total, 1)):
        stream.write(f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}\n")
    stream.flush()


def write_predictions(predictions: Iterable[Prediction], out: Path) -> list[Prediction]:
    """Write one JSON line per prediction: the input fields plus predicted, confidence, language."""
    kept = []
    with out.open("w", encoding="utf-8") as handle:
        for prediction in predictions:
            row = dict(prediction.line)
            row.update(predicted=prediction.predicted, confidence=round(prediction.confidence, 4),
                       language=prediction.language)
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            kept.append(prediction)
    return kept


def report(predictions: list[Prediction]) -> str:
    """Markdown: top-1 overall and per language, OOS recall, false-OOS rate, confusions."""
    labelled = [p for p in predictions if "id" in p.line]
    in_scope = [p for p in labelled if p.line["id"] != OUT_OF_SCOPE]
    oos = [p for p in labelled if p.line["id"] == OUT_OF_SCOPE]
    lines = ["# Evaluation report", "", f"{len(labelled)} labelled messages "
             f"({len(in_scope)} in scope, {len(oos)} out of scope).", ""]
    lines += ["| measure | value |", "|---|---|"]
    lines.append(f"| in-scope top-1 | {_rate(p.predicted == p.line['id'] for p in in_scope)} |")
    lines.append(f"| out-of-scope recall | {_rate(p.predicted == OUT_OF_SCOPE for p in oos)} |")
    lines.append(f"| in-scope wrongly rejected | {_rate(p.predicted == OUT_OF_SCOPE for p in in_scope)} |")
    # Easy Japanese is a reader's choice, never detected: it counts as identified when detected as ja.
    lines.append(f"| language identified | {_rate(_same_language(p) for p in labelled)} |")
    lines += ["", "## Per language", "", "| lang | n | in-scope top-1 | OOS recall |", "|---|---|---|---|"]
    by_language: dict[str, list[Prediction]] = defaultdict(list)
    for prediction in labelled:
        by_language[str(prediction.line.get("lang", "?"))].append(prediction)
    for language in sorted(by_language):
        group = by_language[language]
        ins = [p for p in group if p.line["id"] != OUT_OF_SCOPE]
        out = [p for p in group if p.line["id"] == OUT_OF_SCOPE]
        lines.append(f"| {language} | {len(group)} | {_rate(p.predicted == p.line['id'] for p in ins)} | "
                     f"{_rate(p.predicted == OUT_OF_SCOPE for p in out)} |")
    confusions = Counter((p.line["id"], p.predicted) for p in labelled if p.predicted != p.line["id"])
    lines += ["", "## Confusions (expected → predicted)", "", "| expected | predicted | count |", "|---|---|---|"]
    lines += [f"| {expected} | {got} | {count} |" for (expected, got), count in confusions.most_common()]
    return "\n".join(lines) + "\n"


def _same_language(prediction: Prediction) -> bool:
    expected = str(prediction.line.get("lang", ""))
    return prediction.language == ("ja" if expected == "ja-x-easy" else expected)


def _rate(outcomes: Iterable[bool]) -> str:
    values = list(outcomes)
    if not values:
        return "n/a"
    return f"{100 * sum(values) / len(values):.1f}% ({sum(values)}/{len(values)})"


def run_eval(config: AppConfig, source: Path, out: Path, report_path: Path | None,
             nlu: Understanding | None = None) -> str:
    """The whole ``yorisoi eval`` command; returns the report text."""
    rows = read_jsonl(source)
    predictions = write_predictions(predict(config, rows, nlu=nlu, progress=sys.stderr), out)
    text = report(predictions)
    if report_path is not None:
        report_path.write_text(text, encoding="utf-8")
    return text
