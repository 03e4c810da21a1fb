// Hugging Face folder layout: config.json → typed hyperparameters for the Llama, Mistral, Qwen2/3,
// Gemma 2/3 and Phi-3 families; HF tensor names → canonical (GGUF-style) names.
#pragma once

#include <optional>
#include <string>

#include "io/model_description.hpp"
#include "llmkit/status.hpp"

namespace llmkit::io {

// Parses config.json TEXT (NAME is used in messages). Unknown model types still parse (for
// `inspect`): architecture is then the raw model_type. Every scalar field is kept in hp.raw.
Result<HyperParams> parse_hf_config(const std::string& text, const std::string& name);

// "model.layers.3.self_attn.q_proj.weight" → "blk.3.attn_q.weight"; nullopt for names we do not
// map (kept under their HF name). ARCH decides Gemma's extra norms.
std::optional<std::string> canonical_hf_name(const std::string& hf_name, const std::string& arch);

}  // namespace llmkit::io
