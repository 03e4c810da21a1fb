// llmkit — an immutable, loaded model: hyperparameters, weights (packed once at load) and the
// tokenizer.
//
// Ownership: `Model::load` returns a std::shared_ptr<const Model>; every Session created from it
// holds a reference, so the model lives as long as its longest-lived session.
// Thread-safety: a Model is immutable after load. Any number of threads may use one Model at the
// same time (each through its own Session).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit {

class Tokenizer;

// Which compute path runs the matrix products.
enum class Backend {
  kFast,       // repacked weights + optimized kernels (default)
  kReference,  // portable scalar kernels over the dequantized weights: slow, used for parity tests
};

struct ModelOptions {
  Backend backend = Backend::kFast;
  // Threads used while packing weights at load (0: all hardware threads). Sessions have their own.
  int n_threads = 0;
  bool use_mmap = true;  // false: read the file into memory instead of mapping it
  // Directory of the on-disk cache of repacked weights (GGUF files, kFast only); empty: no cache.
  // The first load of a file packs its weights as usual and then writes them to
  // <dir>/<file name>-<path hash>.llmkpack (about the size of the GGUF); later loads map that
  // file read-only instead of packing (much faster, and the weights live in the page cache,
  // shared by every process that maps them). An entry is reused only while the GGUF's size,
  // mtime, inode and device are unchanged and this build packs the same way; a stale or damaged
  // file is ignored and rewritten, and a write that fails (read-only dir, disk nearly full) only
  // leaves a note in ModelInfo::repack_cache. The library never picks a directory by itself.
  std::string repack_cache_dir;
  // Called during load with the fraction done (0..1, per packed layer); returning false cancels
  // the load (kCancelled). Runs on the loading thread.
  std::function<bool(float fraction)> progress;
};

struct ModelInfo {
  std::string path;
  std::string architecture;  // "llama", "qwen2", "qwen3", "gemma3", "mistral", ...
  std::string name;          // display name from the file (may be empty)
  std::string file_type;     // e.g. "Q4_1" or "F32"
  std::string format;        // "gguf" or "safetensors"
  uint32_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  uint32_t n_ctx_train = 0;  // context length the model was trained for
  int32_t bos_token = -1;    // -1: none
  int32_t eos_token = -1;
  uint64_t n_params = 0;
  // Bytes of packed weights one decoded token streams (all layer matrices + the output matrix; the
  // embedding table is only gathered from) — for decode-bandwidth rooflines.
  uint64_t weight_bytes_per_token = 0;
  Backend backend = Backend::kFast;
  double load_ms = 0.0;  // wall time of Model::load
  // What the repack cache did during load (empty when none was configured), e.g.
  // "repack cache: 114 layers (742 MiB) mapped from /path/x.llmkpack".
  std::string repack_cache;
};

// One message of a conversation for the chat formatter.
struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// The chat formats llmkit knows. The model's own template (GGUF tokenizer.chat_template or HF
// tokenizer_config.json chat_template) is recognised and mapped to one of these; full Jinja
// rendering can replace this mapping later without changing the API.
enum class ChatFormat { kNone, kChatMl, kLlama3, kGemma, kLlama2, kMistral };

class Model {
 public:
  // Loads a GGUF file or a Hugging Face folder (config.json + *.safetensors + tokenizer files).
  // Fails with kUnsupported naming the architecture when no decoder configuration exists for it.
  static Result<std::shared_ptr<const Model>> load(const std::string& path,
                                                   const ModelOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const noexcept;
  // The model's tokenizer (owned by the model, valid as long as it lives); nullptr only when the
  // model files carry no tokenizer (then only token-id APIs work).
  const Tokenizer* tokenizer() const noexcept;

  // The raw chat template text from the file, if any.
  const std::optional<std::string>& chat_template() const noexcept;
  // The chat format recognised from the template (or from the architecture when the file has no
  // template but the family has exactly one format). kUnsupported names a prefix of the template.
  Result<ChatFormat> chat_format() const;
  // Renders MESSAGES in the model's chat format. With ADD_GENERATION_PROMPT the text ends with the
  // header of an assistant turn. The text contains special-token markup (e.g. "<|im_start|>") but
  // no BOS: tokenize it with parse_special and the tokenizer's own add-BOS setting.
  Result<std::string> apply_chat_template(const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt = true) const;

  struct Impl;  // internal: the decoder (src/models); not part of the stable API
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmkit
