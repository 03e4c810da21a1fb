#include "io/hf_config.hpp"

#include <cfloat>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

namespace llmkit::io {

using nlohmann::json;

namespace {

// A JSON number as float, or false when it is not finite or out of float range (converting such
// a double to float, or such a float to an integer, is undefined behaviour).
bool json_to_float(const json& v, float& out) {
  if (!v.is_number()) return false;
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > FLT_MAX) return false;
  out = static_cast<float>(d);
  return true;
}

std::string arch_from_model_type(const std::string& mt) {
  static const std::map<std::string, std::string> kMap = {
      {"llama", "llama"},   {"mistral", "llama"},      {"qwen2", "qwen2"},
      {"qwen3", "qwen3"},   {"gemma3_text", "gemma3"}, {"gemma3", "gemma3"},
      {"gemma2", "gemma2"}, {"gemma", "gemma"},        {"phi3", "phi3"}};
  auto it = kMap.find(mt);
  return it == kMap.end() ? mt : it->second;
}

}  // namespace

Result<HyperParams> parse_hf_config(const std::string& text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile, name + ": " + e.what());
  }
  if (!j.is_object())
    return Status(StatusCode::kCorruptFile, name + ": top level is not a JSON object");
  // Multimodal Gemma 3 keeps the language model under text_config.
  if (j.contains("text_config") && j["text_config"].is_object()) {
    json text_cfg = j["text_config"];
    if (!text_cfg.contains("model_type") && j.contains("model_type"))
      text_cfg["model_type"] = j["model_type"];
    if (!text_cfg.contains("tie_word_embeddings") && j.contains("tie_word_embeddings"))
      text_cfg["tie_word_embeddings"] = j["tie_word_embeddings"];
    j = text_cfg;
  }
  HyperParams hp;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_primitive())
      hp.raw[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
    else
      hp.raw[it.key()] = it->dump();
  }
  auto field = [&](const char* key) -> const json* {
    auto it = j.find(key);
    return (it == j.end() || it->is_null()) ? nullptr : &*it;
  };
  Status bad;
  auto get_u32 = [&](const char* key, uint32_t& out) {
    if (const json* v = field(key)) {
      if (!v->is_number_integer() || v->get<int64_t>() < 0 || v->get<int64_t>() > UINT32_MAX)
        bad = Status(StatusCode::kCorruptFile,
                     name + ": field '" + key + "' must be a non-negative integer");
      else
        out = static_cast<uint32_t>(v->get<int64_t>());
    }
  };
  auto get_f32 = [&](const char* key, float& out) {
    if (const json* v = field(key)) {
      if (!v->is_number())
        bad = Status(StatusCode::kCorruptFile, name + ": field '" + key + "' must be a number");
      else if (!json_to_float(*v, out))
        bad = Status(StatusCode::kCorruptFile,
                     name + ": field '" + key + "' is out of the float range");
    }
  };
  const json* mt = field("model_type");
  if (!mt || !mt->is_string())
    return Status(StatusCode::kCorruptFile,
                  name + ": field 'model_type' is missing or not a string");
  hp.architecture = arch_from_model_type(mt->get<std::string>());
  get_u32("vocab_size", hp.n_vocab);
  get_u32("hidden_size", hp.n_embd);
  get_u32("num_hidden_layers", hp.n_layer);
  get_u32("num_attention_heads", hp.n_head);
  hp.n_head_kv = hp.n_head;
  get_u32("num_key_value_heads", hp.n_head_kv);
  get_u32("intermediate_size", hp.n_ff);
  get_u32("max_position_embeddings", hp.n_ctx_train);
  get_f32("rms_norm_eps", hp.norm_eps);
  get_f32("rope_theta", hp.rope_theta);
  get_f32("rope_local_base_freq", hp.rope_theta_local);
  get_u32("sliding_window_pattern", hp.sliding_window_pattern);
  get_f32("query_pre_attn_scalar", hp.query_pre_attn_scalar);
  get_f32("final_logit_softcapping", hp.final_logit_softcap);
  get_f32("attn_logit_softcapping", hp.attn_logit_softcap);
  if (hp.n_head) hp.head_dim = hp.n_embd / hp.n_head;
  get_u32("head_dim", hp.head_dim);
  if (const json* sw = field("sliding_window"); sw && sw->is_number_integer())
    hp.sliding_window = sw->get<uint32_t>();
  if (const json* t = field("tie_word_embeddings"); t && t->is_boolean())
    hp.tie_embeddings = t->get<bool>();
  else
    hp.tie_embeddings = hp.architecture.rfind("gemma", 0) == 0;  // Gemma ties by default
  if (const json* t = field("attention_bias"); t && t->is_boolean())
    hp.attn_qkv_bias = t->get<bool>();
  if (hp.architecture == "qwen2") hp.attn_qkv_bias = true;
  if (hp.architecture == "qwen3" || hp.architecture == "gemma3") hp.qk_norm = true;
  if (const json* act = field("hidden_activation"); act && act->is_string())
    hp.hidden_act = act->get<std::string>();
  else if (const json* act2 = field("hidden_act"); act2 && act2->is_string())
    hp.hidden_act = act2->get<std::string>();
  if (hp.architecture == "gemma3") {
    if (hp.rope_theta_local == 0) hp.rope_theta_local = 10000.0f;
    if (hp.sliding_window_pattern == 0) {
      // Newer configs list layer_types instead of a pattern.
      hp.sliding_window_pattern = 6;
      if (const json* lt = field("layer_types"); lt && lt->is_array()) {
        for (size_t i = 0; i < lt->size(); ++i)
          if ((*lt)[i] == "full_attention") {
            hp.sliding_window_pattern = static_cast<uint32_t>(i + 1);
            break;
          }
      }
    }
    if (hp.query_pre_attn_scalar == 0) hp.query_pre_attn_scalar = static_cast<float>(hp.head_dim);
  }
  if (const json* rs = field("rope_scaling"); rs && rs->is_object()) {
    auto type = rs->find("rope_type");
    if (type == rs->end()) type = rs->find("type");
    if (type != rs->end() && type->is_string()) hp.rope_scaling_type = type->get<std::string>();
    auto num = [&](const char* k, float& out) {
      auto v = rs->find(k);
      if (v != rs->end()) json_to_float(*v, out);
    };
    num("factor", hp.rope_scaling_factor);
    num("low_freq_factor", hp.rope_low_freq_factor);
    num("high_freq_factor", hp.rope_high_freq_factor);
    float orig = 0;
    num("original_max_position_embeddings", orig);
    hp.rope_original_ctx = (orig >= 0 && orig < 4294967296.0f) ? static_cast<uint32_t>(orig) : 0;
  }
  auto token_id = [&](const char* key, uint32_t& out) {
    if (const json* v = field(key)) {
      if (v->is_number_integer())
        out = v->get<uint32_t>();
      else if (v->is_array() && !v->empty() && (*v)[0].is_number_integer())
        out = (*v)[0].get<uint32_t>();
    }
  };
  token_id("bos_token_id", hp.bos_token_id);
  token_id("eos_token_id", hp.eos_token_id);
  if (!bad.is_ok()) return bad;
  return hp;
}

