#include "io/model_summary.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace llmkit::io {

using nlohmann::json;

MemoryEstimate estimate_memory(const ModelDescription& d, uint32_t n_ctx, uint32_t kv_bytes) {
  const HyperParams& hp = d.hparams;
  MemoryEstimate m;
  m.n_ctx = n_ctx;
  for (const auto& t : d.tensors) m.weights_bytes += t.n_bytes;
  m.kv_cache_bytes = 2ull * hp.n_layer * n_ctx * hp.n_head_kv * hp.head_dim * kv_bytes;
  // A 512-token prefill batch holds ~ residual, normed input, q/k/v, attention output, two FFN
  // intermediates (f32), plus attention scores for one head block and the logits of one row.
  const uint64_t batch = std::min<uint64_t>(512, n_ctx ? n_ctx : 512);
  const uint64_t per_token = uint64_t(hp.n_embd) * 3 +
                             uint64_t(hp.n_head + 2 * hp.n_head_kv) * hp.head_dim + 2ull * hp.n_ff;
  m.scratch_bytes = 4ull * (batch * per_token + batch * n_ctx + uint64_t(hp.n_vocab) * 2);
  return m;
}

namespace {

std::string token_text_gguf(const GgufFile& g, int64_t id) {
  const GgufValue* toks = g.find("tokenizer.ggml.tokens");
  if (!toks || toks->elem_type != GgufType::STRING || id < 0 ||
      static_cast<uint64_t>(id) >= toks->arr_str.size())
    return "";
  return toks->arr_str[static_cast<size_t>(id)];
}

void hf_tokenizer_facts(const ModelDescription& d, ModelSummary& s) {
  if (d.tokenizer_json.empty()) {
    if (!d.tokenizer_model.empty()) s.tokenizer_type = "sentencepiece (tokenizer.model)";
    return;
  }
  std::ifstream in(d.tokenizer_json, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    json j = json::parse(ss.str());
    if (j.contains("model") && j["model"].is_object() && j["model"].contains("type") &&
        j["model"]["type"].is_string())
      s.tokenizer_type = j["model"]["type"].get<std::string>() + " (tokenizer.json)";
    std::map<int64_t, std::string> added;
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
      for (const auto& t : j["added_tokens"])
        if (t.is_object() && t.contains("id") && t["id"].is_number_integer() &&
            t.contains("content") && t["content"].is_string())
          added[t["id"].get<int64_t>()] = t["content"].get<std::string>();
    auto text_of = [&](int64_t id) -> std::string {
      if (auto it = added.find(id); it != added.end()) return it->second;
      if (j.contains("model") && j["model"].contains("vocab") && j["model"]["vocab"].is_object())
        for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
          if (it->is_number_integer() && it->get<int64_t>() == id) return it.key();
      return "";
    };
    const HyperParams& hp = d.hparams;
    if (hp.bos_token_id != UINT32_MAX)
      s.special_tokens.push_back({"bos", hp.bos_token_id, text_of(hp.bos_token_id)});
    if (hp.eos_token_id != UINT32_MAX)
      s.special_tokens.push_back({"eos", hp.eos_token_id, text_of(hp.eos_token_id)});
  } catch (const std::exception& e) {
    s.tokenizer_type = std::string("unreadable tokenizer.json: ") + e.what();
  }
}

}  // namespace

Result<ModelSummary> summarize_model(const ModelDescription& d, uint32_t n_ctx,
                                     const std::string& kv_type) {
  uint32_t kv_bytes;
  if (kv_type == "f32")
    kv_bytes = 4;
  else if (kv_type == "f16" || kv_type == "bf16")
    kv_bytes = 2;
  else
    return Status(StatusCode::kInvalidArgument,
                  "KV cache type '" + kv_type + "' (expected f32, f16 or bf16)");
  ModelSummary s;
  s.format = d.format == SourceFormat::kGguf ? "gguf" : "safetensors";
  s.path = d.path;
  s.name = d.name;
  s.architecture = d.hparams.architecture;
  s.license = d.license;
  s.file_type = d.file_type;
  s.hparams = d.hparams;
  s.n_params = d.parameter_count();
  s.n_tensors = d.tensors.size();
  std::map<std::string, TypeMix> mix;
  for (const auto& t : d.tensors) {
    TypeMix& m = mix[type_name(static_cast<uint32_t>(t.type))];
    m.type = type_name(static_cast<uint32_t>(t.type));
    m.n_tensors++;
    m.n_elements += t.n_elements;
    m.n_bytes += t.n_bytes;
    s.weights_bytes += t.n_bytes;
  }
  for (auto& [k, v] : mix) s.type_mix.push_back(v);
  std::sort(s.type_mix.begin(), s.type_mix.end(),
            [](auto& a, auto& b) { return a.n_bytes > b.n_bytes; });
  if (s.file_type.empty() && !s.type_mix.empty()) s.file_type = "mostly " + s.type_mix.front().type;
  s.n_ctx_train = d.hparams.n_ctx_train;
  s.n_vocab = d.hparams.n_vocab;
  s.has_chat_template = d.chat_template.has_value() && !d.chat_template->empty();
  s.qk_row_order =
      d.qk_order == QkRowOrder::kGgufInterleaved ? "gguf-interleaved" : "hf-rotate-half";
  if (d.gguf) {
    const GgufFile& g = *d.gguf;
    s.tokenizer_type = g.get_string("tokenizer.ggml.model").value_or("");
    s.tokenizer_pre = g.get_string("tokenizer.ggml.pre").value_or("");
    const std::pair<const char*, const char*> roles[] = {
        {"bos", "tokenizer.ggml.bos_token_id"},
        {"eos", "tokenizer.ggml.eos_token_id"},
        {"eot", "tokenizer.ggml.eot_token_id"},
        {"pad", "tokenizer.ggml.padding_token_id"},
        {"unk", "tokenizer.ggml.unknown_token_id"}};
    for (auto [role, key] : roles)
      // Some converters write -1 (as uint32 0xFFFFFFFF) for "no such token": skip ids outside the
      // vocab.
      if (auto id = g.get_int(key);
          id && *id >= 0 && (s.n_vocab == 0 || *id < static_cast<int64_t>(s.n_vocab)))
        s.special_tokens.push_back({role, *id, token_text_gguf(g, *id)});
  } else {
    hf_tokenizer_facts(d, s);
  }
  s.memory = estimate_memory(
      d, n_ctx ? n_ctx : (d.hparams.n_ctx_train ? d.hparams.n_ctx_train : 2048), kv_bytes);
  s.memory.kv_type = kv_type;
  return s;
}

}  // namespace llmkit::io
