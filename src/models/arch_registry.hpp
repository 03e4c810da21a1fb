// Architecture registry: maps a model's architecture name (GGUF general.architecture or the HF
// model_type as normalised by the loader) to the switches of the one generic decoder.
//
// Adding a family that is a variation of the pre-norm decoder (norm placement, biases, QK norm,
// activation, embedding scale, sliding-window layout) is one entry here; nothing else changes.
#pragma once

#include <string>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit::models {

enum class Activation { kSilu, kGeluTanh };

struct ArchConfig {
  std::string name;
  Activation activation = Activation::kSilu;  // gated MLP: down(act(gate(x)) * up(x))
  bool embed_scale_sqrt_dim = false;          // Gemma: embeddings multiplied by sqrt(n_embd)
  bool post_norms = false;                    // Gemma 3: RMSNorm on the attention / MLP outputs too
  bool sliding_window_layers = false;  // Gemma 3: local layers (sliding window, local RoPE base)
                                       // interleaved with global ones
  // GGUF files of this family keep Q/K rows in HF rotate_half order (llama.cpp's "NEOX" RoPE);
  // the decoder permutes them to adjacent-pair order at load. (HF folders are always rotate_half.)
  bool gguf_rope_rotate_half = false;
  bool allow_qkv_bias = false;  // Qwen2
  bool allow_qk_norm = false;   // Qwen3, Gemma 3
};

// kUnsupported naming ARCH and the supported list when there is no entry.
Result<ArchConfig> find_architecture(const std::string& arch);
std::vector<std::string> supported_architectures();

}  // namespace llmkit::models
