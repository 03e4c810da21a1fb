#!/usr/bin/env python3
"""Goldens for llmkit's SentencePiece tokenizers (GGUF `llama` vocabularies, tokenizer.model).

Companion of tools/gen_tokenizer_goldens.py (which covers tokenizer.json files and byte-level
GGUF vocabularies and owns the corpus tests/golden/tokenizer_corpus.txt). Writes:

  tests/golden/tokenizer_goldens_gemma3_gguf.json
      The Gemma 3 GGUF (~/.cache/llmkit/gemma-3-270m-q4_k_m.gguf, tokenizer.ggml.model = llama,
      add_space_prefix = false) must tokenize like Hugging Face `tokenizers` running
      ../shared/fixtures/tokenizers/hf-gemma3-lenml/tokenizer.json. Same case format as the other
      goldens: ids (special-token text not parsed: HF encode_special_tokens=True), ids_special
      (parsed), decoded (HF decode(ids, skip_special_tokens=False)), roundtrip.

  tests/golden/tokenizer_goldens_spm_bytes.json
      Input that is not valid UTF-8 (hex-encoded), which HF cannot take. References:
        gguf_llama_spm  llama.cpp (llama-cpp-python, vocab_only) on vocab/ggml-vocab-llama-spm.gguf
        gguf_gemma3     llama.cpp on the Gemma 3 GGUF (when present)
        model_llama2    the sentencepiece library on tokenizers/llama2-tokenizer.model
      each with add_bos=False, special=False; gguf_llama_spm_decoded_hex is llama.cpp's
      token_to_piece bytes of those ids, concatenated, minus one leading space (the dummy prefix).

  tests/golden/tokenizer_goldens_spm_llamacpp.json
      llama.cpp's ids (special=False) and ids_special (special=True) for the corpus on
      vocab/ggml-vocab-llama-spm.gguf and vocab/ggml-vocab-phi-3.gguf, to compare with HF's where
      the two references disagree on special-token handling.

Usage: python3 tools/gen_tokenizer_goldens_spm.py [--fixtures ../shared/fixtures] [--models ~/.cache/llmkit]
Requires: tokenizers, sentencepiece, llama-cpp-python (tools/requirements-reference.txt).
"""
import argparse
import json
import os

SEP = "\n__llmkit_tokenizer_case__\n"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEMMA_GGUF = "gemma-3-270m-q4_k_m.gguf"

# Byte strings that are not valid UTF-8: truncated sequences, stray continuation bytes, overlongs,
# surrogates, bytes never valid in UTF-8, and invalid bytes next to text that would merge.
INVALID_UTF8 = [
    b"\xff",
    b"ab\xffcd",
    b"\xe3\x81",
    b"x\xe3ab",
    b"\xe3\x81\x82\xe3\x81",
    b"\x80\x80hello",
    b"\xc0\xaf",
    b"\xed\xa0\x80z",
    b"\xf4\x90\x80\x80",
    b"Hello \xf0\x9f\x98 world",
    b"\xf8\x88\x80\x80\x80",
    b"caf\xe9 cr\xe8me",
    b" \xfe\xfe ",
    b"\n\xc3",
    b"\xe2\x96",
    b"ok \xe2\x96\x81\xe2\x96 end",
]


def read_corpus(path):
    with open(path, encoding="utf-8", newline="") as f:
        parts = f.read().split(SEP)
    return parts[1:-1]


def gemma_goldens(fixtures, corpus):
    import tokenizers
    from tokenizers import Tokenizer

    tj = os.path.join(fixtures, "tokenizers", "hf-gemma3-lenml", "tokenizer.json")
    plain = Tokenizer.from_file(tj)
    plain.encode_special_tokens = True
    special = Tokenizer.from_file(tj)
    cases = []
    for text in corpus:
        ids = plain.encode(text, add_special_tokens=False).ids
        ids_sp = special.encode(text, add_special_tokens=False).ids
        decoded = special.decode(ids, skip_special_tokens=False)
        cases.append({"text": text, "ids": ids, "ids_special": ids_sp, "decoded": decoded,
                      "roundtrip": decoded == text})
    return {
        "tokenizer": GEMMA_GGUF,
        "tokenizer_location": "model cache (~/.cache/llmkit)",
        "reference": "huggingface tokenizers %s on tokenizers/hf-gemma3-lenml/tokenizer.json"
                     % tokenizers.__version__,
        "cases": cases,
    }


