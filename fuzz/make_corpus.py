#!/usr/bin/env python3
"""Builds the libFuzzer seed corpora in fuzz/corpus/<target>/ from the real fixtures.

    python3 fuzz/make_corpus.py            # rewrites fuzz/corpus/{fuzz_gguf,fuzz_safetensors,fuzz_hf_config}

Seeds must stay small (< 200 KB per target), so the real models are shrunk: every metadata
key/value of the fixture GGUFs is kept (real vocabularies, scores, token types), while tensors keep
their real names, ggml types and leading rows of real data but get tiny shapes. The real
safetensors headers are kept verbatim (with the data cut to a few bytes) and also re-emitted as
small, valid files with the same names, dtypes and __metadata__.

Needs the `gguf` and `numpy` Python packages (see tools/requirements.txt).
"""
import json
import os
import shutil
import struct
import sys

import numpy as np
import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.environ.get("LLMKIT_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def out_dir(target):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regression-"):  # inputs that once crashed a reader stay in the corpus
            os.remove(os.path.join(d, f))
    return d


def copy_kv(reader, writer, keep_vocab=None):
    """Copies every KV pair except the ones GGUFWriter writes itself."""
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture" or name == "general.alignment":
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = field.types[1]
            vals = field.contents()
            if keep_vocab is not None:
                vals = vals[:keep_vocab]
            writer.add_key_value(name, vals, vtype, sub_type=sub)
        else:
            writer.add_key_value(name, field.contents(), vtype)


