// The canonical, format-agnostic ModelDescription from GGUF files and Hugging Face folders:
// hyperparameters against the files' own metadata (golden readings by the gguf package /
// config.json), canonical tensor names against gguf's TensorNameMap (llama.cpp's converter table),
// the tied embedding stored only as lm_head.weight, the Q/K row-order flag proven on the same model
// in both layouts, model_summary and `llmkit inspect --json`.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "io/gguf.hpp"
#include "io/hf_config.hpp"
#include "io/model_description.hpp"
#include "io/model_summary.hpp"
#include "loader_test_util.hpp"

using llmkit::StatusCode;
using namespace llmkit::io;
using namespace llmkit::test;
using nlohmann::json;

namespace {

const json& golden_gguf(const std::string& rel) {
  for (const auto& g : loader_goldens()["gguf"])
    if (g["file"] == rel) return g;
  for (const auto& g : loader_goldens()["bigmodel"])
    if (g["file"] == rel) return g;
  throw std::runtime_error("no golden for " + rel);
}
const json& golden_st(const std::string& folder) {
  for (const auto& g : loader_goldens()["safetensors"])
    if (g["folder"] == folder) return g;
  throw std::runtime_error("no golden for " + folder);
}
// Integer metadata value from a golden entry, or DEFAULT when the file lacks the key.
uint64_t gint(const json& g, const std::string& key, uint64_t dflt = 0) {
  const json& m = g["metadata"];
  return m.contains(key) ? std::stoull(m[key]["int"].get<std::string>()) : dflt;
}

// Checks a GGUF-backed description against the gguf package's reading of the same file.
void check_gguf_description(const ModelDescription& d, const json& g) {
  const std::string arch = g["metadata"]["general.architecture"]["str"].get<std::string>();
  const HyperParams& hp = d.hparams;
  CHECK(d.format == SourceFormat::kGguf);
  CHECK(d.qk_order == QkRowOrder::kGgufInterleaved);
  CHECK(hp.architecture == arch);
  CHECK(hp.n_embd == gint(g, arch + ".embedding_length"));
  CHECK(hp.n_layer == gint(g, arch + ".block_count"));
  CHECK(hp.n_head == gint(g, arch + ".attention.head_count"));
  CHECK(hp.n_head_kv == gint(g, arch + ".attention.head_count_kv", hp.n_head));
  CHECK(hp.n_ff == gint(g, arch + ".feed_forward_length"));
  CHECK(hp.n_ctx_train == gint(g, arch + ".context_length"));
  const uint64_t hd = hp.n_head ? hp.n_embd / hp.n_head : 0;
  CHECK(hp.head_dim == gint(g, arch + ".attention.key_length", hd));
  if (g["metadata"].contains(arch + ".attention.layer_norm_rms_epsilon"))
    CHECK(hp.norm_eps ==
          static_cast<float>(
              g["metadata"][arch + ".attention.layer_norm_rms_epsilon"]["float"].get<double>()));
  if (g["metadata"].contains(arch + ".rope.freq_base"))
    CHECK(hp.rope_theta ==
          static_cast<float>(g["metadata"][arch + ".rope.freq_base"]["float"].get<double>()));
  if (g["metadata"].contains("tokenizer.ggml.tokens"))
    CHECK(hp.n_vocab == g["metadata"]["tokenizer.ggml.tokens"]["len"].get<uint32_t>());
  if (g["metadata"].contains("tokenizer.ggml.bos_token_id"))
    CHECK(hp.bos_token_id == gint(g, "tokenizer.ggml.bos_token_id"));
  CHECK(d.parameter_count() == g["n_params"].get<uint64_t>());
  REQUIRE(d.tensors.size() == g["tensors"].size());
  std::set<std::string> names;
  for (const auto& t : g["tensors"]) names.insert(t["name"].get<std::string>());
  for (const auto& t : d.tensors) {
    CHECK(names.count(t.name));
    CHECK(t.source_name == t.name);  // GGUF names already are canonical
    CHECK(d.find(t.name) == &t);
  }
  CHECK(hp.tie_embeddings == (d.find("output.weight") == nullptr));
  CHECK(d.gguf != nullptr);
}

std::vector<float> floats(const TensorRef& t) {
  REQUIRE(t.type == TensorType::F32);
  std::vector<float> v(t.n_elements);
  std::memcpy(v.data(), t.data, t.n_bytes);
  return v;
}

std::string self_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

}  // namespace

