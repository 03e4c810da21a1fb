// `llmkit inspect PATH [--json] [--sha256] [--ctx N] [--kv-type f16] [--metadata]`
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "io/model_description.hpp"
#include "io/model_summary.hpp"
#include "io/sha256.hpp"

namespace llmkit::cli {
namespace {

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30))
    snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20))
    snprintf(buf, sizeof buf, "%.2f MiB", b / double(1ull << 20));
  else if (b >= (1ull << 10))
    snprintf(buf, sizeof buf, "%.2f KiB", b / double(1ull << 10));
  else
    snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

int run_inspect(const std::vector<std::string>& argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::fprintf(stderr,
                 "usage: llmkit inspect [PATH] [--json] [--sha256] [--metadata] [--tensors] [--ctx "
                 "N] [--kv-type f32|f16|bf16]\n"
                 "  PATH: a GGUF file (first split of a split model) or a Hugging Face folder;\n"
                 "        default: the model fetched by the setup script.\n");
    return 0;
  }
  bool as_json = args.flag("--json");
  bool want_sha = args.flag("--sha256");
  bool want_meta = args.flag("--metadata");
  bool want_tensors = args.flag("--tensors");
  uint32_t n_ctx = 0;
  std::string kv_type = "f16";
  if (auto v = args.option("--ctx")) n_ctx = static_cast<uint32_t>(std::stoul(*v));
  if (auto v = args.option("--kv-type")) kv_type = *v;
  if (!args.error().empty()) {
    std::fprintf(stderr, "llmkit inspect: %s\n", args.error().c_str());
    return 2;
  }
  if (auto u = args.unknown_option(); !u.empty()) {
    std::fprintf(stderr, "llmkit inspect: unknown option %s\n", u.c_str());
    return 2;
  }
  std::string path = args.rest().empty() ? default_model_path() : args.rest()[0];
  auto desc = io::load_model_description(path);
  if (!desc.is_ok()) {
    std::fprintf(stderr, "llmkit inspect: %s\n", desc.status().to_string().c_str());
    return 1;
  }
  const io::ModelDescription& d = **desc;
  auto sum = io::summarize_model(d, n_ctx, kv_type);
  if (!sum.is_ok()) {
    std::fprintf(stderr, "llmkit inspect: %s\n", sum.status().to_string().c_str());
    return 1;
  }
  const io::ModelSummary& s = *sum;
  std::vector<std::pair<std::string, std::string>> hashes;
  if (want_sha) {
    for (const auto& f : d.files) {
      auto h = io::sha256_file(f);
      if (!h.is_ok()) {
        std::fprintf(stderr, "llmkit inspect: %s\n", h.status().to_string().c_str());
        return 1;
      }
      hashes.emplace_back(f, *h);
    }
  }
  const auto& hp = s.hparams;
  if (as_json) {
    nlohmann::ordered_json j;
    j["path"] = s.path;
    j["format"] = s.format;
    j["name"] = s.name;
    j["architecture"] = s.architecture;
    j["license"] = s.license;
    j["file_type"] = s.file_type;
    j["n_params"] = s.n_params;
    j["n_tensors"] = s.n_tensors;
    j["weights_bytes"] = s.weights_bytes;
    j["type_mix"] = nlohmann::ordered_json::array();
    for (const auto& m : s.type_mix)
      j["type_mix"].push_back({{"type", m.type},
                               {"tensors", m.n_tensors},
                               {"elements", m.n_elements},
                               {"bytes", m.n_bytes}});
    j["context_length"] = s.n_ctx_train;
    j["vocab_size"] = s.n_vocab;
    j["tokenizer"] = {{"type", s.tokenizer_type}, {"pre", s.tokenizer_pre}};
    j["special_tokens"] = nlohmann::ordered_json::object();
    for (const auto& t : s.special_tokens)
      j["special_tokens"][t.role] = {{"id", t.id}, {"text", t.text}};
    j["chat_template"] = s.has_chat_template;
    j["qk_row_order"] = s.qk_row_order;
    j["hparams"] = {{"n_embd", hp.n_embd},
                    {"n_layer", hp.n_layer},
                    {"n_head", hp.n_head},
                    {"n_head_kv", hp.n_head_kv},
                    {"head_dim", hp.head_dim},
                    {"n_ff", hp.n_ff},
                    {"norm_eps", hp.norm_eps},
                    {"rope_theta", hp.rope_theta},
                    {"sliding_window", hp.sliding_window},
                    {"tie_embeddings", hp.tie_embeddings}};
    j["memory"] = {{"n_ctx", s.memory.n_ctx},
                   {"kv_type", s.memory.kv_type},
                   {"weights_bytes", s.memory.weights_bytes},
                   {"kv_cache_bytes", s.memory.kv_cache_bytes},
                   {"scratch_bytes", s.memory.scratch_bytes},
                   {"total_bytes", s.memory.total()}};
    if (want_sha) {
      j["sha256"] = nlohmann::ordered_json::object();
      for (const auto& [f, h] : hashes) j["sha256"][f] = h;
    }
    if (want_tensors) {
      j["tensors"] = nlohmann::ordered_json::array();
      for (const auto& t : d.tensors)
        j["tensors"].push_back({{"name", t.name},
                                {"type", io::type_name(static_cast<uint32_t>(t.type))},
                                {"shape", t.shape},
                                {"bytes", t.n_bytes},
                                {"source", t.source_name},
                                {"offset", t.file_offset}});
    }
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("path:            %s (%s)\n", s.path.c_str(), s.format.c_str());
  if (!s.name.empty()) std::printf("name:            %s\n", s.name.c_str());
  std::printf("architecture:    %s\n", s.architecture.c_str());
  std::printf("license:         %s\n", s.license.empty() ? "(not stated)" : s.license.c_str());
  std::printf("parameters:      %llu (%.2f M)\n", (unsigned long long)s.n_params, s.n_params / 1e6);
  std::printf("file type:       %s\n", s.file_type.c_str());
  std::printf("tensors:         %llu, %s of weights\n", (unsigned long long)s.n_tensors,
              human_bytes(s.weights_bytes).c_str());
  std::printf("tensor types:\n");
  for (const auto& m : s.type_mix)
    std::printf("  %-8s %4llu tensors %12llu elements %14llu bytes (%s)\n", m.type.c_str(),
                (unsigned long long)m.n_tensors, (unsigned long long)m.n_elements,
                (unsigned long long)m.n_bytes, human_bytes(m.n_bytes).c_str());
  std::printf("context length:  %u\n", s.n_ctx_train);
  std::printf("vocabulary:      %u tokens, tokenizer %s%s%s\n", s.n_vocab,
              s.tokenizer_type.empty() ? "(none)" : s.tokenizer_type.c_str(),
              s.tokenizer_pre.empty() ? "" : ", pre-tokenizer ", s.tokenizer_pre.c_str());
  std::printf("special tokens: ");
  if (s.special_tokens.empty()) std::printf(" (none)");
  for (const auto& t : s.special_tokens)
    std::printf(" %s=%lld %s", t.role.c_str(), (long long)t.id, t.text.c_str());
  std::printf("\n");
  std::printf("chat template:   %s\n", s.has_chat_template ? "present" : "absent");
  std::printf(
      "hyperparameters: n_embd=%u n_layer=%u n_head=%u n_head_kv=%u head_dim=%u n_ff=%u "
      "rope_theta=%g eps=%g%s\n",
      hp.n_embd, hp.n_layer, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_ff, hp.rope_theta,
      hp.norm_eps, hp.tie_embeddings ? " tied-embeddings" : "");
  std::printf("q/k row order:   %s\n", s.qk_row_order.c_str());
  std::printf("memory estimate: %s at ctx %u, KV %s (weights %s + KV cache %s + scratch %s)\n",
              human_bytes(s.memory.total()).c_str(), s.memory.n_ctx, s.memory.kv_type.c_str(),
              human_bytes(s.memory.weights_bytes).c_str(),
              human_bytes(s.memory.kv_cache_bytes).c_str(),
              human_bytes(s.memory.scratch_bytes).c_str());
  for (const auto& [f, h] : hashes) std::printf("sha256:          %s  %s\n", h.c_str(), f.c_str());
  if (want_meta && d.gguf) {
    std::printf("metadata:\n");
    for (const auto& [k, v] : d.gguf->metadata())
      std::printf("  %s = %s\n", k.c_str(), v.to_display().c_str());
  } else if (want_meta) {
    std::printf("config:\n");
    for (const auto& [k, v] : hp.raw) std::printf("  %s = %s\n", k.c_str(), v.c_str());
  }
  if (want_tensors) {
    std::printf("tensors:\n");
    for (const auto& t : d.tensors) {
      std::string shape;
      for (size_t i = 0; i < t.shape.size(); ++i)
        shape += (i ? " x " : "") + std::to_string(t.shape[i]);
      std::printf("  %-40s %-6s [%s] %llu bytes\n", t.name.c_str(),
                  io::type_name(static_cast<uint32_t>(t.type)).c_str(), shape.c_str(),
                  (unsigned long long)t.n_bytes);
    }
  }
  return 0;
}

Register reg("inspect",
             "Describe a model (GGUF file or HF folder): architecture, sizes, tokenizer, memory",
             run_inspect);

}  // namespace
}  // namespace llmkit::cli
