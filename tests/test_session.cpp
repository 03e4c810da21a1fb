// Session behaviour on the real stories260K model: batched prefill = token-by-token, prefix reuse,
// context policy, truncate/reset, stop tokens, seeded sampling across thread counts, cancellation.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "llmkit/model.hpp"
#include "llmkit/sampler.hpp"
#include "llmkit/session.hpp"
#include "test_util.hpp"

using namespace llmkit;

namespace {

const std::string kStories = "models/stories260K.gguf";

std::shared_ptr<const Model> stories(Backend be = Backend::kFast) {
  ModelOptions mo;
  mo.backend = be;
  auto m = Model::load(test::fixture(kStories), mo);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  return *m;
}

std::unique_ptr<Session> make_session(std::shared_ptr<const Model> m, uint32_t n_ctx = 256,
                                      int threads = 2, KvCacheType kv = KvCacheType::kF32,
                                      uint32_t n_batch = 64) {
  SessionOptions so;
  so.n_ctx = n_ctx;
  so.n_threads = threads;
  so.kv_type = kv;
  so.n_batch = n_batch;
  auto s = Session::create(std::move(m), so);
  REQUIRE_MESSAGE(s.is_ok(), s.status().to_string());
  return std::move(s).value();
}

// A real token sequence: the model's own greedy story from BOS.
std::vector<int32_t> story_tokens(std::shared_ptr<const Model> m, int n) {
  auto s = make_session(m);
  Sampler g(SamplerOptions::greedy());
  GenerateOptions go;
  go.max_new_tokens = n - 1;
  go.stop_at_end_of_generation = false;
  std::vector<int32_t> bos{1};
  auto r = s->generate(bos, g, go);
  REQUIRE(r.is_ok());
  std::vector<int32_t> t{1};
  t.insert(t.end(), r->tokens.begin(), r->tokens.end());
  return t;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

}  // namespace

TEST_CASE("session: batched prefill equals token-by-token evaluation; all-logits rows match") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories(Backend::kReference);
  const auto toks = story_tokens(m, 100);
  auto a = make_session(m, 256, 2, KvCacheType::kF32, 32);  // 100 tokens = 4 batches
  REQUIRE(a->evaluate(toks).is_ok());
  std::vector<float> batched(a->logits().begin(), a->logits().end());
  auto b = make_session(m, 256, 1);
  for (int32_t t : toks) REQUIRE(b->evaluate(std::span<const int32_t>(&t, 1)).is_ok());
  CHECK(max_abs_diff(batched, b->logits()) < 1e-4);
  auto c = make_session(m, 256, 2);
  auto all = c->evaluate_all_logits(toks);
  REQUIRE(all.is_ok());
  CHECK(all->size() == toks.size() * 512);
  CHECK(max_abs_diff(std::span<const float>(all->data() + (toks.size() - 1) * 512, 512), batched) <
        1e-4);
  CHECK(c->tokens() == toks);
}