TEST_CASE("description: GGUF fixtures describe as their metadata says") {
  if (!have_fixtures()) {
    MESSAGE("fixtures absent; skipping");
    return;
  }
  for (const char* rel : {"models/stories260K.gguf", "models/TinyStories-656K-Q8_0.gguf",
                          "models/llama-2-tiny-random.gguf", "vocab/ggml-vocab-llama-spm.gguf",
                          "vocab/more/ggml-vocab-bert-bge.gguf"}) {
    SUBCASE(rel) {
      auto d = load_model_description(fixture(rel));
      REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
      CHECK((*d)->path == fixture(rel));
      CHECK((*d)->files == std::vector<std::string>{fixture(rel)});
      check_gguf_description(**d, golden_gguf(rel));
    }
  }
}

TEST_CASE("description: stories260K.gguf has its own output.weight, so it is not tied") {
  const std::string p = fixture("models/stories260K.gguf");
  if (!exists(p)) {
    MESSAGE("fixture absent; skipping");
    return;
  }
  auto d = load_model_description(p);
  REQUIRE(d.is_ok());
  CHECK((*d)->parameter_count() == 292800);
  CHECK_FALSE((*d)->hparams.tie_embeddings);
  REQUIRE((*d)->find("output.weight") != nullptr);
  // ... although its bytes equal token_embd (the golden's independent comparison says so).
  const bool same =
      std::memcmp((*d)->find("output.weight")->data, (*d)->find("token_embd.weight")->data,
                  (*d)->find("token_embd.weight")->n_bytes) == 0;
  CHECK(same == loader_goldens()["facts"]["stories260K_output_equals_token_embd"].get<bool>());
}

