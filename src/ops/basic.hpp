// Elementwise and attention kernels used by the decoder. Architecture-agnostic: callers pass the
// variant flags (Gemma's (1+w) norm, NeoX rope, softcap, sliding window, ...).
//
// All functions are pure (no hidden state); they never allocate except attention(), which uses
// thread-local scratch. Shapes are given in elements, row-major, innermost dimension last.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/thread_pool.hpp"

namespace llmkit::ops {

// ---- conversions ----------------------------------------------------------------------------
// IEEE half <-> float with round-to-nearest-even (same as F16C / ggml).
uint16_t f32_to_f16(float f) noexcept;
float f16_to_f32(uint16_t h) noexcept;
// bf16 with round-to-nearest-even, NaN kept quiet (ggml_compute_fp32_to_bf16).
uint16_t f32_to_bf16(float f) noexcept;
void f32_to_f16_row(const float* x, uint16_t* out, int64_t n) noexcept;
void f16_to_f32_row(const uint16_t* x, float* out, int64_t n) noexcept;

// ---- normalization --------------------------------------------------------------------------
// out[n] = x[n] / sqrt(mean(x²) + eps) * (add_one ? 1 + w : w). w may be null (no weight).
// out may alias x. Like ggml: sum of squares in double, scale = 1/sqrtf(mean + eps) in float,
// out = (x * scale) * w.
void rmsnorm(const float* x, const float* w, int64_t n, float eps, bool add_one,
             float* out) noexcept;
// Same for `rows` consecutive rows of n elements.
void rmsnorm_rows(const float* x, const float* w, int64_t rows, int64_t n, float eps, bool add_one,
                  float* out) noexcept;
// LayerNorm: (x - mean) / sqrt(var + eps) * w + b (w, b may be null).
void layernorm(const float* x, const float* w, const float* b, int64_t n, float eps,
               float* out) noexcept;

// ---- rotary position embedding ----------------------------------------------------------------
enum class RopeMode {
  kAdjacent,  // GGUF/llama.cpp "normal": rotates pairs (2i, 2i+1) — llama arch in GGUF
  kNeox,      // rotate_half: pairs (i, i + n_rot/2) — qwen2, gemma, phi3, ... in llama.cpp
};

struct RopeParams {
  int head_dim = 0;
  int n_rot = 0;           // rotated dims (<= head_dim); 0 means head_dim
  float theta = 10000.f;   // rope_freq_base
  float freq_scale = 1.f;  // linear scaling: position *= freq_scale
  RopeMode mode = RopeMode::kAdjacent;
  const float* freq_factors = nullptr;  // optional [n_rot/2] divisors (llama3 "rope_freqs")
};

// cos/sin for one position: cs[2*i] = cos, cs[2*i+1] = sin for i in [0, n_rot/2). Computed like
// ggml (theta_i = pos * base^(-2i/n_rot) built by repeated float multiplication, / freq_factor_i).
void rope_cache(const RopeParams& p, int64_t pos, float* cs) noexcept;
// Rotates x [n_head, head_dim] in place for position pos (cs from rope_cache, may be null).
void rope(float* x, int n_head, const RopeParams& p, int64_t pos,
          const float* cs = nullptr) noexcept;
// llama3 rope scaling expressed as per-dimension divisors (what convert_hf_to_gguf writes into
// `rope_freqs.weight`): returns [n_rot/2].
std::vector<float> llama3_freq_factors(int n_rot, float theta, float factor, float low_freq_factor,
                                       float high_freq_factor, int original_max_pos);

// ---- activations ----------------------------------------------------------------------------
// softmax over n values in place (max-subtracted, f32 exp; sum in double like ggml).
void softmax(float* x, int64_t n) noexcept;
void silu(const float* x, float* out, int64_t n) noexcept;  // x * sigmoid(x)
void gelu_tanh(const float* x, float* out,
               int64_t n) noexcept;  // 0.5x(1+tanh(√(2/π)(x+0.044715x³)))
// out = silu(gate) * up ; out = gelu_tanh(gate) * up. out may alias either input.
void swiglu(const float* gate, const float* up, float* out, int64_t n) noexcept;
void geglu(const float* gate, const float* up, float* out, int64_t n) noexcept;
// llama.cpp's CPU variants (ggml defines GGML_GELU_FP16): gelu is looked up from an f16 table,
// i.e. y = f16(gelu(f16(x))) for -10 < x < 10, 0 below, x above. Use these to track llama.cpp.
void gelu_tanh_ggml(const float* x, float* out, int64_t n) noexcept;
void geglu_ggml(const float* gate, const float* up, float* out, int64_t n) noexcept;
// out = a + b (out may alias a or b); out = a * s.
void add(const float* a, const float* b, float* out, int64_t n) noexcept;
void scale(float* x, float s, int64_t n) noexcept;
// x = cap * tanh(x / cap) (Gemma-2 style logit softcapping).
void softcap(float* x, float cap, int64_t n) noexcept;

// ---- attention over a KV cache ---------------------------------------------------------------
enum class KvType { kF32, kF16 };

// KV cache layout: K and V each [n_kv_head, n_ctx, head_dim] (head-major, then position).
struct AttentionParams {
  int n_head = 0;
  int n_kv_head = 0;           // GQA: query head h reads KV head h / (n_head / n_kv_head)
  int head_dim = 0;            // of K and V
  int64_t n_ctx = 0;           // cache capacity (positions) = stride between KV heads
  float scale = 1.f;           // applied to q·k (usually 1/sqrt(head_dim))
  float softcap = 0.f;         // > 0: logits = softcap * tanh(logits / softcap) before the mask
  int64_t sliding_window = 0;  // > 0: query at p sees keys k with p - k < sliding_window
  KvType kv_type = KvType::kF32;
};

// q: [n_q, n_head, head_dim], the queries for positions pos0 .. pos0+n_q-1 (causal: query i sees
// keys 0 .. pos0+i). The cache must hold K/V for positions [0, pos0+n_q).
// out: [n_q, n_head, head_dim]. With an F16 cache, q is rounded to f16 before the q·k dot
// (llama.cpp does the same); scores, softmax and the V accumulation are f32.
void attention(const float* q, int64_t n_q, int64_t pos0, const void* k_cache, const void* v_cache,
               const AttentionParams& p, float* out, ThreadPool* pool) noexcept;

// Writes rows k[n_kv_head, head_dim] / v[...] for position pos into the cache.
void kv_store(const float* k, const float* v, int64_t pos, void* k_cache, void* v_cache,
              const AttentionParams& p) noexcept;

}  // namespace llmkit::ops
