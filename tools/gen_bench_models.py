#!/usr/bin/env python3
"""Generate the random-weight benchmark models of issue 5 ("Faster than llama.cpp on the CPU").

Speed does not depend on weight values, only on shapes and types, so the benchmark set uses random
weights (normal, std 0.02, fixed seed; norms = 1) in the *exact* shapes of two real models:

  llama1b-shape   Llama-3.2-1B:  hidden 2048, 16 layers, 32 q / 8 kv heads (head_dim 64), FFN 8192,
                  vocab 128256, tied embeddings, rope theta 500000, rms eps 1e-5,
                  tokenizer = the real Llama 3 byte-level BPE vocabulary + merges (tokenizer.ggml.*),
                  copied from ../shared/fixtures/tokenizers/hf-llama3-lenml/tokenizer.json.
                  (Llama 3.2's "llama3" rope frequency scaling tensor rope_freqs is left out: it does
                  not change the amount of work.)
  qwen05b-shape   Qwen2.5-0.5B:  hidden 896, 24 layers, 14 q / 2 kv heads (head_dim 64), FFN 4864,
                  vocab 151936 (151669 real tokens + padding), Q/K/V biases, tied, rope theta 1e6,
                  rms eps 1e-6, tokenizer from ../shared/fixtures/tokenizers/hf-qwen3-lenml.

Each is written as an F16 GGUF (F32 norms and biases) with the `gguf` Python writer, streamed tensor
by tensor (the 1B model never sits in memory whole), then quantized by llama.cpp's own quantizer
(`llama-quantize` from tools/build_llamacpp.sh, default per-tensor rules: with tied embeddings the
token embedding is quantized as the output matrix, Q6_K for Q4_0 on Llama, Q8_0 on Qwen) to Q8_0 and
Q4_0. Output: ~/.cache/llmkit/bench/{llama1b-shape,qwen05b-shape}-{F16,Q8_0,Q4_0}.gguf.
Existing outputs are kept (pass --force to regenerate).

  python3 tools/gen_bench_models.py [--out DIR] [--models llama1b,qwen05b] [--types Q8_0,Q4_0]
                                    [--quantize PATH] [--keep-f16] [--force]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import gguf

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("LLMKIT_FIXTURES", ROOT.parent / "shared" / "fixtures"))
CACHE = Path(os.environ.get("LLMKIT_MODEL_CACHE", Path.home() / ".cache" / "llmkit"))
SEED = 1234
STD = 0.02

# llama.cpp token types (llama_token_type / gguf.TokenType).
TT_NORMAL, TT_CONTROL, TT_USER_DEFINED, TT_UNUSED = 1, 3, 4, 5

SPECS = {
    "llama1b": dict(
        arch="llama", name="llama1b-shape (random weights, Llama-3.2-1B shapes)",
        hidden=2048, layers=16, heads=32, kv_heads=8, ffn=8192, vocab=128256,
        rope_theta=500000.0, rms_eps=1e-5, ctx=131072, qkv_bias=False,
        tokenizer="hf-llama3-lenml", pre="llama-bpe", bos="<|begin_of_text|>",
        eos="<|eot_id|>", add_bos=True),
    "qwen05b": dict(
        arch="qwen2", name="qwen05b-shape (random weights, Qwen2.5-0.5B shapes)",
        hidden=896, layers=24, heads=14, kv_heads=2, ffn=4864, vocab=151936,
        rope_theta=1000000.0, rms_eps=1e-6, ctx=32768, qkv_bias=True,
        tokenizer="hf-qwen3-lenml", pre="qwen2", bos="<|endoftext|>",
        eos="<|im_end|>", add_bos=False),
}


def load_vocab(spec: dict) -> tuple[list[str], list[int], list[str], int, int]:
    """tokens (by id, padded to spec['vocab']), token types, merges, bos id, eos id."""
    path = FIXTURES / "tokenizers" / spec["tokenizer"] / "tokenizer.json"
    tj = json.loads(path.read_text(encoding="utf-8"))
    model = tj["model"]
    if model.get("type") != "BPE":
        raise SystemExit(f"{path}: expected a BPE model, got {model.get('type')}")
    n = spec["vocab"]
    tokens: list[str | None] = [None] * n
    types = [TT_NORMAL] * n
    for piece, idx in model["vocab"].items():
        tokens[idx] = piece
    for added in tj.get("added_tokens", []):
        idx = added["id"]
        tokens[idx] = added["content"]
        types[idx] = TT_CONTROL if added.get("special") else TT_USER_DEFINED
    for i in range(n):
        if tokens[i] is None:  # embedding rows without a token (Qwen pads 151669 -> 151936)
            tokens[i] = f"[PAD{i}]"
            types[i] = TT_UNUSED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    index = {t: i for i, t in enumerate(tokens)}
    return tokens, types, merges, index[spec["bos"]], index[spec["eos"]]


def tensor_plan(spec: dict) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, numpy shape [rows, cols], kind) in file order; kind: 'w' random F16, 'norm' ones F32,
    'bias' random F32."""
    h, f = spec["hidden"], spec["ffn"]
    hd = h // spec["heads"]
    kv = spec["kv_heads"] * hd
    plan = [("token_embd.weight", (spec["vocab"], h), "w")]
    for i in range(spec["layers"]):
        p = f"blk.{i}."
        plan.append((p + "attn_norm.weight", (h,), "norm"))
        plan.append((p + "attn_q.weight", (h, h), "w"))
        plan.append((p + "attn_k.weight", (kv, h), "w"))
        plan.append((p + "attn_v.weight", (kv, h), "w"))
        if spec["qkv_bias"]:
            plan.append((p + "attn_q.bias", (h,), "bias"))
            plan.append((p + "attn_k.bias", (kv,), "bias"))
            plan.append((p + "attn_v.bias", (kv,), "bias"))
        plan.append((p + "attn_output.weight", (h, h), "w"))
        plan.append((p + "ffn_norm.weight", (h,), "norm"))
        plan.append((p + "ffn_gate.weight", (f, h), "w"))
        plan.append((p + "ffn_up.weight", (f, h), "w"))
        plan.append((p + "ffn_down.weight", (h, f), "w"))
    plan.append(("output_norm.weight", (h,), "norm"))
    return plan


