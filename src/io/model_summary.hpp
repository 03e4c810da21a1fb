// Facts about a model for `llmkit inspect` and the C ABI's metadata queries: parameter count,
// tensor-type mix, special tokens, and a memory estimate. Derived only from the description, so
// it agrees with the file by construction (sums over the tensor infos).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/model_description.hpp"

namespace llmkit::io {

struct TypeMix {
  std::string type;
  uint64_t n_tensors = 0;
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
};

struct SpecialToken {
  std::string role;  // "bos", "eos", "eot", "pad", "unk"
  int64_t id = -1;
  std::string text;
};

struct MemoryEstimate {
  uint32_t n_ctx = 0;
  std::string kv_type;  // "f32", "f16", "bf16"
  uint64_t weights_bytes = 0;
  uint64_t kv_cache_bytes = 0;  // 2 (K,V) × n_layer × n_ctx × n_head_kv × head_dim × sizeof(kv)
  uint64_t scratch_bytes = 0;   // activations for a 512-token prefill batch + logits
  uint64_t total() const { return weights_bytes + kv_cache_bytes + scratch_bytes; }
};

struct ModelSummary {
  std::string format;  // "gguf" or "safetensors"
  std::string path;
  std::string name;
  std::string architecture;
  std::string license;
  std::string file_type;
  uint64_t n_params = 0;
  uint64_t n_tensors = 0;
  uint64_t weights_bytes = 0;
  std::vector<TypeMix> type_mix;  // by bytes, descending
  uint32_t n_ctx_train = 0;
  uint32_t n_vocab = 0;
  std::string tokenizer_type;  // GGUF tokenizer.ggml.model, or HF tokenizer.json model type
  std::string tokenizer_pre;
  std::vector<SpecialToken> special_tokens;
  bool has_chat_template = false;
  std::string qk_row_order;  // "gguf-interleaved" / "hf-rotate-half"
  HyperParams hparams;
  MemoryEstimate memory;
};

// KV_TYPE: "f32", "f16" or "bf16".
Result<ModelSummary> summarize_model(const ModelDescription& d, uint32_t n_ctx,
                                     const std::string& kv_type);
MemoryEstimate estimate_memory(const ModelDescription& d, uint32_t n_ctx,
                               uint32_t kv_bytes_per_elem);

}  // namespace llmkit::io
