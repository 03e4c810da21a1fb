#!/usr/bin/env python3
"""Golden data for llmkit's dequantizers (src/ops/dequant.cpp), from the `gguf` Python package.

Every case is a real GGUF tensor:
  * the cached models ~/.cache/llmkit/{SmolLM2-135M-Instruct.Q4_1,gemma-3-270m-q4_k_m}.gguf
    (Q4_1, Q8_0, Q5_0, Q4_K, Q6_K, F32),
  * the fixtures ../shared/fixtures/models/{stories260K,TinyStories-656K-Q8_0}.gguf (F32, Q8_0),
  * for the types no available file has (F16, BF16, Q4_0, Q5_1, Q2_K, Q3_K, Q5_K, IQ4_NL):
    a llama-shaped F32 model with random weights (n_embd 256, FFN 512, so every row is a
    multiple of 256 as K-quants need) written with the gguf writer and quantized by llama.cpp's own
    quantizer (llama_cpp.llama_model_quantize from llama-cpp-python); MXFP4 (which llama.cpp only
    applies to MoE experts) is quantized by gguf.quants.quantize from the same F32 weights.

For each case the golden stores the raw block bytes of the first `rows_stored` rows
(<name>.raw), the expected f32 of those rows (<name>.f32, from gguf.quants.dequantize) and, for
tensors in the model files, the sha256 of the dequantized WHOLE tensor (little-endian f32) so the
C++ test can check every row of the real file when it is present. Index: cases.json.

  python3 tools/gen_dequant_goldens.py [--out tests/golden/dequant] [--work /tmp/llmkit-dequant]
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("LLMKIT_FIXTURES", ROOT.parent / "shared" / "fixtures"))
CACHE = Path(os.environ.get("LLMKIT_MODEL_CACHE", Path.home() / ".cache" / "llmkit"))
SEED = 20261122
MAX_FULL_ELEMS = 4 << 20  # whole-tensor hashes only for tensors up to 4M elements (test speed)


def row_bytes(qtype: T, k: int) -> int:
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    return k // bs * ts


def raw_rows(t) -> np.ndarray:
    """Tensor bytes as (rows, row_bytes) uint8, whatever numpy view GGUFReader gives."""
    data = np.ascontiguousarray(t.data)
    k = int(t.shape[0])
    rb = row_bytes(t.tensor_type, k)
    return data.view(np.uint8).reshape(-1, rb)


def dequant(raw: np.ndarray, qtype: T, k: int) -> np.ndarray:
    out = gguf.quants.dequantize(raw.reshape(-1, row_bytes(qtype, k)), qtype)
    return np.ascontiguousarray(out, dtype=np.float32).reshape(-1, k)


def add_case(cases, out_dir: Path, name: str, qtype: T, k: int, raw: np.ndarray, rows_stored: int,
             rows_f32: int, model: str | None, tensor: str, full_rows: int | None = None,
             full_sha: str | None = None):
    raw = np.ascontiguousarray(raw[:rows_stored])
    expected = dequant(raw, qtype, k)
    (out_dir / f"{name}.raw").write_bytes(raw.tobytes())
    (out_dir / f"{name}.f32").write_bytes(expected[:rows_f32].astype("<f4").tobytes())
    cases.append(dict(
        name=name, type=qtype.name, k=k, rows_stored=int(raw.shape[0]), rows_f32=rows_f32,
        stored_sha256=hashlib.sha256(expected.astype("<f4").tobytes()).hexdigest(),
        model=model, tensor=tensor, full_rows=full_rows, full_sha256=full_sha))
    print(f"  {name}: {qtype.name} k={k} rows_stored={raw.shape[0]}", file=sys.stderr)


def from_model(cases, out_dir: Path, model_ref: str, path: Path, per_type: int, rows: int = 2):
    """Up to `per_type` tensors of each type found in PATH (smallest 2-D ones first)."""
    r = gguf.GGUFReader(str(path))
    by_type: dict[T, list] = {}
    for t in r.tensors:
        if len(t.shape) < 2:
            continue
        by_type.setdefault(t.tensor_type, []).append(t)
    for qtype, ts in sorted(by_type.items(), key=lambda kv: kv[0].value):
        ts.sort(key=lambda t: int(t.n_elements))
        for t in ts[:per_type]:
            k = int(t.shape[0])
            rr = raw_rows(t)
            full_sha = None
            if int(t.n_elements) <= MAX_FULL_ELEMS:
                full_sha = hashlib.sha256(dequant(rr, qtype, k).astype("<f4").tobytes()).hexdigest()
            name = f"{path.stem}__{t.name}".replace("/", "_")
            add_case(cases, out_dir, name, qtype, k, rr, rows, rows, model_ref, t.name,
                     int(rr.shape[0]), full_sha)


def write_random_llama(path: Path, rng: np.random.Generator):
    """F32 llama model: n_embd 256, 1 layer, 4 heads, FFN 512, vocab 256 — every matrix row is a
    multiple of 256. Weights are Gaussian with per-row scales and a few outliers so blocks see
    varied ranges (what the quantizers' scale searches care about)."""
    n_embd, n_ff, n_vocab, n_head = 256, 512, 256, 4
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("llmkit dequant test (random weights)")
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_token_list([f"<t{i}>".encode() for i in range(n_vocab)])
    w.add_token_scores([0.0] * n_vocab)
    w.add_token_types([1] * n_vocab)

    def mat(rows, cols):
        m = rng.standard_normal((rows, cols)).astype(np.float32)
        m *= rng.uniform(0.005, 0.05, size=(rows, 1)).astype(np.float32)
        mask = rng.random((rows, cols)) < 0.002
        m[mask] *= 20.0
        return m

    w.add_tensor("token_embd.weight", mat(n_vocab, n_embd))
    w.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    w.add_tensor("output.weight", mat(n_vocab, n_embd))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(n_embd, np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(n_embd, np.float32))
    for nm in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{nm}.weight", mat(n_embd, n_embd))
    w.add_tensor("blk.0.ffn_gate.weight", mat(n_ff, n_embd))
    w.add_tensor("blk.0.ffn_up.weight", mat(n_ff, n_embd))
    w.add_tensor("blk.0.ffn_down.weight", mat(n_embd, n_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def quantize_with_llama_cpp(src: Path, dst: Path, ftype: int):
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({dst.name}) failed: {rc}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "golden" / "dequant"))
    ap.add_argument("--work", default="/tmp/llmkit-dequant")
    args = ap.parse_args()
    out_dir, work = Path(args.out), Path(args.work)
    out_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    for f in out_dir.glob("*.raw"):
        f.unlink()
    for f in out_dir.glob("*.f32"):
        f.unlink()
    cases: list[dict] = []

    # 1. Real models (the cache) and fixtures.
    for ref, path, per_type in (
            ("cache:SmolLM2-135M-Instruct.Q4_1.gguf", CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf", 2),
            ("cache:gemma-3-270m-q4_k_m.gguf", CACHE / "gemma-3-270m-q4_k_m.gguf", 2),
            ("fixture:models/stories260K.gguf", FIXTURES / "models" / "stories260K.gguf", 1),
            ("fixture:models/TinyStories-656K-Q8_0.gguf",
             FIXTURES / "models" / "TinyStories-656K-Q8_0.gguf", 1)):
        if not path.exists():
            sys.exit(f"missing {path}: run tools/fetch_models.sh first")
        print(f"{path.name}:", file=sys.stderr)
        from_model(cases, out_dir, ref, path, per_type)

    # 2. llama.cpp-quantized random llama model for the remaining types.
    rng = np.random.default_rng(SEED)
    f32_path = work / "rand-llama-256-F32.gguf"
    write_random_llama(f32_path, rng)
    import llama_cpp
    have = {c["type"] for c in cases}
    ftypes = [("F16", llama_cpp.LLAMA_FTYPE_MOSTLY_F16), ("BF16", llama_cpp.LLAMA_FTYPE_MOSTLY_BF16),
              ("Q4_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0), ("Q5_1", llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1),
              ("Q2_K", llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K), ("Q3_K", llama_cpp.LLAMA_FTYPE_MOSTLY_Q3_K_M),
              ("Q5_K", llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M),
              ("IQ4_NL", llama_cpp.LLAMA_FTYPE_MOSTLY_IQ4_NL)]
    for label, ftype in ftypes:
        q_path = work / f"rand-llama-256-{label}.gguf"
        quantize_with_llama_cpp(f32_path, q_path, ftype)
        r = gguf.GGUFReader(str(q_path))
        # Per file: every type it contains that no earlier case covers, one tensor each (the whole
        # tensor's raw bytes, rows capped at 64), preferring blk.0.attn_q (a square matrix).
        seen: set[str] = set()
        for t in sorted(r.tensors, key=lambda t: (t.name != "blk.0.attn_q.weight", t.name)):
            tn = t.tensor_type.name
            if len(t.shape) < 2 or tn in seen or (tn in have and tn != label):
                continue
            seen.add(tn)
            k = int(t.shape[0])
            rr = raw_rows(t)
            add_case(cases, out_dir, f"rand256-{label}__{t.name}", t.tensor_type, k, rr,
                     min(64, rr.shape[0]), 2, None, t.name)
        have |= seen

    # 3. MXFP4: gguf.quants' quantizer on the random model's F32 attn_q.
    r = gguf.GGUFReader(str(f32_path))
    src = next(t for t in r.tensors if t.name == "blk.0.attn_q.weight")
    vals = np.ascontiguousarray(src.data, dtype=np.float32).reshape(-1, 256)[:64]
    q = gguf.quants.quantize(vals, T.MXFP4)
    add_case(cases, out_dir, "rand256-MXFP4__blk.0.attn_q.weight", T.MXFP4, 256,
             q.view(np.uint8).reshape(64, -1), 64, 2, None, "blk.0.attn_q.weight")

    (out_dir / "cases.json").write_text(json.dumps(
        {"generator": "tools/gen_dequant_goldens.py", "gguf_version": getattr(gguf, "__version__", "?"),
         "cases": cases}, indent=1) + "\n")
    total = sum(f.stat().st_size for f in out_dir.iterdir())
    types = sorted({c["type"] for c in cases})
    print(f"{len(cases)} cases, types {types}, {total / 1024:.0f} KiB in {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