def shrink_gguf(src, dst, keep_vocab=None, max_tensors=None, max_rows=2):
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    copy_kv(r, w, keep_vocab)
    tensors = r.tensors if max_tensors is None else r.tensors[:max_tensors]
    for t in tensors:
        qt = gguf.GGMLQuantizationType(int(t.tensor_type))
        block, tsize = gguf.GGML_QUANT_SIZES[qt]
        ne0 = int(t.shape[0])
        rows = 1 if len(t.shape) == 1 else min(max_rows, int(np.prod(t.shape[1:])))
        row_bytes = ne0 // block * tsize
        raw = np.frombuffer(bytes(t.data.tobytes()[: rows * row_bytes]), dtype=np.uint8)
        # GGUFWriter takes raw bytes in PyTorch order (outermost first), last dim in bytes.
        w.add_tensor(t.name, raw.reshape(rows, row_bytes) if len(t.shape) > 1 else raw, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def all_types_gguf(dst):
    """One KV of every value type (incl. nested arrays), a custom alignment and tensors of
    several ggml types, so mutations start from every branch of the reader."""
    w = gguf.GGUFWriter(dst, "llama")
    w.add_custom_alignment(64)
    T = gguf.GGUFValueType
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -3)
    w.add_uint16("t.u16", 65000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 1.5)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo ▁wörld")
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**40))
    w.add_float64("t.f64", -2.25)
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_f32", [0.5, 1.5])
    w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_key_value("t.arr_bool", [True, False], T.ARRAY, sub_type=T.BOOL)
    w.add_key_value("t.arr_nested", [[1, 2], [3]], T.ARRAY)
    w.add_uint32("llama.embedding_length", 32)
    w.add_uint32("llama.block_count", 1)
    w.add_uint32("llama.attention.head_count", 4)
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "a"])
    w.add_uint32("tokenizer.ggml.bos_token_id", 1)
    rng = np.random.default_rng(0)
    w.add_tensor("token_embd.weight", rng.standard_normal((4, 32)).astype(np.float32))
    w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float16))
    q8 = np.frombuffer(rng.bytes(34 * 2), dtype=np.uint8).reshape(2, 34)
    w.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    q4k = np.frombuffer(rng.bytes(144), dtype=np.uint8).reshape(1, 144)
    w.add_tensor("blk.0.ffn_up.weight", q4k, raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    w.add_tensor("blk.0.empty", np.zeros((0, 32), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def split_kv_gguf(dst):
    w = gguf.GGUFWriter(dst, "llama")
    w.add_uint16("split.no", 0)
    w.add_uint16("split.count", 1)
    w.add_int32("split.tensors.count", 1)
    w.add_tensor("output_norm.weight", np.arange(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(path, header, buffer):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + buffer)


def shrink_safetensors(src, dst):
    """Same names, dtypes and __metadata__ as SRC, shapes cut to one row of real data."""
    b = open(src, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8 : 8 + n])
    out, buf = {}, bytearray()
    for k, v in hdr.items():
        if k == "__metadata__":
            out[k] = v
            continue
        elem = {"F32": 4, "F16": 2, "BF16": 2}[v["dtype"]]
        shape = [1, min(v["shape"][-1], 8)] if len(v["shape"]) == 2 else [min(v["shape"][0], 8)]
        nbytes = elem * int(np.prod(shape))
        begin = 8 + n + v["data_offsets"][0]
        out[k] = {"dtype": v["dtype"], "shape": shape, "data_offsets": [len(buf), len(buf) + nbytes]}
        buf += b[begin : begin + nbytes]
    write_safetensors(dst, out, bytes(buf))


def header_only(src, dst, keep=64):
    """The real header verbatim with the byte buffer cut (parses to 'out of bounds')."""
    b = open(src, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    open(dst, "wb").write(b[: 8 + n + keep])


def all_dtypes_safetensors(dst):
    hdr, buf = {"__metadata__": {"format": "pt"}}, bytearray()
    for dt, size in [("F64", 8), ("F32", 4), ("F16", 2), ("BF16", 2), ("I64", 8), ("I32", 4),
                     ("I16", 2), ("I8", 1), ("U8", 1), ("BOOL", 1)]:
        hdr["t_" + dt] = {"dtype": dt, "shape": [2, 3], "data_offsets": [len(buf), len(buf) + 6 * size]}
        buf += bytes(range(6 * size))
    hdr["scalar"] = {"dtype": "F32", "shape": [], "data_offsets": [len(buf), len(buf) + 4]}
    buf += struct.pack("<f", 3.0)
    hdr["empty"] = {"dtype": "F32", "shape": [0, 4], "data_offsets": [len(buf), len(buf)]}
    write_safetensors(dst, hdr, bytes(buf))


def repack_cache_image(entries, source=(1000, 2000, 3000, 4000)):
    """A valid .llmkpack image (io/repack_cache_format.hpp) with tiny entries [(key, type, K, N, size)]."""
    align = lambda x: (x + 4095) // 4096 * 4096
    index_len = sum(4 + len(k) + 4 + 4 + 8 * 5 for k, *_ in entries)
    off = align(4096 + index_len)
    index = b""
    for key, typ, k, n, size in entries:
        kb = key.encode()
        index += struct.pack("<I", len(kb)) + kb + struct.pack("<IIqqQQQ", typ, 0, k, n, 0x1234, off, size)
        off = align(off + size)
    header = b"LLMKPAK1" + struct.pack("<II4QQQQII", 1, len(entries), *source, 4096, len(index), off,
                                       0x01020304, 0) + b"0.1.0".ljust(32, b"\0")
    img = bytearray(off)
    img[:len(header)] = header
    img[4096:4096 + len(index)] = index
    return bytes(img)


def main():
    d = out_dir("fuzz_repack_cache")
    open(f"{d}/two-entries.llmkpack", "wb").write(
        repack_cache_image([("blk.0.attn_q.weight+blk.0.attn_k.weight", 8, 64, 32, 100), ("output.weight", 2, 64, 16, 64)]))
    open(f"{d}/empty-index.llmkpack", "wb").write(repack_cache_image([]))

    d = out_dir("fuzz_gguf")
    shrink_gguf(f"{FIX}/models/stories260K.gguf", f"{d}/stories260K-mini.gguf")
    shrink_gguf(f"{FIX}/models/TinyStories-656K-Q8_0.gguf", f"{d}/TinyStories-656K-mini.gguf", keep_vocab=300)
    shrink_gguf(f"{FIX}/models/llama-2-tiny-random.gguf", f"{d}/llama-2-tiny-random-mini.gguf", keep_vocab=300)
    shrink_gguf(f"{FIX}/vocab/more/ggml-vocab-bert-bge.gguf", f"{d}/vocab-bert-bge-mini.gguf", keep_vocab=200)
    shrink_gguf(f"{FIX}/vocab/ggml-vocab-gpt-2.gguf", f"{d}/vocab-gpt-2-mini.gguf", keep_vocab=200)
    all_types_gguf(f"{d}/all-types.gguf")
    split_kv_gguf(f"{d}/split-kv.gguf")
    v2 = bytearray(open(f"{d}/split-kv.gguf", "rb").read())
    v2[4:8] = struct.pack("<I", 2)
    open(f"{d}/version2.gguf", "wb").write(v2)

    # fuzz_spm takes any GGUF vocabulary through the facade: the WordPiece one too.
    shutil.copy(f"{d}/vocab-bert-bge-mini.gguf", f"{OUT}/fuzz_spm/vocab-bert-bge-mini.gguf")

    d = out_dir("fuzz_safetensors")
    shrink_safetensors(f"{FIX}/safetensors/stories260K-hf-derived/model.safetensors", f"{d}/stories260K-hf-mini.safetensors")
    shrink_safetensors(f"{FIX}/safetensors/TinyStories-656K/model.safetensors", f"{d}/TinyStories-656K-mini.safetensors")
    header_only(f"{FIX}/safetensors/TinyStories-656K/model.safetensors", f"{d}/TinyStories-656K-header.safetensors")
    all_dtypes_safetensors(f"{d}/all-dtypes.safetensors")

    d = out_dir("fuzz_hf_config")
    for name in ["stories260K-hf-derived", "TinyStories-656K"]:
        with open(f"{FIX}/safetensors/{name}/config.json", "rb") as f:
            open(f"{d}/{name}-config.json", "wb").write(f.read())
    # Shapes of other families' configs (fields the parser branches on), written from the
    # families' published config keys.
    extra = {
        "gemma3-multimodal.json": {"model_type": "gemma3", "tie_word_embeddings": True,
                                   "text_config": {"hidden_size": 640, "num_hidden_layers": 18, "num_attention_heads": 4,
                                                   "num_key_value_heads": 1, "head_dim": 256, "intermediate_size": 2048,
                                                   "rope_local_base_freq": 10000.0, "query_pre_attn_scalar": 256,
                                                   "sliding_window": 512, "hidden_activation": "gelu_pytorch_tanh",
                                                   "layer_types": ["sliding_attention"] * 5 + ["full_attention"]}},
        "qwen2-rope-scaling.json": {"model_type": "qwen2", "hidden_size": 896, "num_attention_heads": 14,
                                    "num_key_value_heads": 2, "vocab_size": 151936, "eos_token_id": [151645, 151643],
                                    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}},
        "gemma2-softcap.json": {"model_type": "gemma2", "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0,
                                "hidden_act": "gelu_pytorch_tanh", "head_dim": 256, "sliding_window": 4096},
    }
    for fn, cfg in extra.items():
        with open(f"{d}/{fn}", "w") as f:
            json.dump(cfg, f)

    for t in os.listdir(OUT):
        total = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in os.listdir(os.path.join(OUT, t)))
        print(f"{t}: {len(os.listdir(os.path.join(OUT, t)))} seeds, {total} bytes")
        if total > 200_000:
            sys.exit(f"{t}: corpus too large ({total} bytes)")


if __name__ == "__main__":
    main()
