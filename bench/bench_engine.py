"""End-to-end latency per message in the engine, as deployed: the trained model of ``bot.training``
(NLU data + KB questions + hiragana twins), the SQLite store, the KB and the catalogs.

Each dev query (``../shared/eval/dev.jsonl``, texts only: no labels are read) is the first message
of a new conversation, as in ``yorisoi eval``: store the message, load the state, understand, answer,
commit. The database is a fresh SQLite file in a temporary folder; the NLU model is the one in
``var/`` (trained first when missing: minutes on one core).

Run: ``OMP_NUM_THREADS=1 python bench/bench_engine.py``
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import build_components  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.types import InboundMessage  # noqa: E402

DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def main() -> int:
    """Print a Markdown table."""
    if not DEV.exists():
        print(f"SKIP: {DEV} not found (the shared data is not beside the repo)")
        return 0
    logging.basicConfig(level=logging.ERROR)
    texts = [(row["bot"], row["text"]) for row in map(json.loads, DEV.read_text(encoding="utf-8").splitlines())
             if row]
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(REPO / "config.yml").model_copy(
            update={"database_url": f"sqlite:///{Path(folder) / 'bench.db'}"})
        started = time.perf_counter()
        components = build_components(config)
        load_seconds = time.perf_counter() - started
        engine, nlu = components.engine, components.nlu
        engine.handle(InboundMessage(bot="city_hall", channel="bench", sender="warm-up", text="warm up"))
        turns, parses, skipped = [], [], 0
        for number, (bot, text) in enumerate(texts):
            started = time.perf_counter()
            engine.handle(InboundMessage(bot=bot, channel="bench", sender=f"bench-{number}", text=text))
            turns.append(1000 * (time.perf_counter() - started))
        for bot, text in texts:  # the NLU alone, on the same texts (its in-memory cache cleared first)
            getattr(nlu, "_query_cache", {}).clear()
            started = time.perf_counter()
            result = nlu.parse(bot, text)
            parses.append(1000 * (time.perf_counter() - started))
            skipped += bool(getattr(result, "encoder_skipped", False))
        components.database.dispose()
    print(f"## Engine latency per message ({len(texts)} dev texts, each the first message of a conversation, "
          f"SQLite, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, load average {os.getloadavg()[0]:.1f})\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| build components (load model, KB, catalogs; migrate) | {load_seconds:.1f} s |")
    print(f"| engine.handle p50 / p95 / max (targets 20 / 50 ms) | {statistics.median(turns):.1f} / "
          f"{percentile(turns, 0.95):.1f} / {max(turns):.1f} ms |")
    print(f"| of which NLU parse p50 / p95 | {statistics.median(parses):.1f} / {percentile(parses, 0.95):.1f} ms |")
    print(f"| parses without the encoder (lexical head certain) | {skipped}/{len(texts)} = "
          f"{100 * skipped / len(texts):.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
