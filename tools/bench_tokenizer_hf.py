#!/usr/bin/env python3
"""Tokenizer speed: llmkit vs Hugging Face `tokenizers` (single-threaded) on the same ~10 MB.

Builds the document set from tests/golden/tokenizer_corpus.txt (cases joined by newlines, in a
different deterministic order per document, each document tagged with its number, repeated until
~10 MB), writes it to DOCS.bin for build/bench_tokenizer, times HF `Tokenizer.encode_batch` with
RAYON_NUM_THREADS=1 / TOKENIZERS_PARALLELISM=false (special-token text not parsed,
add_special_tokens=False), runs the llmkit benchmark binary on the same documents and compares
token counts and an FNV-1a hash of all ids.

  python3 tools/bench_tokenizer_hf.py --bench build/bench_tokenizer [--mb 10] [--rounds 3]
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEP = "\n__llmkit_tokenizer_case__\n"


def build_docs(target_bytes):
    with open(os.path.join(ROOT, "tests", "golden", "tokenizer_corpus.txt"), encoding="utf-8",
              newline="") as f:
        cases = f.read().split(SEP)[1:-1]
    docs, total, i, state = [], 0, 0, 12345
    while total < target_bytes:
        order = list(range(len(cases)))
        for k in range(len(order) - 1, 0, -1):  # LCG Fisher-Yates: reproducible everywhere
            state = (state * 1103515245 + 12345) % (1 << 31)
            j = state % (k + 1)
            order[k], order[j] = order[j], order[k]
        doc = "Document %d\n" % i + "\n".join(cases[k] for k in order)
        docs.append(doc)
        total += len(doc.encode("utf-8"))
        i += 1
    return docs


def write_docs(docs, path):
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(docs)))
        for d in docs:
            b = d.encode("utf-8")
            f.write(struct.pack("<I", len(b)))
            f.write(b)


def fnv(all_ids):
    h = 1469598103934665603
    for ids in all_ids:
        for i in ids:
            for k in range(4):
                h ^= (i >> (8 * k)) & 0xFF
                h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def hf_run(path, docs, rounds):
    import tokenizers
    from tokenizers import Tokenizer
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(path)
    load = time.perf_counter() - t0
    tok.encode_special_tokens = True
    best, first, out = 1e30, 0.0, None
    for r in range(rounds):
        t0 = time.perf_counter()
        enc = tok.encode_batch(docs, add_special_tokens=False)
        s = time.perf_counter() - t0
        if r == 0:
            first = s
        best = min(best, s)
        out = [e.ids for e in enc]
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    return {"impl": "hf-tokenizers %s" % tokenizers.__version__, "tokenizer": path,
            "docs": len(docs), "bytes": nbytes, "tokens": sum(len(x) for x in out),
            "threads": 1, "load_s": round(load, 3), "first_s": round(first, 4),
            "best_s": round(best, 4), "mb_per_s": round(nbytes / 1e6 / best, 2),
            "hash": fnv(out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bench_tokenizer"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "..", "shared", "fixtures"))
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="llmkit threads (HF stays at 1)")
    args = ap.parse_args()
    docs = build_docs(int(args.mb * 1e6))
    tmp = tempfile.mkdtemp(prefix="llmkit-tokbench-")
    docs_path = os.path.join(tmp, "docs.bin")
    write_docs(docs, docs_path)
    # Llama 2's tokenizer.json as shipped in the fixtures cannot be loaded by HF (see
    # tools/gen_tokenizer_goldens.py); both sides use the same repaired copy.
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from gen_tokenizer_goldens import repaired_llama2_json
    l2_path = os.path.join(tmp, "llama2-tokenizer.json")
    with open(l2_path, "w", encoding="utf-8") as f:
        f.write(repaired_llama2_json(args.fixtures)[0])
    targets = [
        ("llama3", os.path.join(args.fixtures, "tokenizers", "hf-llama3-lenml", "tokenizer.json")),
        ("llama2", l2_path),
    ]
    ok = True
    for name, path in targets:
        hf = hf_run(path, docs, args.rounds)
        cmd = [args.bench, "--docs", docs_path, "--tokenizer", path, "--rounds", str(args.rounds),
               "--threads", str(args.threads)]
        lk = json.loads(subprocess.check_output(cmd).decode())
        same = hf["tokens"] == lk["tokens"] and hf["hash"] == lk["hash"]
        ok = ok and same
        print(json.dumps({"name": name, "ids_identical": same, "speedup": round(
            hf["best_s"] / lk["best_s"], 2), "hf": hf, "llmkit": lk}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
