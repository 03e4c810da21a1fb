// The one generic pre-norm transformer decoder that runs every supported family (Llama, Mistral,
// SmolLM, Qwen2, Qwen3, Gemma 3), configured by an ArchConfig and the model's HyperParams.
//
// Block (per layer), x: [M, n_embd] activations of M tokens at positions pos0..pos0+M-1:
//   h = rmsnorm(x) * attn_norm
//   q = h Wqᵀ (+bq) [M, n_head*hd];  k, v = h Wkᵀ (+bk), h Wvᵀ (+bv)  [M, n_head_kv*hd]
//   (Qwen3/Gemma 3) q, k = per-head rmsnorm * q_norm / k_norm
//   q, k = RoPE (adjacent pairs; rotate_half checkpoints are permuted at load)
//   K/V rows appended to the cache; a = softmax(q kᵀ * scale + causal/sliding mask) v
//   o = a Woᵀ;  (Gemma 3) o = rmsnorm(o) * post_attention_norm;  x += o
//   h = rmsnorm(x) * ffn_norm;  f = down(act(gate(h)) * up(h));  (Gemma 3) f = rmsnorm(f) *
//   post_ffw_norm x += f
// Logits = rmsnorm(x) * output_norm · Woutᵀ (tied to the embedding when output.weight is absent).
//
// Thread-safety: a Decoder is immutable after build(); forward() may run concurrently for different
// sessions (each passes its own cache, scratch and thread pool).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "io/model_description.hpp"
#include "llmkit/status.hpp"
#include "models/arch_registry.hpp"
#include "ops/linear.hpp"
#include "ops/thread_pool.hpp"
#include "runtime/kv_cache.hpp"

namespace llmkit::models {

struct LayerWeights {
  ops::PackedLinear wq, wk, wv, wo, gate, up, down;
  // Fast backend, when the parts share one type: [Wq; Wk; Wv] as one matrix (N = qd + 2 kvd) and
  // [Wgate; Wup] (N = 2 n_ff); the separate ones are then empty. One product instead of three (or
  // two) quantizes the shared input once and synchronizes the thread pool once.
  ops::PackedLinear wqkv, gate_up;
  std::vector<float> attn_norm, ffn_norm, post_attn_norm, post_ffn_norm;  // [n_embd]
  std::vector<float> q_norm, k_norm;                                      // [head_dim]
  std::vector<float> bq, bk, bv;                                          // biases (Qwen2)
  bool sliding = false;                                                   // Gemma 3 local layer
};

// Per-session scratch activations, sized for the largest batch.
struct Scratch {
  int32_t capacity = 0;  // tokens
  std::vector<float> x, h, q, k, v, att, o, gate, up;
  std::vector<float> qkv, gate_up;  // [M, qd + 2 kvd] and [M, 2 n_ff] outputs of the fused products
  std::vector<float> head_buf;      // [2, n_ctx, kv_dim] K/V rows of one layer converted to f32
  std::vector<float> rope_cs;       // [M, 2 (global, local), head_dim] cos/sin of the batch
};

struct ForwardRequest {
  const int32_t* tokens = nullptr;
  int32_t n_tokens = 0;
  int32_t pos0 = 0;                           // position of tokens[0]; the cache holds 0..pos0-1
  bool all_logits = false;                    // logits for every token, else only for the last one
  float* logits = nullptr;                    // [all_logits ? n_tokens : 1, n_vocab]
  const std::atomic<bool>* cancel = nullptr;  // checked between layers
};

class RepackCache;

// BUILD packs every matrix for BACKEND; with a CACHE (kFast only), layers found there are mapped
// instead of packed, and packed ones are recorded in it (the caller saves it).
class Decoder {
 public:
  static Result<std::unique_ptr<Decoder>> build(std::shared_ptr<const io::ModelDescription> desc,
                                                const ArchConfig& arch, ops::Backend backend,
                                                const std::function<bool(float)>& progress = {},
                                                RepackCache* cache = nullptr);

  const io::HyperParams& hparams() const noexcept { return hp_; }
  const ArchConfig& arch() const noexcept { return arch_; }
  ops::Backend backend() const noexcept { return backend_; }
  uint32_t kv_dim() const noexcept { return hp_.n_head_kv * hp_.head_dim; }
  // Per layer: the sliding attention window, or 0 for full attention (sizes the KV rings).
  std::vector<uint32_t> kv_windows() const;
  uint64_t weight_bytes_per_token() const noexcept;

  Status prepare_scratch(Scratch& s, int32_t max_tokens, uint32_t n_ctx, int n_threads) const;
  // Runs the tokens, writes K/V rows pos0.. into the cache and the requested logits.
  Status forward(const ForwardRequest& req, runtime::KvCache& cache, Scratch& s,
                 ops::ThreadPool& pool) const;

 private:
  Decoder() = default;
  // cos/sin of POS's angles for the global or local base: CS[2j], CS[2j + 1], j < head_dim/2.
  void rope_table(int32_t pos, bool local, float* cs) const;
  // Rotates adjacent pairs of every head of X by the angles in CS (from rope_table).
  void rope(float* x, int32_t n_heads, const float* cs) const;

  std::shared_ptr<const io::ModelDescription> desc_;
  io::HyperParams hp_;
  ArchConfig arch_;
  ops::Backend backend_ = ops::Backend::kFast;
  const io::TensorRef* embd_ = nullptr;
  std::vector<LayerWeights> layers_;
  std::vector<float> output_norm_;
  ops::PackedLinear output_;
  std::vector<float> inv_freq_global_, inv_freq_local_;  // [head_dim/2]
  float attn_scale_ = 1.0f;
  float embed_scale_ = 1.0f;
  std::vector<std::vector<uint8_t>> owned_;  // permuted Q/K weights the reference path borrows
};

}  // namespace llmkit::models
