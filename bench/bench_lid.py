"""Language identification on Tatoeba: raw lid.176 vs Yorisoi's restricted detector.

Split: ``../shared/datasets/tatoeba/lid_test.tsv`` (test) plus the Nepali side of
``eng-nep.test.tsv``, restricted to the languages we configure (Hindi rows are
dropped: hi is not configured). Chinese rows are labelled "zh" in Tatoeba, so
zh-Hans and zh-Hant both count as correct there. No preferred language is given.

Run: ``python bench/bench_lid.py``
"""

from __future__ import annotations

import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nlu.langid import LanguageDetector, word_count  # noqa: E402
from nlu.types import ALL_LANGUAGES  # noqa: E402

DATA = REPO.parent / "shared" / "datasets" / "tatoeba"
OURS = {"ja", "en", "zh", "ko", "vi", "tl", "id", "pt", "es", "th", "ne", "my"}


def load_rows() -> list[tuple[str, str]]:
    """(gold base language, text) pairs of the test split, restricted to our languages."""
    rows: list[tuple[str, str]] = []
    with (DATA / "lid_test.tsv").open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if record["lang"] in OURS:
                rows.append((record["lang"], record["text"]))
    nepali = DATA / "eng-nep.test.tsv"
    if nepali.exists():
        with nepali.open(encoding="utf-8") as handle:
            for line in handle:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 4:
                    rows.append(("ne", parts[3]))
    return rows


def base(code: str) -> str:
    """zh-Hans / zh-Hant -> zh, ja-x-easy -> ja."""
    return "zh" if code.startswith("zh") else code.split("-x-")[0]


def main() -> int:
    """Print a Markdown table of per-language accuracy."""
    if not (DATA / "lid_test.tsv").exists():
        print(f"SKIP: {DATA}/lid_test.tsv not found (the shared datasets are not beside the repo)")
        return 0
    detector = LanguageDetector(ALL_LANGUAGES)
    rows = load_rows()
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    started = time.perf_counter()
    for gold, text in rows:
        raw = detector.raw_predictions(text, k=1)
        raw_label = raw[0][0] if raw else "?"
        ours = base(detector.detect(text)[0])
        for subset in ("all", "3+") if word_count(text) >= 3 or gold in {"ja", "zh", "th", "my"} else ("all",):
            totals[(gold, subset, "n")] += 1
            totals[(gold, subset, "raw")] += int(raw_label == gold)
            totals[(gold, subset, "ours")] += int(ours == gold)
    elapsed = time.perf_counter() - started
    print("## Language identification (Tatoeba lid_test + eng-nep test, restricted to our languages)\n")
    print("3+ words: whitespace words for space-separated scripts; ja/zh/th sentences are all counted.\n")
    print("| lang | n (all) | raw lid.176 (all) | ours (all) | n (3+) | raw lid.176 (3+) | ours (3+) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    grand: dict[str, int] = defaultdict(int)
    for gold in sorted({g for g, _ in rows}):
        cells = [gold]
        for subset in ("all", "3+"):
            n = totals[(gold, subset, "n")]
            grand[subset + "n"] += n
            grand[subset + "raw"] += totals[(gold, subset, "raw")]
            grand[subset + "ours"] += totals[(gold, subset, "ours")]
            cells += [str(n), pct(totals[(gold, subset, "raw")], n), pct(totals[(gold, subset, "ours")], n)]
        print("| " + " | ".join(cells) + " |")
    print(
        f"| **all** | {grand['alln']} | {pct(grand['allraw'], grand['alln'])} | "
        f"{pct(grand['allours'], grand['alln'])} | {grand['3+n']} | {pct(grand['3+raw'], grand['3+n'])} | "
        f"**{pct(grand['3+ours'], grand['3+n'])}** |"
    )
    print(f"\n{len(rows)} sentences in {elapsed:.1f} s ({1000 * elapsed / max(len(rows), 1):.2f} ms each)")
    return 0


def pct(hits: int, n: int) -> str:
    """Percentage with one decimal, or a dash when there is nothing to count."""
    return f"{100 * hits / n:.1f}%" if n else "-"


if __name__ == "__main__":
    sys.exit(main())
