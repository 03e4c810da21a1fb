"""Raw ctypes declarations of llmkit.h (the stable C ABI). Internal: use the classes in llmkit."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Optional

c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_size_p = ctypes.POINTER(ctypes.c_size_t)

# ---- status codes (llmkit_status) -----------------------------------------------------------------
OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_NOT_FOUND = -2
ERR_IO = -3
ERR_CORRUPT_FILE = -4
ERR_UNSUPPORTED = -5
ERR_OUT_OF_MEMORY = -6
ERR_OUT_OF_RANGE = -7
ERR_CANCELLED = -8
ERR_INTERNAL = -9
ERR_NETWORK_UNAVAILABLE = -10
ERR_BUFFER_TOO_SMALL = -100

TOKENIZE_ADD_SPECIAL = 1
TOKENIZE_PARSE_SPECIAL = 2
DECODE_SKIP_SPECIAL = 1

FINISH_REASONS = ["max_tokens", "end_of_generation", "stop_token", "stop_string", "context_full", "cancelled"]
KV_TYPES = {"f32": 0, "f16": 1, "bf16": 2}
BACKENDS = {"fast": 0, "reference": 1}
SPECIAL = {"bos": 0, "eos": 1, "eot": 2, "pad": 3, "unk": 4}
MODEL_STRINGS = {"architecture": 0, "name": 1, "license": 2, "chat_template": 3, "file_type": 4,
                 "format": 5, "path": 6, "repack_cache": 7}

# ---- structs (mirror llmkit.h field by field) ------------------------------------------------------
PROGRESS_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_float, ctypes.c_void_p)
TOKEN_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t, ctypes.c_int32,
                            ctypes.c_void_p)
LOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class ModelParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("backend", ctypes.c_int32), ("n_threads", ctypes.c_int32),
                ("use_mmap", ctypes.c_int32), ("progress_callback", PROGRESS_CB),
                ("progress_user_data", ctypes.c_void_p), ("repack_cache_dir", ctypes.c_char_p)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_vocab", ctypes.c_uint32), ("n_embd", ctypes.c_uint32),
                ("n_layer", ctypes.c_uint32), ("n_head", ctypes.c_uint32), ("n_head_kv", ctypes.c_uint32),
                ("head_dim", ctypes.c_uint32), ("n_ff", ctypes.c_uint32), ("n_ctx_train", ctypes.c_uint32),
                ("n_params", ctypes.c_uint64), ("load_ms", ctypes.c_double)]


class MemoryEstimate(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_ctx", ctypes.c_uint32), ("weights_bytes", ctypes.c_uint64),
                ("kv_cache_bytes", ctypes.c_uint64), ("scratch_bytes", ctypes.c_uint64),
                ("total_bytes", ctypes.c_uint64)]


class ChatMessage(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


class SessionParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_ctx", ctypes.c_uint32), ("kv_type", ctypes.c_int32),
                ("n_threads", ctypes.c_int32), ("n_batch", ctypes.c_uint32)]


class LogitBias(ctypes.Structure):
    _fields_ = [("token", ctypes.c_int32), ("bias", ctypes.c_float)]


class SamplerParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("temperature", ctypes.c_float), ("top_k", ctypes.c_int32),
                ("top_p", ctypes.c_float), ("min_p", ctypes.c_float), ("repeat_penalty", ctypes.c_float),
                ("penalty_last_n", ctypes.c_int32), ("frequency_penalty", ctypes.c_float),
                ("presence_penalty", ctypes.c_float), ("seed", ctypes.c_uint64),
                ("logit_bias", ctypes.POINTER(LogitBias)), ("n_logit_bias", ctypes.c_size_t)]


class GenerateParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_new_tokens", ctypes.c_int32),
                ("stop_strings", ctypes.POINTER(ctypes.c_char_p)), ("n_stop_strings", ctypes.c_size_t),
                ("stop_tokens", c_int32_p), ("n_stop_tokens", ctypes.c_size_t),
                ("stop_at_end_of_generation", ctypes.c_int32), ("context_full_is_error", ctypes.c_int32)]


class Timings(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_prefill", ctypes.c_int32), ("n_reused", ctypes.c_int32),
                ("n_decode", ctypes.c_int32), ("load_ms", ctypes.c_double), ("prefill_ms", ctypes.c_double),
                ("decode_ms", ctypes.c_double), ("ttft_ms", ctypes.c_double)]


class GenerationResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("finish_reason", ctypes.c_int32), ("n_tokens", ctypes.c_int32),
                ("reserved", ctypes.c_uint32), ("timings", Timings)]


# ---- loading -------------------------------------------------------------------------------------
def _candidates() -> list:
    out = []
    env = os.environ.get("LLMKIT_LIBRARY")
    if env:
        out.append(env)
    here = Path(__file__).resolve().parent
    out += [str(here / "libllmkit.so"), str(here / "libllmkit.dylib")]
    # Used from a source checkout: bindings/python/llmkit -> repository root.
    root = here.parent.parent.parent
    for build in ("build", "build-release", "build-cabi"):
        out.append(str(root / build / "libllmkit.so"))
    found = ctypes.util.find_library("llmkit")
    if found:
        out.append(found)
    return out


def _load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:  # pragma: no cover - depends on the machine
            errors.append(f"{path}: {e}")
    raise OSError("llmkit: cannot find libllmkit.so; set LLMKIT_LIBRARY to its path"
                  + ("" if not errors else " (" + "; ".join(errors) + ")"))


_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        _lib = _declare(_load())
    return _lib


def _declare(L: ctypes.CDLL) -> ctypes.CDLL:
    P = ctypes.c_void_p
    S = ctypes.c_int  # llmkit_status
    sz = ctypes.c_size_t

    def f(name, restype, *argtypes):
        fn = getattr(L, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)

    f("llmkit_version_number", ctypes.c_int32)
    f("llmkit_version_string", ctypes.c_char_p)
    f("llmkit_status_str", ctypes.c_char_p, ctypes.c_int)
    f("llmkit_last_error", ctypes.c_char_p)
    f("llmkit_set_log_callback", None, LOG_CB, P, ctypes.c_int)
    f("llmkit_model_params_init_sized", None, ctypes.POINTER(ModelParams), ctypes.c_size_t)
    f("llmkit_model_load", S, ctypes.c_char_p, ctypes.POINTER(ModelParams), ctypes.POINTER(P))
    f("llmkit_model_free", None, P)
    f("llmkit_model_get_info", S, P, ctypes.POINTER(ModelInfo))
    f("llmkit_model_get_string", S, P, ctypes.c_int, ctypes.c_char_p, sz, c_size_p)
    f("llmkit_model_get_meta", S, P, ctypes.c_char_p, ctypes.c_char_p, sz, c_size_p)
    f("llmkit_model_estimate_memory", S, P, ctypes.c_uint32, ctypes.c_int, ctypes.POINTER(MemoryEstimate))
    f("llmkit_model_apply_chat_template", S, P, ctypes.POINTER(ChatMessage), sz, ctypes.c_int, ctypes.c_char_p,
      sz, c_size_p)
    f("llmkit_tokenizer_from_model", S, P, ctypes.POINTER(P))
    f("llmkit_tokenizer_load", S, ctypes.c_char_p, ctypes.POINTER(P))
    f("llmkit_tokenizer_free", None, P)
    f("llmkit_tokenizer_encode", S, P, ctypes.c_char_p, sz, ctypes.c_uint32, c_int32_p, sz, c_size_p)
    f("llmkit_tokenizer_decode", S, P, c_int32_p, sz, ctypes.c_uint32, ctypes.c_char_p, sz, c_size_p)
    f("llmkit_tokenizer_token_text", S, P, ctypes.c_int32, ctypes.c_char_p, sz, c_size_p)
    f("llmkit_tokenizer_n_vocab", ctypes.c_int32, P)
    f("llmkit_tokenizer_special_id", ctypes.c_int32, P, ctypes.c_int)
    f("llmkit_tokenizer_is_end_of_generation", ctypes.c_int, P, ctypes.c_int32)
    f("llmkit_session_params_init", None, ctypes.POINTER(SessionParams))
    f("llmkit_session_create", S, P, ctypes.POINTER(SessionParams), ctypes.POINTER(P))
    f("llmkit_session_free", None, P)
    f("llmkit_session_evaluate", S, P, c_int32_p, sz)
    f("llmkit_session_logits", ctypes.POINTER(ctypes.c_float), P, c_size_p)
    f("llmkit_session_get_tokens", S, P, c_int32_p, sz, c_size_p)
    f("llmkit_session_n_ctx", ctypes.c_uint32, P)
    f("llmkit_session_reset", S, P)
    f("llmkit_session_truncate", S, P, sz)
    f("llmkit_session_cancel", S, P)
    f("llmkit_sampler_params_init", None, ctypes.POINTER(SamplerParams))
    f("llmkit_generate_params_init", None, ctypes.POINTER(GenerateParams))
    f("llmkit_session_generate", S, P, c_int32_p, sz, ctypes.POINTER(SamplerParams),
      ctypes.POINTER(GenerateParams), TOKEN_CB, P, ctypes.POINTER(GenerationResult))
    f("llmkit_session_generate_text", S, P, ctypes.c_char_p, ctypes.POINTER(SamplerParams),
      ctypes.POINTER(GenerateParams), TOKEN_CB, P, ctypes.POINTER(GenerationResult))
    f("llmkit_session_last_text", S, P, ctypes.c_char_p, sz, c_size_p)
    f("llmkit_session_last_tokens", S, P, c_int32_p, sz, c_size_p)
    f("llmkit_session_last_timings", S, P, ctypes.POINTER(Timings))
    return L
