#!/usr/bin/env python3
"""Tiny random Hugging Face checkpoints + transformers logits goldens for the decoder families.

Each model keeps the real architecture switches of a released config (Llama 3.2, Qwen2.5, Qwen3,
Gemma 3, Mistral v0.1: RoPE base and scaling, biases, QK norm, norm offsets, tied embeddings,
sliding-window layout, query scaling) with tiny sizes, random weights (seeded), float32:

  tests/models/hf-tiny-<family>/{config.json, model.safetensors}
  tests/golden/hf-tiny/<family>.json   (64 token ids and transformers' logits at 3 positions)

config.json is written in the classic field layout that published checkpoints use (rope_theta,
rope_scaling, ...), and the goldens are computed by transformers from the SAVED folder, so they check
that llmkit and transformers read the same file the same way.

Usage: python3 tools/gen_hf_tiny_models.py   (needs torch + transformers; CPU is enough)
"""
import json
import os

import numpy as np
import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "tests", "models")
GOLDEN = os.path.join(ROOT, "tests", "golden", "hf-tiny")
N_TOKENS = 64
POSITIONS = [0, 31, 63]

TINY = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, vocab_size=512, max_position_embeddings=512, torch_dtype="float32")

FAMILIES = {
    # meta-llama/Llama-3.2-1B: llama3 rope scaling, theta 5e5, tied embeddings, rms eps 1e-5.
    "llama3": dict(model_type="llama", architectures=["LlamaForCausalLM"], num_hidden_layers=2,
                   rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=1,
                   eos_token_id=2, hidden_act="silu", attention_bias=False, mlp_bias=False,
                   rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    # Qwen/Qwen2.5-0.5B: QKV bias, theta 1e6, tied, eps 1e-6.
    "qwen2": dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], num_hidden_layers=2,
                  rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu",
                  use_sliding_window=False, sliding_window=None, bos_token_id=1, eos_token_id=2),
    # Qwen/Qwen3-0.6B: per-head Q/K RMSNorm, no bias, theta 1e6, tied, eps 1e-6.
    "qwen3": dict(model_type="qwen3", architectures=["Qwen3ForCausalLM"], num_hidden_layers=2,
                  rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu",
                  attention_bias=False, use_sliding_window=False, sliding_window=None, bos_token_id=1,
                  eos_token_id=2),
    # google/gemma-3-270m: (1+w) norms, pre/post norms, GeGLU tanh, QK norm, sqrt(d) embedding
    # scale, 5 local (sliding, base 1e4) : 1 global (base 1e6) layers, query_pre_attn_scalar.
    # Sliding window 16 < 64 tokens so the local mask matters; 6 layers include a global one.
    "gemma3": dict(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], num_hidden_layers=6,
                   rope_theta=1000000.0, rope_local_base_freq=10000.0, rms_norm_eps=1e-6,
                   tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh",
                   query_pre_attn_scalar=16, sliding_window=16, sliding_window_pattern=6,
                   layer_types=["sliding_attention"] * 5 + ["full_attention"],
                   final_logit_softcapping=None, attn_logit_softcapping=None, bos_token_id=2,
                   eos_token_id=1, pad_token_id=0, rope_scaling=None),
    # mistralai/Mistral-7B-v0.1: untied output, theta 1e4, sliding window 4096 (> context here).
    "mistral": dict(model_type="mistral", architectures=["MistralForCausalLM"], num_hidden_layers=2,
                    rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, hidden_act="silu",
                    sliding_window=4096, bos_token_id=1, eos_token_id=2),
}


def make(name, fields):
    cfg_dict = dict(TINY)
    cfg_dict.update(fields)
    out_dir = os.path.join(MODELS, "hf-tiny-" + name)
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1234)
    config = transformers.AutoConfig.for_model(**{k: v for k, v in cfg_dict.items() if k != "model_type"},
                                               model_type=cfg_dict["model_type"])
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    # Random init is tiny (std 0.02); widen it so logits are O(1) and differences show. Norm weights
    # get random values too, so (1+w) vs w mistakes cannot hide.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(torch.randn_like(p) * 0.3 + (0.0 if name == "gemma3" else 1.0))
            elif p.dim() == 1:
                p.copy_(torch.randn_like(p) * 0.1)
            else:
                p.copy_(torch.randn_like(p) * 0.15)
    model.save_pretrained(out_dir, safe_serialization=True)
    # Classic config layout (what published checkpoints carry).
    cfg = dict(cfg_dict)
    cfg["transformers_version"] = transformers.__version__
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    for extra in ("generation_config.json",):
        p = os.path.join(out_dir, extra)
        if os.path.exists(p):
            os.remove(p)

    # Goldens from the saved folder.
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(out_dir, torch_dtype=torch.float32,
                                                                 attn_implementation="eager")
    reloaded.eval()
    rng = np.random.default_rng(7)
    ids = [int(cfg_dict["bos_token_id"])] + [int(x) for x in rng.integers(3, cfg_dict["vocab_size"], N_TOKENS - 1)]
    with torch.no_grad():
        logits = reloaded(torch.tensor([ids])).logits[0].double().numpy()
    os.makedirs(GOLDEN, exist_ok=True)
    with open(os.path.join(GOLDEN, name + ".json"), "w") as f:
        json.dump({"model": "tests/models/hf-tiny-" + name, "generator": "transformers " + transformers.__version__ +
                   ", torch " + torch.__version__ + ", float32, eager attention",
                   "tokens": ids, "positions": POSITIONS,
                   "logits": [[round(float(v), 6) for v in logits[p]] for p in POSITIONS]}, f)
    print(name, "ok", os.path.getsize(os.path.join(out_dir, "model.safetensors")), "bytes")


def main():
    for name, fields in FAMILIES.items():
        make(name, fields)


if __name__ == "__main__":
    main()