TEST_CASE(
    "description: Hugging Face folders get canonical names, ggml shapes and HF config values") {
  if (!have_fixtures()) {
    MESSAGE("fixtures absent; skipping");
    return;
  }
  for (const char* folder :
       {"safetensors/stories260K-hf-derived", "safetensors/TinyStories-656K"}) {
    SUBCASE(folder) {
      const json& g = golden_st(folder);
      const json& cfg = g["config"];
      auto r = load_model_description(fixture(folder));
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      const ModelDescription& d = **r;
      CHECK(d.format == SourceFormat::kSafetensors);
      CHECK(d.qk_order == QkRowOrder::kHfRotateHalf);
      CHECK(d.norm_weight_offset == 0.0f);
      CHECK(d.files == std::vector<std::string>{fixture(g["file"].get<std::string>())});
      CHECK(d.tokenizer_json == fixture(folder) + "/tokenizer.json");
      CHECK(d.config_json == fixture(folder) + "/config.json");
      const HyperParams& hp = d.hparams;
      CHECK(hp.architecture == cfg["model_type"].get<std::string>());
      CHECK(hp.n_embd == cfg["hidden_size"].get<uint32_t>());
      CHECK(hp.n_layer == cfg["num_hidden_layers"].get<uint32_t>());
      CHECK(hp.n_head == cfg["num_attention_heads"].get<uint32_t>());
      CHECK(hp.n_head_kv == cfg["num_key_value_heads"].get<uint32_t>());
      CHECK(hp.n_ff == cfg["intermediate_size"].get<uint32_t>());
      CHECK(hp.n_vocab == cfg["vocab_size"].get<uint32_t>());
      CHECK(hp.n_ctx_train == cfg["max_position_embeddings"].get<uint32_t>());
      CHECK(hp.norm_eps == cfg["rms_norm_eps"].get<float>());
      CHECK(hp.head_dim == hp.n_embd / hp.n_head);
      CHECK(hp.bos_token_id == cfg["bos_token_id"].get<uint32_t>());
      CHECK(hp.eos_token_id == cfg["eos_token_id"].get<uint32_t>());
      CHECK(hp.tie_embeddings);  // both: tied in config, no separate output matrix
      CHECK(d.parameter_count() == g["n_params"].get<uint64_t>());
      REQUIRE(d.tensors.size() == g["tensors"].size());
      bool has_embed = false;
      for (const auto& o : g["tensors"]) has_embed |= o["canonical"] == "token_embd.weight";
      for (const auto& gt : g["tensors"]) {
        const std::string hf = gt["name"].get<std::string>();
        INFO(hf);
        std::string canon = gt["canonical"].get<std::string>();
        // The one remap on top of the name table: a tied embedding stored only as lm_head.weight
        // (TinyStories-656K) becomes the embedding table.
        if (canon == "output.weight" && !has_embed) canon = "token_embd.weight";
        const TensorRef* t = d.find(canon);
        REQUIRE(t != nullptr);
        CHECK(t->source_name == hf);
        std::vector<uint64_t> shape = gt["shape"].get<std::vector<uint64_t>>();
        CHECK(t->shape == std::vector<uint64_t>(shape.rbegin(), shape.rend()));
        CHECK(t->n_bytes == gt["n_bytes"].get<uint64_t>());
        CHECK(sha256_hex(t->data, t->n_bytes) == gt["sha256"].get<std::string>());
        CHECK(canonical_hf_name(hf, hp.architecture) ==
              std::optional<std::string>(gt["canonical"].get<std::string>()));
      }
      CHECK(d.find("output.weight") == nullptr);
      REQUIRE(d.find("token_embd.weight") != nullptr);
      CHECK(d.find("token_embd.weight")->shape == std::vector<uint64_t>{hp.n_embd, hp.n_vocab});
    }
  }
}

TEST_CASE("description: Q/K row order — the same model in GGUF and HF layout") {
  // stories260K-hf-derived is stories260K.gguf converted to HF layout. Every tensor must agree
  // exactly, except attn_q / attn_k whose rows follow the README's permutation:
  // HF row h*hd + i*(hd/2) + j == GGUF row h*hd + 2*j + i  (K uses the KV head count).
  const std::string pg = fixture("models/stories260K.gguf"),
                    ph = fixture("safetensors/stories260K-hf-derived");
  if (!exists(pg) || !exists(ph)) {
    MESSAGE("fixtures absent; skipping");
    return;
  }
  auto g = load_model_description(pg);
  auto h = load_model_description(ph);
  REQUIRE(g.is_ok());
  REQUIRE(h.is_ok());
  CHECK((*g)->qk_order == QkRowOrder::kGgufInterleaved);
  CHECK((*h)->qk_order == QkRowOrder::kHfRotateHalf);
  const HyperParams& hp = (*g)->hparams;
  const uint32_t hd = hp.head_dim;
  int permuted = 0, identical = 0;
  for (const TensorRef& th : (*h)->tensors) {
    INFO(th.name);
    const TensorRef* tg = (*g)->find(th.name);
    REQUIRE(tg != nullptr);
    CHECK(tg->shape == th.shape);
    auto a = floats(*tg), b = floats(th);
    const bool is_q = th.name.find(".attn_q.weight") != std::string::npos;
    const bool is_k = th.name.find(".attn_k.weight") != std::string::npos;
    if (!is_q && !is_k) {
      CHECK(a == b);
      ++identical;
      continue;
    }
    const uint32_t heads = is_q ? hp.n_head : hp.n_head_kv;
    const uint64_t row = th.shape[0];
    REQUIRE(th.shape[1] == uint64_t(heads) * hd);
    CHECK(a != b);  // the layouts really differ...
    bool all = true;
    for (uint32_t hh = 0; hh < heads; ++hh)
      for (uint32_t i = 0; i < 2; ++i)
        for (uint32_t j = 0; j < hd / 2; ++j) {
          const uint64_t rh = uint64_t(hh) * hd + i * (hd / 2) + j,
                         rg = uint64_t(hh) * hd + 2 * j + i;
          all &= std::memcmp(&b[rh * row], &a[rg * row], row * sizeof(float)) == 0;
        }
    CHECK(all);  // ...by exactly this permutation
    ++permuted;
  }
  CHECK(permuted == 2 * int(hp.n_layer));
  CHECK(identical == int((*h)->tensors.size()) - permuted);
}

