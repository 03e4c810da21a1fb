#include "models/arch_registry.hpp"

namespace llmkit::models {

namespace {

std::vector<ArchConfig> make_registry() {
  std::vector<ArchConfig> r;
  {
    ArchConfig c;  // Llama 1/2/3, SmolLM, TinyStories, Mistral (same block, different sizes)
    c.name = "llama";
    r.push_back(c);
    c.name = "mistral";
    r.push_back(c);
  }
  {
    ArchConfig c;
    c.name = "qwen2";
    c.allow_qkv_bias = true;
    c.gguf_rope_rotate_half = true;
    r.push_back(c);
  }
  {
    ArchConfig c;
    c.name = "qwen3";
    c.allow_qk_norm = true;
    c.gguf_rope_rotate_half = true;
    r.push_back(c);
  }
  {
    ArchConfig c;
    c.name = "gemma3";
    c.activation = Activation::kGeluTanh;
    c.embed_scale_sqrt_dim = true;
    c.post_norms = true;
    c.sliding_window_layers = true;
    c.gguf_rope_rotate_half = true;
    c.allow_qk_norm = true;
    r.push_back(c);
  }
  return r;
}

const std::vector<ArchConfig>& registry() {
  static const std::vector<ArchConfig> r = make_registry();
  return r;
}

}  // namespace

std::vector<std::string> supported_architectures() {
  std::vector<std::string> names;
  for (const auto& c : registry()) names.push_back(c.name);
  return names;
}

Result<ArchConfig> find_architecture(const std::string& arch) {
  // Aliases the loaders may report for the same block structure.
  std::string a = arch;
  if (a == "gemma3_text") a = "gemma3";
  for (const auto& c : registry())
    if (c.name == a) return c;
  std::string list;
  for (const auto& n : supported_architectures()) list += (list.empty() ? "" : ", ") + n;
  return Status(StatusCode::kUnsupported,
                "architecture '" + arch + "' is not supported (supported: " + list + ")");
}

}  // namespace llmkit::models
