// The one format-agnostic description of a model that both loaders (GGUF, safetensors/HF folder)
// produce. Nothing above src/io knows which file format a model came from.
//
// Canonical tensor names follow llama.cpp's GGUF convention:
//   token_embd.weight            [n_embd, n_vocab]      (ggml dim order: dims[0] is contiguous)
//   output_norm.weight           [n_embd]
//   output.weight                [n_embd, n_vocab]      (absent when tied to token_embd)
//   blk.N.attn_norm.weight       [n_embd]
//   blk.N.attn_q.weight          [n_embd, n_head*head_dim]      (+ .bias for Qwen2)
//   blk.N.attn_k.weight          [n_embd, n_head_kv*head_dim]   (+ .bias)
//   blk.N.attn_v.weight          [n_embd, n_head_kv*head_dim]   (+ .bias)
//   blk.N.attn_output.weight     [n_head*head_dim, n_embd]
//   blk.N.attn_q_norm.weight     [head_dim]  (Qwen3, Gemma3)
//   blk.N.attn_k_norm.weight     [head_dim]
//   blk.N.post_attention_norm.weight [n_embd] (Gemma: norm applied to the attention output)
//   blk.N.ffn_norm.weight        [n_embd]
//   blk.N.ffn_gate.weight        [n_embd, n_ff]
//   blk.N.ffn_up.weight          [n_embd, n_ff]
//   blk.N.ffn_down.weight        [n_ff, n_embd]
//   blk.N.post_ffw_norm.weight   [n_embd] (Gemma)
// Shapes are in ggml order (innermost first), i.e. the reverse of PyTorch's [out, in].
//
// Thread-safety: immutable after load; share freely.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/ggml_types.hpp"
#include "io/gguf.hpp"
#include "io/mapped_file.hpp"
#include "llmkit/status.hpp"

namespace llmkit::io {

enum class SourceFormat { kGguf, kSafetensors };

// How the Q and K projection rows are ordered within each head (see shared fixtures README):
// GGUF files store them so RoPE rotates adjacent pairs (2i, 2i+1); HF checkpoints store them for
// rotate_half (i, i + head_dim/2). HF row h*hd + i*(hd/2) + j == GGUF row h*hd + 2*j + i.
enum class QkRowOrder { kGgufInterleaved, kHfRotateHalf };

struct TensorRef {
  std::string name;  // canonical name
  TensorType type = TensorType::F32;
  std::vector<uint64_t> shape;  // ggml order: shape[0] is the contiguous dimension
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // view into a mapping owned by the ModelDescription
  // provenance
  std::string source_file;
  std::string source_name;  // name in the file (HF name for safetensors)
  uint64_t file_offset = 0;
};

// Hyperparameters common to the decoder families we run. Values absent from the file stay at
// their defaults; `raw` keeps every scalar hyperparameter the file had, typed as text, so fields we
// do not use yet are not dropped.
struct HyperParams {
  std::string architecture;  // "llama", "qwen2", "qwen3", "gemma3", "gemma2", "phi3", "mistral"...
  uint32_t n_vocab = 0;
  uint32_t n_embd = 0;
  uint32_t n_layer = 0;
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t head_dim = 0;  // n_embd / n_head unless the file says otherwise (Gemma 3)
  uint32_t n_ff = 0;
  uint32_t n_ctx_train = 0;
  float norm_eps = 1e-5f;  // RMSNorm epsilon
  float rope_theta = 10000.0f;
  float rope_theta_local = 0.0f;  // Gemma 3 sliding-window layers (0: same as rope_theta)
  std::string rope_scaling_type;  // "", "linear", "llama3", "yarn"
  float rope_scaling_factor = 1.0f;
  float rope_low_freq_factor = 1.0f;   // llama3
  float rope_high_freq_factor = 4.0f;  // llama3
  uint32_t rope_original_ctx = 0;      // llama3 / yarn
  uint32_t sliding_window = 0;         // Gemma 2/3, Mistral (0: none)
  uint32_t sliding_window_pattern =
      0;  // Gemma 3: every Nth layer is global (6 → 5 local + 1 global)
  float query_pre_attn_scalar = 0.0f;  // Gemma: attention scale 1/sqrt(this) (0: head_dim)
  float final_logit_softcap = 0.0f;    // Gemma 2
  float attn_logit_softcap = 0.0f;     // Gemma 2
  bool tie_embeddings = false;
  bool attn_qkv_bias = false;       // Qwen2
  bool qk_norm = false;             // Qwen3, Gemma 3
  std::string hidden_act = "silu";  // "silu" or "gelu_pytorch_tanh"
  uint32_t bos_token_id = UINT32_MAX, eos_token_id = UINT32_MAX;
  std::map<std::string, std::string> raw;
};

struct ModelDescription {
  SourceFormat format = SourceFormat::kGguf;
  std::string path;                // the GGUF file or the HF folder
  std::vector<std::string> files;  // every file the weights come from
  HyperParams hparams;
  QkRowOrder qk_order = QkRowOrder::kGgufInterleaved;
  // Gemma's RMSNorm multiplies by (1 + w). llama.cpp's converter stores (1 + w) in GGUF files; HF
  // checkpoints store w. The runtime adds this offset to every norm weight at load (0 or 1).
  float norm_weight_offset = 0.0f;
  std::vector<TensorRef> tensors;
  std::unordered_map<std::string, size_t> tensor_index;