TEST_CASE("description: model_summary and `llmkit inspect --json` for stories260K") {
  const std::string p = fixture("models/stories260K.gguf");
  if (!exists(p)) {
    MESSAGE("fixture absent; skipping");
    return;
  }
  const json& g = golden_gguf("models/stories260K.gguf");
  auto d = load_model_description(p);
  REQUIRE(d.is_ok());
  auto s = summarize_model(**d, 0, "f16");
  REQUIRE(s.is_ok());
  CHECK(s->format == "gguf");
  CHECK(s->architecture == "llama");
  CHECK(s->n_params == g["n_params"].get<uint64_t>());
  CHECK(s->n_tensors == g["tensor_count"].get<uint64_t>());
  CHECK(s->weights_bytes == g["n_bytes_total"].get<uint64_t>());
  REQUIRE(s->type_mix.size() == g["bytes_per_type"].size());
  for (const auto& m : s->type_mix) {
    CHECK(m.n_bytes == g["bytes_per_type"][m.type]["n_bytes"].get<uint64_t>());
    CHECK(m.n_elements == g["bytes_per_type"][m.type]["n_elements"].get<uint64_t>());
    CHECK(m.n_tensors == g["bytes_per_type"][m.type]["n_tensors"].get<uint64_t>());
  }
  CHECK(s->n_vocab == g["metadata"]["tokenizer.ggml.tokens"]["len"].get<uint32_t>());
  CHECK(s->n_ctx_train == gint(g, "llama.context_length"));
  CHECK(s->tokenizer_type == g["metadata"]["tokenizer.ggml.model"]["str"].get<std::string>());
  CHECK(s->qk_row_order == "gguf-interleaved");
  // Special tokens: ids from the metadata; the padding id 0xFFFFFFFF ("none") is dropped.
  std::map<std::string, int64_t> roles;
  for (const auto& t : s->special_tokens) roles[t.role] = t.id;
  CHECK(roles["bos"] == int64_t(gint(g, "tokenizer.ggml.bos_token_id")));
  CHECK(roles["eos"] == int64_t(gint(g, "tokenizer.ggml.eos_token_id")));
  CHECK(roles["unk"] == int64_t(gint(g, "tokenizer.ggml.unknown_token_id")));
  CHECK(roles.count("pad") == 0);
  CHECK(gint(g, "tokenizer.ggml.padding_token_id") == 0xFFFFFFFFu);
  // KV cache = 2 (K,V) × n_layer × n_ctx × n_head_kv × head_dim × 2 bytes (f16).
  const auto& hp = s->hparams;
  CHECK(s->memory.n_ctx == hp.n_ctx_train);
  CHECK(s->memory.kv_cache_bytes ==
        2ull * hp.n_layer * hp.n_ctx_train * hp.n_head_kv * hp.head_dim * 2);
  CHECK(s->memory.weights_bytes == s->weights_bytes);
  auto bad = summarize_model(**d, 0, "q8");
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);

  // The CLI (built next to the test binary: <build>/llmkit).
  const std::string cli = self_dir() + "/../llmkit";
  if (!exists(cli)) {
    MESSAGE("llmkit CLI not found at " << cli << "; skipping the --json check");
    return;
  }
  std::string out;
  {
    FILE* pipe = popen(("'" + cli + "' inspect --json --sha256 '" + p + "' 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    CHECK(pclose(pipe) == 0);
  }
  json j = json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), out);
  CHECK(j["format"] == "gguf");
  CHECK(j["architecture"] == "llama");
  CHECK(j["n_params"].get<uint64_t>() == g["n_params"].get<uint64_t>());
  CHECK(j["n_tensors"].get<uint64_t>() == g["tensor_count"].get<uint64_t>());
  CHECK(j["weights_bytes"].get<uint64_t>() == g["n_bytes_total"].get<uint64_t>());
  CHECK(j["vocab_size"].get<uint64_t>() == 512);
  CHECK(j["context_length"].get<uint64_t>() == gint(g, "llama.context_length"));
  CHECK(j["special_tokens"]["bos"]["id"] == 1);
  CHECK(j["special_tokens"]["bos"]["text"] == "<s>");
  CHECK(j["qk_row_order"] == "gguf-interleaved");
  CHECK(j["hparams"]["n_head_kv"] == gint(g, "llama.attention.head_count_kv"));
  CHECK(j["hparams"]["tie_embeddings"] == false);
  CHECK(j["type_mix"][0]["type"] == "F32");
  CHECK(j["type_mix"][0]["bytes"].get<uint64_t>() ==
        g["bytes_per_type"]["F32"]["n_bytes"].get<uint64_t>());
  CHECK(j["memory"]["kv_cache_bytes"].get<uint64_t>() == s->memory.kv_cache_bytes);
  CHECK(j["sha256"][p] == g["sha256"]);
}