def make_tensor(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "norm":
        return np.ones(shape, dtype=np.float32)
    if kind == "bias":
        return (rng.standard_normal(shape, dtype=np.float32) * STD).astype(np.float32)
    out = np.empty(shape, dtype=np.float16)
    rows = shape[0]
    step = max(1, (32 << 20) // max(1, int(np.prod(shape[1:]))))  # ~32M values per chunk
    for r in range(0, rows, step):
        chunk = rng.standard_normal((min(step, rows - r),) + shape[1:], dtype=np.float32)
        chunk *= STD
        out[r:r + chunk.shape[0]] = chunk
    return out


def write_f16(spec: dict, path: Path) -> None:
    tokens, types, merges, bos, eos = load_vocab(spec)
    arch = spec["arch"]
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(spec["name"])
    w.add_description("Random weights (normal std 0.02, seed %d) for speed benchmarks only; "
                      "generated by llmkit tools/gen_bench_models.py" % SEED)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(spec["ctx"])
    w.add_embedding_length(spec["hidden"])
    w.add_block_count(spec["layers"])
    w.add_feed_forward_length(spec["ffn"])
    w.add_head_count(spec["heads"])
    w.add_head_count_kv(spec["kv_heads"])
    w.add_rope_freq_base(spec["rope_theta"])
    w.add_layer_norm_rms_eps(spec["rms_eps"])
    w.add_rope_dimension_count(spec["hidden"] // spec["heads"])
    w.add_vocab_size(spec["vocab"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(spec["pre"])
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(spec["add_bos"])

    plan = tensor_plan(spec)
    for name, shape, kind in plan:
        dt = np.float16 if kind == "w" else np.float32
        w.add_tensor_info(name, shape, np.dtype(dt), int(np.prod(shape)) * np.dtype(dt).itemsize)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(SEED)
    for name, shape, kind in plan:
        w.write_tensor_data(make_tensor(rng, shape, kind))
    w.close()


def find_quantizer(explicit: str | None) -> str:
    if explicit:
        return explicit
    default = Path(os.environ.get("LLAMACPP_BUILD_DIR", CACHE / "llama.cpp-build")) / "build/bin/llama-quantize"
    if default.exists():
        return str(default)
    raise SystemExit("llama-quantize not found: run tools/build_llamacpp.sh first or pass --quantize")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(CACHE / "bench"))
    ap.add_argument("--models", default="llama1b,qwen05b")
    ap.add_argument("--types", default="Q8_0,Q4_0")
    ap.add_argument("--quantize", help="path of llama-quantize")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep-f16", action="store_true", help="keep the F16 intermediate files")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for key in args.models.split(","):
        spec = SPECS[key]
        f16 = out / f"{key}-shape-F16.gguf"
        targets = [out / f"{key}-shape-{t}.gguf" for t in args.types.split(",") if t]
        todo = [t for t in targets if args.force or not t.exists()]
        if todo or (args.keep_f16 and not f16.exists()):
            if args.force or not f16.exists():
                t0 = time.time()
                tmp = f16.with_suffix(".gguf.tmp")
                write_f16(spec, tmp)
                tmp.rename(f16)
                print(f"[gen] wrote {f16} ({f16.stat().st_size / 1e9:.2f} GB, {time.time() - t0:.0f} s)",
                      file=sys.stderr)
            q = find_quantizer(args.quantize) if todo else ""
            for target in todo:
                qtype = target.stem.rsplit("-", 1)[1]
                t0 = time.time()
                tmp = target.with_suffix(".gguf.tmp")
                proc = subprocess.run([q, str(f16), str(tmp), qtype, str(args.threads)],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
                    raise SystemExit(f"llama-quantize failed for {target}")
                tmp.rename(target)
                print(f"[gen] quantized {target} ({target.stat().st_size / 1e9:.2f} GB, "
                      f"{time.time() - t0:.0f} s)", file=sys.stderr)
            if not args.keep_f16 and f16.exists():
                f16.unlink()
        for t in targets:
            print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
