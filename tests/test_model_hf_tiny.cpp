// Tiny random HF checkpoints (tools/gen_hf_tiny_models.py → tests/models/hf-tiny-*) for every
// decoder family, against transformers' float32 logits for a 64-token prompt
// (tests/golden/hf-tiny/*.json).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llmkit/model.hpp"
#include "llmkit/session.hpp"
#include "test_util.hpp"

namespace {

// A session over the tiny Gemma 3 with a 128-token context on 2 threads.
std::unique_ptr<llmkit::Session> tiny_session(const std::shared_ptr<const llmkit::Model>& model,
                                              uint32_t n_batch, llmkit::KvCacheType kv) {
  llmkit::SessionOptions so;
  so.n_ctx = 128;
  so.kv_type = kv;
  so.n_batch = n_batch;
  so.n_threads = 2;
  auto s = llmkit::Session::create(model, so);
  REQUIRE_MESSAGE(s.is_ok(), s.status().to_string());
  return std::move(*s);
}

void check_family(const std::string& family, llmkit::Backend backend) {
  const std::string dir = std::string(LLMKIT_SOURCE_DIR) + "/tests/models/hf-tiny-" + family;
  const std::string golden =
      std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/hf-tiny/" + family + ".json";
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

// Sliding-window layers keep a ring of window + n_batch KV rows (runtime/kv_cache.hpp). The tiny
// Gemma 3 has window 16: with n_batch 8 its local layers hold 24 rows, so 100 tokens wrap each ring
// four times. Logits must equal a session whose cache holds every row (n_batch 128 = n_ctx), and
// rewinding with truncate() must give the same logits whether the ring still holds the rows the
// kept prefix needs (truncate to 95) or not (truncate to 30: the session recomputes the prefix).
TEST_CASE("HF tiny gemma3: sliding-window KV ring == full cache, across truncate()") {
  const std::string dir = std::string(LLMKIT_SOURCE_DIR) + "/tests/models/hf-tiny-gemma3";
  llmkit::ModelOptions mo;
  mo.backend = llmkit::Backend::kReference;
  auto model = llmkit::Model::load(dir, mo);
  REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
  const size_t n_vocab = (*model)->info().n_vocab;
  auto session = [&](uint32_t n_batch) {
    return tiny_session(*model, n_batch, llmkit::KvCacheType::kF32);
  };
  std::vector<int32_t> toks(100);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = int32_t((i * 37 + 11) % n_vocab);

  auto full = session(128);
  auto all_full = full->evaluate_all_logits(toks);
  REQUIRE(all_full.is_ok());
  auto ring = session(8);
  auto all_ring = ring->evaluate_all_logits(toks);
  REQUIRE(all_ring.is_ok());
  double max_diff = 0;
  for (size_t i = 0; i < all_full->size(); ++i)
    max_diff = std::max(max_diff, std::fabs(double((*all_full)[i]) - (*all_ring)[i]));
  MESSAGE("ring vs full cache: max |logit diff| over 100 positions = " << max_diff);
  CHECK(max_diff < 1e-4);

  auto last_logits_diff = [&]() {
    double d = 0;
    auto l = ring->logits();
    for (size_t v = 0; v < n_vocab; ++v)
      d = std::max(d, std::fabs(double(l[v]) - (*all_full)[(toks.size() - 1) * n_vocab + v]));
    return d;
  };
  for (size_t keep : {size_t(95), size_t(30), size_t(0)}) {
    CAPTURE(keep);
    REQUIRE(ring->truncate(keep).is_ok());
    REQUIRE(ring->evaluate(std::span<const int32_t>(toks).subspan(keep)).is_ok());
    CHECK(ring->tokens() == toks);
    CHECK(last_logits_diff() < 1e-4);
  }
}

// Decode steps read an f16 cache in place (ops/attention.hpp: k16/v16, row p % ring). Token by
// token, a ring of window + 1 = 17 rows (wrapping every 17 steps) must give exactly the logits
// of a 128-row cache that never wraps: the same keys, added in the same order.
TEST_CASE("HF tiny gemma3: decode reads the f16 KV ring in place, same logits as a full cache") {
  const std::string dir = std::string(LLMKIT_SOURCE_DIR) + "/tests/models/hf-tiny-gemma3";
  auto model = llmkit::Model::load(dir, llmkit::ModelOptions{});
  REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
  const size_t n_vocab = (*model)->info().n_vocab;
  auto ring = tiny_session(*model, 1, llmkit::KvCacheType::kF16);
  auto full = tiny_session(*model, 128, llmkit::KvCacheType::kF16);
  double max_diff = 0;
  for (int32_t i = 0; i < 60; ++i) {
    const int32_t tok = int32_t((i * 37 + 11) % n_vocab);
    REQUIRE(ring->evaluate(std::span<const int32_t>(&tok, 1)).is_ok());
    REQUIRE(full->evaluate(std::span<const int32_t>(&tok, 1)).is_ok());
    auto a = ring->logits(), b = full->logits();
    for (size_t v = 0; v < n_vocab; ++v)
      max_diff = std::max(max_diff, std::fabs(double(a[v]) - double(b[v])));
  }
  MESSAGE("f16 ring vs full cache, 60 decode steps: max |logit diff| = " << max_diff);
  CHECK(max_diff == 0.0);
}