def llama_cpp_vocab(gguf_path):
    from llama_cpp import Llama

    return Llama(model_path=gguf_path, vocab_only=True, verbose=False)


def llama_cpp_ids(gguf_path, inputs, special=False):
    m = llama_cpp_vocab(gguf_path)
    return [m.tokenize(b, add_bos=False, special=special) for b in inputs]


def llama_cpp_pieces(gguf_path, ids):
    """Concatenated token_to_piece bytes (special tokens not rendered)."""
    import ctypes
    import llama_cpp

    m = llama_cpp_vocab(gguf_path)
    vocab = llama_cpp.llama_model_get_vocab(m._model.model)
    out = b""
    for t in ids:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(vocab, t, buf, 256, 0, False)
        out += buf.raw[:n]
    return out


def llamacpp_corpus_goldens(fixtures, corpus):
    out = {}
    for name, rel in [("llama_spm", "vocab/ggml-vocab-llama-spm.gguf"), ("phi3", "vocab/ggml-vocab-phi-3.gguf")]:
        path = os.path.join(fixtures, rel)
        enc = [t.encode("utf-8") for t in corpus]
        ids = llama_cpp_ids(path, enc)
        ids_sp = llama_cpp_ids(path, enc, special=True)
        out[name] = {"vocab": rel, "cases": [{"text": t, "ids": a, "ids_special": b}
                                            for t, a, b in zip(corpus, ids, ids_sp)]}
    import llama_cpp
    return {"reference": "llama-cpp-python %s (vocab_only)" % llama_cpp.__version__, "vocabs": out}


def bytes_goldens(fixtures, models):
    import llama_cpp
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(
        model_file=os.path.join(fixtures, "tokenizers", "llama2-tokenizer.model"))
    refs = {
        "gguf_llama_spm": llama_cpp_ids(
            os.path.join(fixtures, "vocab", "ggml-vocab-llama-spm.gguf"), INVALID_UTF8),
        "model_llama2": [sp.encode(b) for b in INVALID_UTF8],
    }
    gemma = os.path.join(models, GEMMA_GGUF)
    if os.path.exists(gemma):
        refs["gguf_gemma3"] = llama_cpp_ids(gemma, INVALID_UTF8)
    spm_path = os.path.join(fixtures, "vocab", "ggml-vocab-llama-spm.gguf")
    cases = []
    for i, b in enumerate(INVALID_UTF8):
        c = {"hex": b.hex()}
        for k, v in refs.items():
            c[k] = v[i]
        raw = llama_cpp_pieces(spm_path, refs["gguf_llama_spm"][i])
        c["gguf_llama_spm_decoded_hex"] = (raw[1:] if raw.startswith(b" ") else raw).hex()
        cases.append(c)
    return {
        "references": {
            "gguf_llama_spm": "llama-cpp-python %s, vocab/ggml-vocab-llama-spm.gguf" % llama_cpp.__version__,
            "gguf_gemma3": "llama-cpp-python %s, %s (model cache)" % (llama_cpp.__version__, GEMMA_GGUF),
            "model_llama2": "sentencepiece %s, tokenizers/llama2-tokenizer.model" % spm.__version__,
        },
        "cases": cases,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "..", "shared", "fixtures"))
    ap.add_argument("--models", default=os.path.expanduser("~/.cache/llmkit"))
    args = ap.parse_args()
    out_dir = os.path.join(ROOT, "tests", "golden")
    corpus = read_corpus(os.path.join(out_dir, "tokenizer_corpus.txt"))

    def write(name, obj):
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print("wrote", path)

    write("tokenizer_goldens_gemma3_gguf.json", gemma_goldens(args.fixtures, corpus))
    write("tokenizer_goldens_spm_bytes.json", bytes_goldens(args.fixtures, args.models))
    write("tokenizer_goldens_spm_llamacpp.json", llamacpp_corpus_goldens(args.fixtures, corpus))


if __name__ == "__main__":
    main()