TEST_CASE("session: prefix reuse, truncate, reset") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories();
  const auto toks = story_tokens(m, 60);
  auto s = make_session(m);
  Sampler g(SamplerOptions::greedy());
  GenerateOptions go;
  go.max_new_tokens = 8;
  go.stop_at_end_of_generation = false;
  std::vector<int32_t> p1(toks.begin(), toks.begin() + 30);
  auto r1 = s->generate(p1, g, go);
  REQUIRE(r1.is_ok());
  CHECK(r1->timings.n_reused == 0);
  CHECK(r1->timings.n_prefill == 30);
  // The cache now holds p1 + 7 generated tokens (the 8th is sampled but not yet evaluated).
  CHECK(s->tokens().size() == 37);
  // A second turn that extends the whole conversation recomputes only the new part.
  std::vector<int32_t> p2 = p1;
  p2.insert(p2.end(), r1->tokens.begin(), r1->tokens.end());
  p2.push_back(toks[40]);
  auto r2 = s->generate(p2, g, go);
  REQUIRE(r2.is_ok());
  CHECK(r2->timings.n_reused == 37);
  CHECK(r2->timings.n_prefill == static_cast<int32_t>(p2.size()) - 37);
  // ...and gives the same tokens as a fresh session.
  auto fresh = make_session(m);
  auto r3 = fresh->generate(p2, g, go);
  REQUIRE(r3.is_ok());
  CHECK(r3->tokens == r2->tokens);
  // Same prompt again: everything but the last token is reused.
  auto r4 = fresh->generate(p2, g, go);
  REQUIRE(r4.is_ok());
  CHECK(r4->timings.n_reused == static_cast<int32_t>(p2.size()) - 1);
  CHECK(r4->tokens == r3->tokens);

  CHECK(s->truncate(10).is_ok());
  CHECK(s->tokens().size() == 10);
  CHECK(s->logits().empty());
  CHECK(s->truncate(11).code() == StatusCode::kOutOfRange);
  s->reset();
  CHECK(s->tokens().empty());
  CHECK(s->generate(std::span<const int32_t>(), g, go).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("session: context limit is enforced, never silently truncated") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories();
  const auto toks = story_tokens(m, 40);
  auto s = make_session(m, 16);
  CHECK(s->n_ctx() == 16);
  std::vector<int32_t> too_long(toks.begin(), toks.begin() + 17);
  Status st = s->evaluate(too_long);
  CHECK(st.code() == StatusCode::kOutOfRange);
  CHECK(s->tokens().empty());  // unchanged
  Sampler g(SamplerOptions::greedy());
  GenerateOptions go;
  go.max_new_tokens = 100;
  go.stop_at_end_of_generation = false;
  CHECK(s->generate(too_long, g, go).status().code() == StatusCode::kOutOfRange);
  std::vector<int32_t> p(toks.begin(), toks.begin() + 10);
  auto r = s->generate(p, g, go);
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kContextFull);
  CHECK(s->tokens().size() == 16);
  CHECK(r->tokens.size() == 7);  // 6 evaluated to fill the window + the last sampled one
  go.context_full_is_error = true;
  s->reset();
  CHECK(s->generate(p, g, go).status().code() == StatusCode::kOutOfRange);
  // Bad token ids are rejected and leave the session unchanged.
  s->reset();
  std::vector<int32_t> bad = {1, 600};
  CHECK(s->evaluate(bad).code() == StatusCode::kInvalidArgument);
  CHECK(s->tokens().empty());
}

TEST_CASE("session: stop tokens and max tokens") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories();
  const auto toks = story_tokens(m, 20);
  auto s = make_session(m);
  Sampler g(SamplerOptions::greedy());
  GenerateOptions go;
  go.max_new_tokens = 50;
  go.stop_at_end_of_generation = false;
  go.stop_tokens = {toks[5]};
  std::vector<int32_t> bos{1};
  auto r = s->generate(bos, g, go);
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kStopToken);
  REQUIRE(!r->tokens.empty());
  CHECK(r->tokens.back() == toks[5]);
  go.stop_tokens.clear();
  go.max_new_tokens = 3;
  s->reset();
  r = s->generate(bos, g, go);
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kMaxTokens);
  CHECK(r->tokens.size() == 3);
}

TEST_CASE("session: same seed gives the same sampled tokens with 1 and 2 threads") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories();
  std::vector<std::vector<int32_t>> outs;
  for (int threads : {1, 2}) {
    auto s = make_session(m, 256, threads, KvCacheType::kF16);
    SamplerOptions so;
    so.temperature = 0.9f;
    so.seed = 42;
    Sampler smp(so);
    GenerateOptions go;
    go.max_new_tokens = 120;
    go.stop_at_end_of_generation = false;
    std::vector<int32_t> bos{1};
    auto r = s->generate(bos, smp, go);
    REQUIRE(r.is_ok());
    outs.push_back(r->tokens);
  }
  CHECK(outs[0].size() == 120);
  CHECK(outs[0] == outs[1]);
  // And a different seed gives a different story (120 tokens at temperature 0.9).
  auto s = make_session(m);
  SamplerOptions so;
  so.temperature = 0.9f;
  so.seed = 43;
  Sampler smp(so);
  GenerateOptions go;
  go.max_new_tokens = 120;
  go.stop_at_end_of_generation = false;
  std::vector<int32_t> bos{1};
  auto r = s->generate(bos, smp, go);
  REQUIRE(r.is_ok());
  CHECK(r->tokens != outs[0]);
}