std::optional<std::string> canonical_hf_name(const std::string& hf, const std::string& arch) {
  static const std::map<std::string, std::string> kTop = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"language_model.model.embed_tokens.weight", "token_embd.weight"},
      {"language_model.model.norm.weight", "output_norm.weight"},
  };
  if (auto it = kTop.find(hf); it != kTop.end()) return it->second;
  static const std::regex kLayer(R"(^(?:language_model\.)?model\.layers\.(\d+)\.(.+)$)");
  std::smatch m;
  if (!std::regex_match(hf, m, kLayer)) return std::nullopt;
  const bool gemma = arch.rfind("gemma", 0) == 0 && arch != "gemma";
  std::map<std::string, std::string> kLayerMap = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.qkv_proj.weight", "attn_qkv.weight"},  // Phi-3 (fused)
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
      {"mlp.gate_up_proj.weight", "ffn_up.weight"},  // Phi-3 (fused gate+up)
      {"post_attention_layernorm.weight", gemma ? "post_attention_norm.weight" : "ffn_norm.weight"},
      {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
      {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
  };
  auto it = kLayerMap.find(m[2].str());
  if (it == kLayerMap.end()) return std::nullopt;
  return "blk." + m[1].str() + "." + it->second;
}

}  // namespace llmkit::io