TEST_CASE("description: HF summary reads special tokens from tokenizer.json") {
  const std::string p = fixture("safetensors/TinyStories-656K");
  if (!exists(p)) {
    MESSAGE("fixture absent; skipping");
    return;
  }
  auto d = load_model_description(p);
  REQUIRE(d.is_ok());
  auto s = summarize_model(**d, 256, "f32");
  REQUIRE(s.is_ok());
  CHECK(s->format == "safetensors");
  CHECK(s->qk_row_order == "hf-rotate-half");
  CHECK(s->n_params == golden_st("safetensors/TinyStories-656K")["n_params"].get<uint64_t>());
  CHECK(s->memory.n_ctx == 256);
  CHECK(s->tokenizer_type.find("BPE") != std::string::npos);
  std::map<std::string, std::string> text;
  for (const auto& t : s->special_tokens) text[t.role] = t.text;
  // README: <|start_story|> = 1 (BOS), <|end_story|> = 2 (EOS).
  CHECK(text["bos"] == "<|start_story|>");
  CHECK(text["eos"] == "<|end_story|>");
}

TEST_SUITE("bigmodel") {
  TEST_CASE("description: the cached real models describe as their metadata says") {
    for (const auto& g : loader_goldens()["bigmodel"]) {
      const std::string name = g["file"].get<std::string>();
      const std::string p = cached_model(name);
      if (!exists(p) || std::filesystem::file_size(p) != g["size"].get<uint64_t>()) {
        MESSAGE(p << " absent or not the golden's file; skipping");
        continue;
      }
      SUBCASE(name.c_str()) {
        auto d = load_model_description(p);
        REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
        check_gguf_description(**d, g);
        auto s = summarize_model(**d, 0, "f16");
        REQUIRE(s.is_ok());
        CHECK(s->n_params == g["n_params"].get<uint64_t>());
        CHECK(s->weights_bytes == g["n_bytes_total"].get<uint64_t>());
        for (const auto& m : s->type_mix)
          CHECK(m.n_bytes == g["bytes_per_type"][m.type]["n_bytes"].get<uint64_t>());
      }
    }
  }
}
