"""Machine translation quality on Tatoeba: BLEU and chrF for every installed Argos package.

Split: ``../shared/datasets/tatoeba/parallel_x_en.tsv`` (lang, text, en; up to 1,000 pairs
x→English per language; test data, never tuned on). For each installed package x→en the x
side is translated and scored against the English side; for en→x the reverse. Pivots
(x→en→y) are not scored: there are no x–y references. Tatoeba's ``zh`` rows mix simplified
and traditional script; they are scored for zh-Hans packages (Argos ``zh``).

Packages: ``$ARGOS_PACKAGES_DIR``, else ``<repo>/var/argos-packages`` (where
``yorisoi translations install PATH.argosmodel`` puts them). Nothing is downloaded.
Scores: sacrebleu corpus BLEU (tokenizer ``13a``; ``zh`` for Chinese; ``ja-mecab`` /
``char`` for Japanese; ``char`` for Thai and Burmese) and chrF.

Run: ``python bench/bench_mt.py [--limit 1000] [--packages-dir DIR] [--data FILE] [--pipeline]``
(``--pipeline`` goes through the glossary-protected pipeline sentence by sentence).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from translations.argos_backend import ArgosTranslator  # noqa: E402
from translations.argos_packages import PackageInfo, list_packages, yorisoi_code  # noqa: E402
from translations.glossary import Glossary  # noqa: E402
from translations.pipeline import TranslationPipeline  # noqa: E402

DATA = REPO.parent / "shared" / "datasets" / "tatoeba" / "parallel_x_en.tsv"
DEFAULT_PACKAGES = REPO / "var" / "argos-packages"


def load_pairs(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Yorisoi language code -> [(text, English)], in file order."""
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if record.get("lang") and record.get("text") and record.get("en"):
                pairs[yorisoi_code(record["lang"])].append((record["text"], record["en"]))
    return dict(pairs)


def bleu_tokenizer(language: str) -> str:
    """The sacrebleu tokenizer for references in ``language``."""
    if language.startswith("zh"):
        return "zh"
    if language in ("ja", "ja-x-easy"):
        try:
            import ipadic  # noqa: F401
            import MeCab  # noqa: F401
        except ImportError:
            return "char"
        return "ja-mecab"
    return "char" if language in ("th", "my") else "13a"


def scored_directions(packages: list[PackageInfo], pairs: dict[str, list[tuple[str, str]]]) -> list[PackageInfo]:
    """Packages with references: x→en or en→x for a language x in the data."""
    return [
        package
        for package in packages
        if (package.target == "en" and package.source in pairs) or (package.source == "en" and package.target in pairs)
    ]


def run(packages_dir: Path, data: Path, limit: int, use_pipeline: bool) -> int:
    """Print a Markdown table; 0 also when there is nothing to measure (the message says why)."""
    if not data.exists():
        print(f"SKIP: {data} not found (the shared datasets are not beside the repo)")
        return 0
    packages = list_packages(packages_dir)
    if not packages:
        print(f"No Argos Translate packages installed in {packages_dir}: nothing to measure.")
        print("Install one with `yorisoi translations install PATH.argosmodel` (or set ARGOS_PACKAGES_DIR).")
        return 0
    pairs = load_pairs(data)
    directions = scored_directions(packages, pairs)
    if not directions:
        names = ", ".join(f"{p.source}→{p.target}" for p in packages)
        print(f"Installed packages ({names}) have no Tatoeba references (need x→en or en→x for {sorted(pairs)}).")
        return 0
    import sacrebleu

    translator = ArgosTranslator(packages_dir)
    pipeline = TranslationPipeline(translator, None, Glossary.load()) if use_pipeline else None
    mode = "glossary pipeline, sentence by sentence" if use_pipeline else "direct, batched"
    print(f"## Machine translation on Tatoeba parallel_x_en.tsv (test; {mode}; up to {limit} pairs per direction)\n")
    print(f"Packages: {packages_dir}\n")
    print("| direction | package | n | BLEU | chrF | BLEU tokenizer | seconds | sentences/s |")
    print("|---|---|---:|---:|---:|---|---:|---:|")
    for package in directions:
        language = package.source if package.target == "en" else package.target
        rows = pairs[language][:limit]
        sources = [text if package.target == "en" else english for text, english in rows]
        references = [english if package.target == "en" else text for text, english in rows]
        started = time.perf_counter()
        try:
            if pipeline is not None:
                hypotheses = [pipeline.translate(s, package.source, package.target).text for s in sources]
            else:
                hypotheses = translator.translate_sentences(sources, package.source, package.target) or []
        except Exception as error:  # a broken package: report it and go on with the others
            print(f"| {package.source}→{package.target} | {package.name} | {len(rows)} | error: {error} |||||")
            continue
        elapsed = time.perf_counter() - started
        tokenizer = bleu_tokenizer(package.target)
        bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenizer).score
        chrf = sacrebleu.corpus_chrf(hypotheses, [references]).score
        speed = len(rows) / elapsed if elapsed else 0.0
        print(
            f"| {package.source}→{package.target} | {package.name} | {len(rows)} | {bleu:.1f} | {chrf:.1f} "
            f"| {tokenizer} | {elapsed:.1f} | {speed:.1f} |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default_dir = Path(os.environ.get("ARGOS_PACKAGES_DIR") or DEFAULT_PACKAGES)
    parser.add_argument("--packages-dir", type=Path, default=default_dir)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=1000, help="pairs per direction (default 1000)")
    parser.add_argument("--pipeline", action="store_true", help="translate through the glossary pipeline")
    arguments = parser.parse_args(argv)
    return run(arguments.packages_dir, arguments.data, arguments.limit, arguments.pipeline)


if __name__ == "__main__":
    sys.exit(main())