TEST_CASE("session: cancellation stops within one token, also during prefill") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories();
  auto s = make_session(m, 512);
  Sampler g(SamplerOptions::greedy());
  GenerateOptions go;
  go.max_new_tokens = -1;
  go.stop_at_end_of_generation = false;
  std::vector<int32_t> bos{1};
  // From the streaming callback (same thread): the token after the cancel is never produced.
  int seen = 0;
  auto r = s->generate(bos, g, go, [&](std::string_view, int32_t) {
    if (++seen == 5) s->cancel();
    return true;
  });
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kCancelled);
  CHECK(r->tokens.size() == 5);
  // The flag was consumed: the next call runs normally.
  s->reset();
  go.max_new_tokens = 4;
  r = s->generate(bos, g, go);
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kMaxTokens);
  // Returning false from the callback stops as well.
  s->reset();
  go.max_new_tokens = -1;
  r = s->generate(bos, g, go, [&](std::string_view, int32_t) { return false; });
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kCancelled);
  CHECK(r->tokens.size() == 1);
  // From another thread while generating without a token limit.
  s->reset();
  std::atomic<int> produced{0};
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller([&] {
    while (produced.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    cancelled_at = std::chrono::steady_clock::now();
    s->cancel();
  });
  r = s->generate(bos, g, go, [&](std::string_view, int32_t) {
    produced++;
    return true;
  });
  const auto returned_at = std::chrono::steady_clock::now();
  canceller.join();
  REQUIRE(r.is_ok());
  CHECK(r->finish_reason == FinishReason::kCancelled);
  CHECK(r->tokens.size() < 500);
  const double ms = std::chrono::duration<double, std::milli>(returned_at - cancelled_at).count();
  MESSAGE("cancel -> return: " << ms << " ms after " << r->tokens.size() << " tokens");
  CHECK(ms < 1000);
  // A pending cancel aborts a prefill between layers; the cache is left as it was.
  s->reset();
  std::vector<int32_t> prompt(200, 5);
  s->cancel();
  CHECK(s->evaluate(prompt).code() == StatusCode::kCancelled);
  CHECK(s->tokens().empty());
  CHECK(s->evaluate(prompt).is_ok());
  CHECK(s->tokens().size() == 200);
}

TEST_CASE("session: f16 and bf16 KV caches follow the f32 greedy story") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories(Backend::kReference);
  std::vector<std::vector<int32_t>> outs;
  for (KvCacheType kv : {KvCacheType::kF32, KvCacheType::kF16, KvCacheType::kBF16}) {
    auto s = make_session(m, 256, 2, kv);
    Sampler g(SamplerOptions::greedy());
    GenerateOptions go;
    go.max_new_tokens = 40;
    go.stop_at_end_of_generation = false;
    std::vector<int32_t> bos{1};
    auto r = s->generate(bos, g, go);
    REQUIRE(r.is_ok());
    outs.push_back(r->tokens);
  }
  CHECK(outs[0] == outs[1]);
  CHECK(outs[0] == outs[2]);
}

TEST_CASE("model: clear errors for missing files and unsupported architectures") {
  auto r = Model::load("/nonexistent/model.gguf");
  CHECK(!r.is_ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  const std::string vocab = test::fixture("vocab/ggml-vocab-gpt-2.gguf");
  if (test::exists(vocab)) {
    auto v = Model::load(vocab);
    REQUIRE(!v.is_ok());
    CHECK(v.status().message().find("gpt2") != std::string::npos);
    MESSAGE(v.status().to_string());
  }
}

TEST_CASE("model: one Model shared by sessions on several threads gives the same results") {
  if (!test::exists(test::fixture(kStories))) return;
  auto m = stories();
  const auto expect = story_tokens(m, 60);
  std::vector<std::vector<int32_t>> got(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      SessionOptions so;
      so.n_ctx = 128;
      so.n_threads = 1 + i % 2;
      so.kv_type = KvCacheType::kF32;
      auto s = Session::create(m, so);
      if (!s) return;
      Sampler g(SamplerOptions::greedy());
      GenerateOptions go;
      go.max_new_tokens = 59;
      go.stop_at_end_of_generation = false;
      std::vector<int32_t> bos{1};
      auto r = (*s)->generate(bos, g, go);
      if (!r) return;
      got[i] = {1};
      got[i].insert(got[i].end(), r->tokens.begin(), r->tokens.end());
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(g == expect);
}
