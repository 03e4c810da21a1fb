// The threading contract of llmkit.h, tested through the C ABI (and so through the C++ core):
//  - one llmkit_model shared by 4 sessions on 4 threads generating concurrently gives exactly the
//    outputs of running the same 4 requests one after another;
//  - one tokenizer used by 4 threads at once gives the sequential results;
//  - llmkit_session_cancel from another thread while a generation runs.
// tools/tsan.sh runs this suite under ThreadSanitizer.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "llmkit.h"
#include "test_util.hpp"

namespace {

struct Request {
  std::vector<int32_t> prompt;
  uint64_t seed;
  int32_t max_new_tokens;
};
struct Output {
  llmkit_status status = LLMKIT_ERR_INTERNAL;
  std::vector<int32_t> tokens;
  std::string text;
  std::string streamed;
};

int stream_into(const char* text, size_t len, int32_t, void* ud) {
  static_cast<std::string*>(ud)->append(text, len);
  return 1;
}

// Runs REQ on a fresh session of MODEL (sampling with temperature, so each request differs).
Output run(llmkit_model* model, const Request& req, int32_t n_threads) {
  Output out;
  llmkit_session_params sp;
  llmkit_session_params_init(&sp);
  sp.n_threads = n_threads;
  sp.n_ctx = 256;
  llmkit_session* s = nullptr;
  out.status = llmkit_session_create(model, &sp, &s);
  if (out.status != LLMKIT_OK) return out;
  llmkit_sampler_params smp;
  llmkit_sampler_params_init(&smp);
  smp.temperature = 0.9f;
  smp.top_k = 40;
  smp.seed = req.seed;
  llmkit_generate_params gp;
  llmkit_generate_params_init(&gp);
  gp.max_new_tokens = req.max_new_tokens;
  gp.stop_at_end_of_generation = 0;
  out.status = llmkit_session_generate(s, req.prompt.data(), req.prompt.size(), &smp, &gp,
                                       stream_into, &out.streamed, nullptr);
  if (out.status == LLMKIT_OK) {
    size_t n = 0;
    llmkit_session_last_tokens(s, nullptr, 0, &n);
    out.tokens.resize(n);
    llmkit_session_last_tokens(s, out.tokens.data(), n, &n);
    llmkit_session_last_text(s, nullptr, 0, &n);
    out.text.resize(n + 1);
    llmkit_session_last_text(s, out.text.data(), out.text.size(), &n);
    out.text.resize(n);
  }
  llmkit_session_free(s);
  return out;
}

void four_sessions_four_threads(const std::string& path, int32_t max_new_tokens,
                                const std::vector<std::vector<int32_t>>& prompts) {
  llmkit_model* model = nullptr;
  REQUIRE(llmkit_model_load(path.c_str(), nullptr, &model) == LLMKIT_OK);
  std::vector<Request> reqs;
  for (size_t i = 0; i < 4; ++i)
    reqs.push_back({prompts[i % prompts.size()], 1000 + i, max_new_tokens});

  std::vector<Output> sequential;
  for (const auto& r : reqs) sequential.push_back(run(model, r, 1));

  std::vector<Output> concurrent(reqs.size());
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (size_t i = 0; i < reqs.size(); ++i)
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < static_cast<int>(reqs.size()))
        std::this_thread::yield();             // start together
      concurrent[i] = run(model, reqs[i], 2);  // also exercises each session's worker pool
    });
  for (auto& t : threads) t.join();
  llmkit_model_free(model);

  for (size_t i = 0; i < reqs.size(); ++i) {
    CAPTURE(i);
    REQUIRE(sequential[i].status == LLMKIT_OK);
    REQUIRE(concurrent[i].status == LLMKIT_OK);
    CHECK(sequential[i].tokens.size() == static_cast<size_t>(max_new_tokens));
    CHECK(concurrent[i].tokens == sequential[i].tokens);
    CHECK(concurrent[i].text == sequential[i].text);
    CHECK(concurrent[i].streamed == concurrent[i].text);
  }
  // Different seeds/prompts really gave different outputs (the comparison is not vacuous).
  CHECK(sequential[0].tokens != sequential[1].tokens);
}

}  // namespace

