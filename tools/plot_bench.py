#!/usr/bin/env python3
"""Chart of llmkit vs llama.cpp tok/s per model from bench/compare's JSON.

  python3 tools/plot_bench.py [RESULTS.json ...] [-o docs/img/bench-vs-llamacpp.png]

Two panels (prefill pp512, decode tg128), grouped bars per model and thread count, llama.cpp vs
llmkit, with the per-pair ratio printed above each llmkit bar. Needs matplotlib (pip install
matplotlib); not used by the library or the tests.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="*", default=[str(ROOT / "bench" / "results" / "latest.json")],
                    help="one or more bench/compare JSON files (same -p/-n); their rows are concatenated")
    ap.add_argument("-o", "--out", default=str(ROOT / "docs" / "img" / "bench-vs-llamacpp.png"))
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [json.loads(Path(f).read_text()) for f in args.results]
    data = files[0]
    sums = [s for d in files for s in d["summaries"]]
    tests = [f"pp{data['n_prompt']}", f"tg{data['n_gen']}"]
    # "Llama-3.2-1B-shape Q4_0" -> "Llama-3.2-1B-shape\nQ4_0\n2 thr": one short line each, so
    # neighbouring labels do not run into each other.
    labels = [f"{s['model'].replace(' ', chr(10), 1)}\n{s['threads']} thr" for s in sums]
    fig, axes = plt.subplots(len(tests), 1, figsize=(max(8, 1.3 * len(sums) + 2), 4.2 * len(tests)))
    if len(tests) == 1:
        axes = [axes]
    width = 0.38
    for ax, test in zip(axes, tests):
        xs = range(len(sums))
        ll = [s[test]["llama"] or 0 for s in sums]
        lk = [s[test]["llmkit"] or 0 for s in sums]
        ax.bar([x - width / 2 for x in xs], ll, width, label="llama.cpp", color="#8c8c8c")
        bars = ax.bar([x + width / 2 for x in xs], lk, width, label="llmkit", color="#2b6cb0")
        for b, s in zip(bars, sums):
            r = s[test]["ratio"]
            if r:
                ax.annotate(f"{r:.2f}×", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                            va="bottom", fontsize=8)
        vals = [v for v in ll + lk if v > 0]
        if vals and max(vals) / min(vals) > 20:  # models span orders of magnitude: log scale
            ax.set_yscale("log")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel("tokens / s")
        kind = "prefill (prompt in one batch)" if test.startswith("pp") else "decode (token by token)"
        ax.set_title(f"{test}: {kind} — median of alternating runs")
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"llmkit vs llama.cpp, {data['header']['cpu']}, {data['header']['date']}", fontsize=10)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