  // Display metadata: name, license, chat template, ... (GGUF general.* or HF card/config fields).
  std::string name;
  std::string license;
  std::optional<std::string> chat_template;
  std::string file_type;  // e.g. "Q4_K - Medium" or the dominant dtype

  // Tokenizer sources: the GGUF itself, or files of an HF folder (empty when absent).
  std::shared_ptr<const GgufFile> gguf;  // GGUF only: metadata + vocab, keeps the mapping alive
  std::string tokenizer_json;            // HF: path to tokenizer.json
  std::string tokenizer_model;           // HF: path to tokenizer.model
  std::string tokenizer_config_json;
  std::string generation_config_json;
  std::string config_json;

  std::vector<std::shared_ptr<const MappedFile>> mappings;  // safetensors shards

  const TensorRef* find(const std::string& name) const noexcept {
    auto it = tensor_index.find(name);
    return it == tensor_index.end() ? nullptr : &tensors[it->second];
  }
  uint64_t parameter_count() const noexcept;

  // Drops this process's resident pages of T's bytes (MADV_DONTNEED on the mapping; a no-op for
  // files read into memory). T.data stays valid: a later read faults the pages back in from the
  // page cache. Loaders call it once a tensor has been repacked, so a model is not resident twice.
  void release_tensor_pages(const TensorRef& t) const noexcept;
  // The same for any span inside a mapped file (whole pages inside it only; no-op elsewhere).
  void release_bytes(const uint8_t* p, uint64_t n) const noexcept;
  // For a small read just done at [P, P + N): drops the 2 MiB-aligned blocks around it
  // (MappedFile::release_blocks_around), so a norm vector or an embedding row read from a file
  // cached in large folios does not leave up to 2 MiB mapped per read.
  void release_blocks_around(const uint8_t* p, uint64_t n) const noexcept;
  // The same for every mapped file, whole (after the fast backend has packed every matrix; the
  // few pages read later, e.g. token-embedding rows, fault back in from the page cache). Covers
  // pages that per-tensor releases miss: metadata, norms, and page-cache huge folios that a 4 KiB
  // fault mapped whole.
  void release_all_pages() const noexcept;
  // The mapped file whose bytes P points into; nullptr when P is in none (or files were read).
  const MappedFile* file_holding(const uint8_t* p) const noexcept;
};

struct LoadOptions {
  MapOptions map;
  // false: GGUF arrays of more than 4096 elements (the vocabulary: tokens, scores, merges,
  // token types) keep only their length in the description's metadata (Model::load: the
  // tokenizer parses them itself, and keeping them cost ~20 MiB for 150k-260k vocabularies).
  bool keep_large_arrays = true;
};

// PATH is a GGUF file (first split of a split model) or an HF folder with config.json and
// *.safetensors (sharded via model.safetensors.index.json or a single model.safetensors).
Result<std::shared_ptr<const ModelDescription>> load_model_description(
    const std::string& path, const LoadOptions& opts = {});

// Loader internals, exposed for tests and fuzzing.
Result<std::shared_ptr<ModelDescription>> describe_gguf(std::shared_ptr<const GgufFile> gguf);
Result<std::shared_ptr<ModelDescription>> describe_hf_folder(const std::string& dir,
                                                             const LoadOptions& opts);

}  // namespace llmkit::io