TEST_SUITE("threading") {
  TEST_CASE("one model, 4 sessions on 4 threads = the same 4 requests run sequentially") {
    if (!llmkit::test::have_fixtures()) return;
    four_sessions_four_threads(llmkit::test::fixture("models/stories260K.gguf"), 48,
                               {{1}, {1, 403, 407}, {1, 403, 407, 261, 378}, {1, 349}});
  }

  TEST_CASE("one tokenizer, 4 threads encoding and decoding concurrently") {
    if (!llmkit::test::have_fixtures()) return;
    llmkit_model* model = nullptr;
    REQUIRE(llmkit_model_load(llmkit::test::fixture("models/stories260K.gguf").c_str(), nullptr,
                              &model) == LLMKIT_OK);
    llmkit_tokenizer* tok = nullptr;
    llmkit_status st = llmkit_tokenizer_from_model(model, &tok);
    llmkit_model_free(model);  // the tokenizer keeps the model's data alive
    if (st == LLMKIT_ERR_UNSUPPORTED) {
      MESSAGE("tokenizer library not in this build: " << std::string(llmkit_last_error()));
      return;
    }
    REQUIRE(st == LLMKIT_OK);
    const std::vector<std::string> texts = {"Once upon a time, there was a little girl named Lily.",
                                            "She loved to play outside in the park.",
                                            "One day, she saw a big, red ball. \"Lily, let's go!\"",
                                            "Tom and Sue were friends. They liked to share toys."};
    auto work = [&](const std::string& text, std::vector<int32_t>* ids, std::string* back) {
      size_t n = 0;
      if (llmkit_tokenizer_encode(tok, text.data(), text.size(), LLMKIT_TOKENIZE_ADD_SPECIAL,
                                  nullptr, 0, &n) != LLMKIT_OK)
        return;
      ids->resize(n);
      if (llmkit_tokenizer_encode(tok, text.data(), text.size(), LLMKIT_TOKENIZE_ADD_SPECIAL,
                                  ids->data(), n, &n) != LLMKIT_OK)
        return;
      size_t len = 0;
      if (llmkit_tokenizer_decode(tok, ids->data(), ids->size(), LLMKIT_DECODE_SKIP_SPECIAL,
                                  nullptr, 0, &len) != LLMKIT_OK)
        return;
      back->resize(len + 1);
      llmkit_tokenizer_decode(tok, ids->data(), ids->size(), LLMKIT_DECODE_SKIP_SPECIAL,
                              back->data(), back->size(), &len);
      back->resize(len);
    };
    std::vector<std::vector<int32_t>> seq_ids(texts.size()), par_ids(texts.size() * 8);
    std::vector<std::string> seq_back(texts.size()), par_back(texts.size() * 8);
    for (size_t i = 0; i < texts.size(); ++i) work(texts[i], &seq_ids[i], &seq_back[i]);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (size_t k = 0; k < 8; ++k) {
          size_t j = t * 8 + k;
          work(texts[(t + k) % texts.size()], &par_ids[j], &par_back[j]);
        }
      });
    for (auto& th : threads) th.join();
    for (size_t i = 0; i < texts.size(); ++i) {
      CHECK(!seq_ids[i].empty());
      CHECK(seq_back[i] == texts[i]);  // round trip
    }
    for (size_t t = 0; t < 4; ++t)
      for (size_t k = 0; k < 8; ++k) {
        size_t j = t * 8 + k, i = (t + k) % texts.size();
        CHECK(par_ids[j] == seq_ids[i]);
        CHECK(par_back[j] == seq_back[i]);
      }
    llmkit_tokenizer_free(tok);
  }

  TEST_CASE("cancel from another thread while generating") {
    if (!llmkit::test::have_fixtures()) return;
    llmkit_model* model = nullptr;
    REQUIRE(llmkit_model_load(llmkit::test::fixture("models/stories260K.gguf").c_str(), nullptr,
                              &model) == LLMKIT_OK);
    llmkit_session* s = nullptr;
    REQUIRE(llmkit_session_create(model, nullptr, &s) == LLMKIT_OK);
    llmkit_generate_params gp;
    llmkit_generate_params_init(&gp);
    gp.max_new_tokens = -1;  // only the cancel (or a full context) stops it
    gp.stop_at_end_of_generation = 0;
    std::atomic<int> produced{0};
    auto count = [](const char*, size_t, int32_t, void* ud) -> int {
      static_cast<std::atomic<int>*>(ud)->fetch_add(1);
      return 1;
    };
    const int32_t bos = 1;
    llmkit_generation_result r{sizeof r};
    llmkit_status st = LLMKIT_ERR_INTERNAL;
    std::thread gen(
        [&] { st = llmkit_session_generate(s, &bos, 1, nullptr, &gp, count, &produced, &r); });
    while (produced.load() < 3) std::this_thread::sleep_for(std::chrono::microseconds(100));
    CHECK(llmkit_session_cancel(s) == LLMKIT_OK);  // from this thread, while `gen` runs
    gen.join();
    // Either the cancel landed (the usual case) or the context filled up first on a very fast run.
    if (r.finish_reason == LLMKIT_FINISH_CANCELLED) {
      CHECK(st == LLMKIT_ERR_CANCELLED);
    } else {
      CHECK(r.finish_reason == LLMKIT_FINISH_CONTEXT_FULL);
      CHECK(llmkit_session_reset(s) == LLMKIT_OK);
    }
    llmkit_session_free(s);
    llmkit_model_free(model);
  }

}  // TEST_SUITE("threading")

TEST_SUITE("bigmodel") {
  TEST_CASE("SmolLM2: one model, 4 sessions on 4 threads = sequential") {
    const std::string path = llmkit::test::cached_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!llmkit::test::exists(path)) {
      MESSAGE("skipped: " << path << " not cached (tools/fetch_models.sh)");
      return;
    }
    // SmolLM2 ids: <|im_start|> = 1, then plain text ids of "user\nHi" style prompts.
    four_sessions_four_threads(path, 12,
                               {{1, 4093, 198, 19556}, {1, 4093, 198, 504}, {1, 4093}, {1, 198}});
  }

}  // TEST_SUITE("bigmodel")
