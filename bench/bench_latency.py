"""Parse latency, memory and training time with all three bots loaded.

Training data: nlu/data + knowledge-base questions (as in bench_nlu_dev.py).
Queries: the texts of ``../shared/eval/dev.jsonl`` (each parsed once with its
bot, after one warm-up parse; the in-memory query cache never hits because
the texts are distinct). Reports a cold training run (empty embedding cache)
only with ``--cold`` because it embeds every example (minutes on one core).

Run: ``OMP_NUM_THREADS=1 python bench/bench_latency.py [--cold] [--no-skip]`` (``--no-skip``:
run the encoder on every message, i.e. ``NluSettings(encoder_skip=False)``, for comparison).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nlu.evaluation import load_all_bots, read_eval_jsonl  # noqa: E402
from nlu.pipeline import NluPipeline  # noqa: E402
from nlu.training_data import DEFAULT_DATA_DIR  # noqa: E402
from nlu.types import ALL_LANGUAGES, NluSettings  # noqa: E402

SHARED = REPO.parent / "shared"
DEV = SHARED / "eval" / "dev.jsonl"
WORK = REPO / "var" / "nlu-bench"


def rss_mb() -> float:
    """Current resident set size of this process in MB (from /proc, else peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_only() -> list[tuple[str, str]]:
    """Load the trained model (no training in this process) and time parses of the dev queries."""
    settings = NluSettings(languages=ALL_LANGUAGES, encoder_skip="--no-skip" not in sys.argv)
    rows: list[tuple[str, str]] = []
    before = rss_mb()
    started = time.perf_counter()
    nlu = NluPipeline.load(WORK / "model", settings, WORK / "cache")
    nlu.parse("city_hall", "warm up")
    rows.append(("load + first parse", f"{time.perf_counter() - started:.2f} s"))
    dev = read_eval_jsonl(DEV)
    timings, cpu, skipped, cpu_skipped = [], [], 0, []
    for query in dev:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = nlu.parse(query.bot, query.text)
        timings.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.process_time() - cpu_started))
        if result.encoder_skipped:
            skipped += 1
            cpu_skipped.append(cpu[-1])
    timings.sort()
    cpu.sort()
    rows.append(("parse p50", f"{statistics.median(timings):.1f} ms"))
    rows.append(("parse p95", f"{timings[int(0.95 * (len(timings) - 1))]:.1f} ms"))
    rows.append(("parse max", f"{timings[-1]:.1f} ms"))
    rows.append(("parse CPU time p50 / p95 (excludes waiting for a busy core)",
                 f"{statistics.median(cpu):.1f} / {cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms"))
    rows.append(("encoder skipped (lexical head confident)",
                 f"{skipped}/{len(dev)} = {100 * skipped / len(dev):.1f}% of parses"
                 + (f", CPU p50 of those {statistics.median(cpu_skipped):.1f} ms" if cpu_skipped else "")))
    started = time.perf_counter()
    for query in dev[:50]:
        nlu.encoder.encode([query.text], "query")
    rows.append(("of which sentence encoding (mean of 50)", f"{20 * (time.perf_counter() - started):.1f} ms"))
    repeat = []
    for query in dev[:50]:
        started = time.perf_counter()
        nlu.parse(query.bot, query.text)
        repeat.append(1000 * (time.perf_counter() - started))
    rows.append(("parse of a repeated message (p50, in-memory cache)", f"{statistics.median(repeat):.1f} ms"))
    rows.append(("RSS of a process serving 3 bots", f"{rss_mb():.0f} MB (before loading: {before:.0f} MB)"))
    return rows


def measure_in_fresh_process() -> list[tuple[str, str]]:
    """Run :func:`parse_only` in a new interpreter so training memory does not count."""
    extra = ["--no-skip"] if "--no-skip" in sys.argv else []
    output = subprocess.run([sys.executable, __file__, "--parse-only", *extra], check=True, capture_output=True,
                            text=True).stdout
    return [(str(name), str(value)) for name, value in json.loads(output.strip().splitlines()[-1])]


def main() -> int:
    """Print a Markdown table."""
    spec = next((p for p in (REPO / "bot" / "spec" / "topics.yml", SHARED / "spec" / "topics.yml") if p.exists()),
                None)
    if not DEV.exists() or spec is None:
        print(f"SKIP: {DEV} or topics.yml not found (the shared data is not beside the repo)")
        return 0
    logging.basicConfig(level=logging.ERROR)
    bots = load_all_bots(DEFAULT_DATA_DIR, REPO / "knowledge" / "data", spec)
    settings = NluSettings(languages=ALL_LANGUAGES)
    rows: list[tuple[str, str]] = []
    if "--cold" in sys.argv:
        cold_cache = WORK / "cold-cache"
        shutil.rmtree(cold_cache, ignore_errors=True)
        report = NluPipeline.train(bots, settings, WORK / "model-cold", cold_cache)
        rows.append(("training, all bots, cold embedding cache", f"{report.seconds:.1f} s "
                     f"({report.examples} examples, {report.cache_misses} embedded)"))
        shutil.rmtree(cold_cache, ignore_errors=True)
    NluPipeline.train(bots, settings, WORK / "model", WORK / "cache")  # make sure the cache is warm
    report = NluPipeline.train(bots, settings, WORK / "model", WORK / "cache")
    rows.append(("training, all bots, warm embedding cache", f"{report.seconds:.1f} s ({report.examples} examples)"))

    rows.extend(measure_in_fresh_process())
    queries = len(read_eval_jsonl(DEV))
    print(f"## NLU latency and memory ({queries} dev queries, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, "
          f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f}, encoder skip "
          f"{'off' if '--no-skip' in sys.argv else 'on'})\n")
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    if "--parse-only" in sys.argv:
        print(json.dumps(parse_only()))
        sys.exit(0)
    sys.exit(main())
