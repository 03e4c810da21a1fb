#!/usr/bin/env python3
"""Reference outputs from llama.cpp (through llama-cpp-python) for GGUF models.

For each model this writes tests/golden/llamacpp/<stem>.json with
  - prompts: text, the token ids llama.cpp produced (add_bos per the file, special tokens parsed),
    64 greedy continuation tokens (argmax of llama.cpp's logits, no sampler chain) and the top-32
    logits after the prompt;
  - teacher_forced: over the first N tokens of tests/golden/llamacpp/eval_text.txt (the GPL-3 text,
    a real English document), the argmax at every position and the perplexity.

Usage: python3 tools/gen_llamacpp_goldens.py [MODEL.gguf ...]
(default: the two cached models in ~/.cache/llmkit). Deterministic: greedy + fp32 logits; run with
one thread so the reduction order is fixed.
"""
import json
import math
import os
import sys

import numpy as np
import llama_cpp
import llama_cpp.llama as _llama_mod

# llama.cpp's AMX "extra buffer" matmul crashes (SIGSEGV in ggml_backend_amx_mul_mat) on this VM's
# AMX-capable CPU; the plain CPU kernels are what we compare against anyway.
_default_params = llama_cpp.llama_model_default_params


def _params_without_extra_bufts():
    p = _default_params()
    p.use_extra_bufts = False
    return p


_llama_mod.llama_cpp.llama_model_default_params = _params_without_extra_bufts
from llama_cpp import Llama  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT_DIR = os.path.join(ROOT, "tests", "golden", "llamacpp")
CACHE = os.environ.get("LLMKIT_MODEL_CACHE", os.path.expanduser("~/.cache/llmkit"))

N_GREEDY = 64
N_EVAL = 2000

PLAIN_PROMPTS = [
    ("english", "Once upon a time, there was a little robot who"),
    ("fact", "The capital of France is"),
    ("korean", "한국의 수도는 서울입니다. 서울은"),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("history", "In 1969, Neil Armstrong"),
]
CHAT_QUESTION = "What is the capital of France?"


def chat_prompt(arch, chat_template):
    """The chat-formatted prompt, written out by hand for the families we test (the C++ chat
    formatter must produce the same text; tests check that too)."""
    if arch == "gemma3":
        return "<start_of_turn>user\n" + CHAT_QUESTION + "<end_of_turn>\n<start_of_turn>model\n"
    if chat_template and "<|im_start|>" in chat_template:
        sys_prompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
        return ("<|im_start|>system\n" + sys_prompt + "<|im_end|>\n<|im_start|>user\n" + CHAT_QUESTION +
                "<|im_end|>\n<|im_start|>assistant\n")
    raise SystemExit("no chat format for " + arch)


def log_softmax(x):
    m = np.max(x)
    return x - m - math.log(np.sum(np.exp(x - m)))


def run_model(path):
    llm = Llama(model_path=path, n_ctx=N_EVAL + 64, n_batch=512, n_threads=1, n_threads_batch=1,
                logits_all=True, verbose=False, seed=0)
    meta = llm.metadata
    arch = meta.get("general.architecture")
    add_bos = meta.get("tokenizer.ggml.add_bos_token", "true") == "true"
    template = meta.get("tokenizer.chat_template")
    out = {"model": os.path.basename(path), "architecture": arch, "add_bos": add_bos,
           "generator": "llama-cpp-python " + __import__("llama_cpp").__version__,
           "n_greedy": N_GREEDY, "prompts": []}
    cases = list(PLAIN_PROMPTS) + [("chat", chat_prompt(arch, template))]
    for name, text in cases:
        toks = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        llm.reset()
        llm.eval(toks)
        first = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        top = np.argsort(-first)[:32]
        gen = []
        for _ in range(N_GREEDY):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            gen.append(nxt)
            llm.eval([nxt])
        text_out = llm.detokenize(gen).decode("utf-8", errors="replace")
        out["prompts"].append({
            "name": name, "text": text, "prompt_tokens": toks, "greedy_tokens": gen,
            "greedy_text": text_out,
            "top_logits": [[int(i), float(first[i])] for i in top],
        })
        print(f"  {name}: {len(toks)} prompt tokens -> {text_out[:60]!r}", file=sys.stderr)

    with open(os.path.join(OUT_DIR, "eval_text.txt"), encoding="utf-8") as f:
        eval_text = f.read()
    toks = llm.tokenize(eval_text.encode("utf-8"), add_bos=add_bos, special=False)[:N_EVAL]
    llm.reset()
    llm.eval(toks)
    scores = np.array(llm.scores[:len(toks)], dtype=np.float64)
    top1 = [int(i) for i in np.argmax(scores, axis=1)]
    nll = 0.0
    for i in range(len(toks) - 1):
        nll -= log_softmax(scores[i])[toks[i + 1]]
    n = len(toks) - 1
    out["teacher_forced"] = {
        "text_file": "eval_text.txt", "n_tokens": len(toks), "tokens": toks, "top1": top1,
        "nll_sum": nll, "n_predicted": n, "perplexity": math.exp(nll / n),
    }
    print(f"  ppl over {n} predictions: {math.exp(nll / n):.4f}", file=sys.stderr)
    return out


def main():
    models = sys.argv[1:] or [os.path.join(CACHE, "SmolLM2-135M-Instruct.Q4_1.gguf"),
                              os.path.join(CACHE, "gemma-3-270m-q4_k_m.gguf")]
    os.makedirs(OUT_DIR, exist_ok=True)
    for m in models:
        print(m, file=sys.stderr)
        res = run_model(m)
        stem = os.path.splitext(os.path.basename(m))[0]
        with open(os.path.join(OUT_DIR, stem + ".json"), "w", encoding="utf-8") as f:
            json.dump(res, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
