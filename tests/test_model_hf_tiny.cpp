// Tiny random HF checkpoints (tools/gen_hf_tiny_models.py → tests/models/hf-tiny-*) for every decoder
// family, against transformers' float32 logits for a 64-token prompt (tests/golden/hf-tiny/*.json).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llmkit/model.hpp"
#include "llmkit/session.hpp"
#include "test_util.hpp"

namespace {

void check_family(const std::string& family, llmkit::Backend backend) {
  const std::string dir = std::string(LLMKIT_SOURCE_DIR) + "/tests/models/hf-tiny-" + family;
  const std::string golden = std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/hf-tiny/" + family + ".json";
  REQUIRE(llmkit::test::exists(dir));
  std::ifstream f(golden);
  auto g = nlohmann::json::parse(f);
  llmkit::ModelOptions mo;
  mo.backend = backend;
  auto model = llmkit::Model::load(dir, mo);
  REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
  llmkit::SessionOptions so;
  so.n_ctx = 128;
  so.kv_type = llmkit::KvCacheType::kF32;
  so.n_batch = 32;  // two prefill batches
  auto s = llmkit::Session::create(*model, so);
  REQUIRE(s.is_ok());
  const auto toks = g["tokens"].get<std::vector<int32_t>>();
  auto all = (*s)->evaluate_all_logits(toks);
  REQUIRE_MESSAGE(all.is_ok(), all.status().to_string());
  const size_t n_vocab = (*model)->info().n_vocab;
  double max_diff = 0;
  const auto positions = g["positions"].get<std::vector<size_t>>();
  for (size_t i = 0; i < positions.size(); ++i) {
    const auto ref = g["logits"][i].get<std::vector<double>>();
    REQUIRE(ref.size() == n_vocab);
    for (size_t v = 0; v < n_vocab; ++v)
      max_diff = std::max(max_diff, std::fabs(double((*all)[positions[i] * n_vocab + v]) - ref[v]));
  }
  MESSAGE("hf-tiny-" << family << " (" << (*model)->info().architecture << ", "
                     << std::string(backend == llmkit::Backend::kFast ? "fast" : "reference")
                     << "): max |logit - transformers| = " << max_diff);
  if (backend == llmkit::Backend::kReference) {
    CHECK(max_diff < 1e-3);
  } else {
    CHECK(max_diff < 5e-2);  // f32 weights × f16-rounded activations on the fast path
  }
}

}  // namespace

TEST_CASE("HF tiny llama3 (llama3 rope scaling, tied) matches transformers") {
  check_family("llama3", llmkit::Backend::kReference);
  check_family("llama3", llmkit::Backend::kFast);
}
TEST_CASE("HF tiny qwen2 (QKV bias) matches transformers") {
  check_family("qwen2", llmkit::Backend::kReference);
  check_family("qwen2", llmkit::Backend::kFast);
}
TEST_CASE("HF tiny qwen3 (QK norm) matches transformers") {
  check_family("qwen3", llmkit::Backend::kReference);
  check_family("qwen3", llmkit::Backend::kFast);
}
TEST_CASE("HF tiny gemma3 (sliding/global layers, (1+w) norms, GeGLU) matches transformers") {
  check_family("gemma3", llmkit::Backend::kReference);
  check_family("gemma3", llmkit::Backend::kFast);
}
TEST_CASE("HF tiny mistral (untied output) matches transformers") {
  check_family("mistral", llmkit::Backend::kReference);
  check_family("mistral", llmkit::Backend::kFast);
}
