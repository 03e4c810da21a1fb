#!/usr/bin/env python3
"""Reference readings of every model file the loader tests use -> tests/golden/loaders.json.

    python3 tools/gen_loader_goldens.py [--fixtures ../shared/fixtures] [--cache ~/.cache/llmkit]

Independent readers only: GGUF files are read with the `gguf` Python package (GGUFReader),
safetensors files with the `safetensors` package (safe_open, numpy), file hashes with hashlib,
HF tensor names mapped to GGUF names with gguf's own TensorNameMap (the table llama.cpp's
converter uses). The C++ tests (tests/test_gguf.cpp, test_safetensors.cpp,
test_model_description.cpp) compare llmkit's readers against these values exactly.

Recorded per GGUF file: size, sha256, version, alignment, counts, every scalar metadata value
(typed), every array's element type, length and a digest (first/last items, sum or total
string bytes), every tensor's name, ggml type, dims (ggml order), element count, byte count,
absolute data offset and the sha256 of its first <= 4096 data bytes, and the totals per type.
Files the reference reader refuses are recorded with its error message
("reference_error"). The two real models in the cache are recorded under "bigmodel" when present.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAD = 4096  # bytes of tensor data hashed per tensor


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ggml type names as llmkit prints them (src/io/ggml_types.cpp); the gguf enum uses the same names.
def type_name(t):
    return gguf.GGMLQuantizationType(int(t)).name


VT = gguf.GGUFValueType
INT_TYPES = {VT.UINT8, VT.INT8, VT.UINT16, VT.INT16, VT.UINT32, VT.INT32, VT.UINT64, VT.INT64}


def scalar(vtype, v):
    if vtype == VT.STRING:
        # raw bytes may not be UTF-8 (vocab pieces); keep them exact as hex when they are not
        if isinstance(v, (bytes, bytearray, np.ndarray)):
            v = bytes(v)
            try:
                return {"str": v.decode("utf-8")}
            except UnicodeDecodeError:
                return {"hex": v.hex()}
        return {"str": v}
    if vtype == VT.BOOL:
        return {"bool": bool(v)}
    if vtype in INT_TYPES:
        return {"int": str(int(v))}  # as text: uint64 values do not fit a JSON double
    return {"float": float(v)}


def field_record(field):
    vtype = field.types[0]
    rec = {"type": vtype.name}
    if vtype != VT.ARRAY:
        if vtype == VT.STRING:
            raw = bytes(field.parts[field.data[0]])
            rec.update(scalar(vtype, raw))
        else:
            rec.update(scalar(vtype, field.parts[field.data[0]][0]))
        return rec
    sub = field.types[1] if len(field.types) > 1 else None
    rec["elem_type"] = sub.name if sub is not None else "UINT8"  # empty arrays carry the type too
    n = len(field.data)
    rec["len"] = n
    if sub == VT.STRING:
        items = [bytes(field.parts[i]) for i in field.data]
        rec["total_bytes"] = sum(len(x) for x in items)
        h = hashlib.sha256()
        for x in items:
            h.update(len(x).to_bytes(8, "little") + x)
        rec["sha256"] = h.hexdigest()  # over (u64 length, bytes) of each element, in order
        if n:
            rec["first"] = scalar(VT.STRING, items[0])
            rec["last"] = scalar(VT.STRING, items[-1])
    elif sub == VT.ARRAY:
        pass  # nested arrays: length only
    elif n:
        vals = [field.parts[i][0] for i in field.data]
        if sub in INT_TYPES or sub == VT.BOOL:
            rec["sum"] = str(int(sum(int(v) for v in vals)))
        else:
            rec["sum"] = float(np.sum(np.array(vals, dtype=np.float64)))
        rec["first"] = scalar(sub, vals[0])
        rec["last"] = scalar(sub, vals[-1])
    return rec


def gguf_record(path, rel):
    r = gguf.GGUFReader(path)
    rec = {
        "file": rel,
        "size": os.path.getsize(path),
        "sha256": sha256_file(path),
        "version": int(r.fields["GGUF.version"].contents()),
        "alignment": int(r.alignment),
        "tensor_count": int(r.fields["GGUF.tensor_count"].contents()),
        "kv_count": int(r.fields["GGUF.kv_count"].contents()),
        "metadata": {},
        "tensors": [],
    }
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        rec["metadata"][name] = field_record(field)
    per_type = {}
    n_params = 0
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    for t in r.tensors:
        off = int(t.data_offset)
        nb = int(t.n_bytes)
        tn = type_name(t.tensor_type)
        rec["tensors"].append({
            "name": t.name,
            "type": tn,
            "type_id": int(t.tensor_type),
            "dims": [int(x) for x in t.shape],  # GGUFReader's shape is ggml order (ne0 first)
            "n_elements": int(t.n_elements),
            "n_bytes": nb,
            "file_offset": off,
            "head_sha256": hashlib.sha256(bytes(raw[off : off + min(nb, HEAD)])).hexdigest(),
        })
        n_params += int(t.n_elements)
        s = per_type.setdefault(tn, {"n_tensors": 0, "n_elements": 0, "n_bytes": 0})
        s["n_tensors"] += 1
        s["n_elements"] += int(t.n_elements)
        s["n_bytes"] += nb
    rec["n_params"] = n_params
    rec["bytes_per_type"] = per_type
    rec["n_bytes_total"] = sum(v["n_bytes"] for v in per_type.values())
    return rec


def safetensors_record(folder, rel):
    from safetensors import safe_open

    path = os.path.join(folder, "model.safetensors")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    n_layers = int(cfg["num_hidden_layers"])
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    rec = {"folder": rel, "file": rel + "/model.safetensors", "size": os.path.getsize(path),
           "sha256": sha256_file(path), "tensors": [], "config": cfg}
    elem = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    n_params = 0
    with safe_open(path, framework="numpy") as f:
        rec["metadata"] = f.metadata() or {}
        for k in f.keys():
            sl = f.get_slice(k)
            dtype = sl.get_dtype()
            shape = [int(x) for x in sl.get_shape()]
            n = int(np.prod(shape)) if shape else 1
            arr = f.get_tensor(k)
            data = arr.tobytes()
            rec["tensors"].append({
                "name": k,
                "dtype": dtype,
                "shape": shape,
                "n_elements": n,
                "n_bytes": n * elem[dtype],
                "sha256": hashlib.sha256(data).hexdigest(),
                "canonical": tmap.get_name(k, try_suffixes=(".weight", ".bias")),
            })
            n_params += n
    rec["n_params"] = n_params
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "..", "shared", "fixtures"))
    ap.add_argument("--cache", default=os.environ.get("LLMKIT_MODEL_CACHE", os.path.expanduser("~/.cache/llmkit")))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "loaders.json"))
    a = ap.parse_args()
    fx = os.path.abspath(a.fixtures)

    gg = []
    for sub in ["models", "vocab"]:
        for dirpath, _, files in sorted(os.walk(os.path.join(fx, sub))):
            for fn in sorted(files):
                if fn.endswith(".gguf"):
                    p = os.path.join(dirpath, fn)
                    rel = os.path.relpath(p, fx)
                    try:
                        gg.append(gguf_record(p, rel))
                    except (KeyError, ValueError) as e:
                        # The reference reader refuses the file (e.g. the 2024-05 dbrx vocabulary
                        # repeats general.file_type; current llama.cpp refuses it too): llmkit must
                        # refuse it as well, naming the same field and offset.
                        gg.append({"file": rel, "size": os.path.getsize(p), "sha256": sha256_file(p),
                                   "reference_error": str(e).strip("'\"")})
    big = []
    for fn in ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]:
        p = os.path.join(a.cache, fn)
        if os.path.exists(p):
            big.append(gguf_record(p, fn))
        else:
            print(f"warning: {p} absent; its goldens are not regenerated", file=sys.stderr)
    st = [safetensors_record(os.path.join(fx, "safetensors", d), "safetensors/" + d)
          for d in ["stories260K-hf-derived", "TinyStories-656K"]]

    # Facts the description tests need, computed from the raw readings above.
    def find(recs, rel):
        return next(r for r in recs if r["file"] == rel)
    s260 = find(gg, "models/stories260K.gguf")
    raw = np.memmap(os.path.join(fx, s260["file"]), dtype=np.uint8, mode="r")
    t = {x["name"]: x for x in s260["tensors"]}
    emb, out = t["token_embd.weight"], t["output.weight"]
    facts = {
        "stories260K_output_equals_token_embd": bool(
            np.array_equal(raw[emb["file_offset"] : emb["file_offset"] + emb["n_bytes"]],
                           raw[out["file_offset"] : out["file_offset"] + out["n_bytes"]])),
    }
    doc = {"generator": "tools/gen_loader_goldens.py", "gguf_package": gguf.__version__ if hasattr(gguf, "__version__") else "",
           "head_bytes": HEAD, "gguf": gg, "bigmodel": big, "safetensors": st, "facts": facts}
    try:
        import importlib.metadata as md
        doc["gguf_package"] = md.version("gguf")
        doc["safetensors_package"] = md.version("safetensors")
    except Exception:
        pass
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")
    print(f"wrote {a.out}: {len(gg)} GGUF fixtures, {len(big)} cached models, {len(st)} safetensors folders, "
          f"{os.path.getsize(a.out)} bytes")


if __name__ == "__main__":
    main()
