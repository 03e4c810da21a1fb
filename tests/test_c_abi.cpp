// The C ABI (bindings/c/llmkit.h) driven end to end through libllmkit.so: the whole flow on the
// real stories260K model against the llama2.c golden, and the hostile-caller table (NULL handles,
// NULL buffers, zero sizes, wrong struct_size, double free, invalid UTF-8, use after cancel): every
// row must give an error status and a message, never a crash (run under ASan/UBSan in CI).
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "llmkit.h"
#include "llmkit/status.hpp"
#include "test_util.hpp"

namespace {

using llmkit::test::fixture;

// The C codes mirror llmkit::StatusCode negated (llmkit.h promises it; never renumbered).
#define MIRROR(c, s) static_assert(static_cast<int>(c) == -static_cast<int>(llmkit::StatusCode::s))
MIRROR(LLMKIT_ERR_INVALID_ARGUMENT, kInvalidArgument);
MIRROR(LLMKIT_ERR_NOT_FOUND, kNotFound);
MIRROR(LLMKIT_ERR_IO, kIoError);
MIRROR(LLMKIT_ERR_CORRUPT_FILE, kCorruptFile);
MIRROR(LLMKIT_ERR_UNSUPPORTED, kUnsupported);
MIRROR(LLMKIT_ERR_OUT_OF_MEMORY, kOutOfMemory);
MIRROR(LLMKIT_ERR_OUT_OF_RANGE, kOutOfRange);
MIRROR(LLMKIT_ERR_CANCELLED, kCancelled);
MIRROR(LLMKIT_ERR_INTERNAL, kInternal);
MIRROR(LLMKIT_ERR_NETWORK_UNAVAILABLE, kNetworkUnavailable);
#undef MIRROR

std::string stories() { return fixture("models/stories260K.gguf"); }

struct Golden {
  std::vector<int32_t> tokens;     // input_tokens: BOS then the greedy continuation
  std::vector<float> logits_pos0;  // 512 logits after BOS
  std::string text;
};
Golden load_golden() {
  std::ifstream f(fixture("golden/stories260K-greedy-t0-n256.json"));
  auto j = nlohmann::json::parse(f);
  Golden g;
  g.tokens = j.at("input_tokens").get<std::vector<int32_t>>();
  g.logits_pos0 = j.at("logits_pos0_to_3").at(0).get<std::vector<float>>();
  g.text = j.at("text").get<std::string>();
  return g;
}

// Owns a model + session for a test case.
struct Fixture {
  llmkit_model* model = nullptr;
  llmkit_session* session = nullptr;
  Fixture() {
    REQUIRE(llmkit_model_load(stories().c_str(), nullptr, &model) == LLMKIT_OK);
    REQUIRE(llmkit_session_create(model, nullptr, &session) == LLMKIT_OK);
  }
  ~Fixture() {
    llmkit_session_free(session);
    llmkit_model_free(model);
  }
};

llmkit_sampler_params greedy() {
  llmkit_sampler_params p;
  llmkit_sampler_params_init(&p);
  p.temperature = 0.0f;
  return p;
}
llmkit_generate_params max_tokens(int32_t n) {
  llmkit_generate_params g;
  llmkit_generate_params_init(&g);
  g.max_new_tokens = n;
  return g;
}

bool has_message() { return std::strlen(llmkit_last_error()) > 0; }
// "ERR is STATUS with a message" — the hostile-caller assertion.
#define CHECK_ERR(expr, status)          \
  do {                                   \
    llmkit_status s__ = (expr);          \
    CHECK(s__ == (status));              \
    CHECK_MESSAGE(has_message(), #expr); \
  } while (0)

std::vector<int32_t> last_tokens(llmkit_session* s) {
  size_t n = 0;
  REQUIRE(llmkit_session_last_tokens(s, nullptr, 0, &n) == LLMKIT_OK);
  std::vector<int32_t> out(n);
  REQUIRE(llmkit_session_last_tokens(s, out.data(), out.size(), &n) == LLMKIT_OK);
  return out;
}
std::string last_text(llmkit_session* s) {
  size_t n = 0;
  REQUIRE(llmkit_session_last_text(s, nullptr, 0, &n) == LLMKIT_OK);
  std::string out(n + 1, '\0');
  REQUIRE(llmkit_session_last_text(s, out.data(), out.size(), &n) == LLMKIT_OK);
  out.resize(n);
  return out;
}

int collect(const char* text, size_t len, int32_t token, void* ud) {
  auto* v = static_cast<std::vector<std::pair<std::string, int32_t>>*>(ud);
  CHECK(text[len] == '\0');
  v->emplace_back(std::string(text, len), token);
  return 1;
}

}  // namespace

TEST_SUITE("c_abi") {
  TEST_CASE("version and status strings") {
    CHECK(llmkit_version_number() == LLMKIT_VERSION_NUMBER);
    CHECK(std::string(llmkit_version_string()) == LLMKIT_VERSION_STRING);
    CHECK(std::string(llmkit_status_str(LLMKIT_OK)) == "LLMKIT_OK");
    CHECK(std::string(llmkit_status_str(LLMKIT_ERR_NOT_FOUND)) == "LLMKIT_ERR_NOT_FOUND");
    CHECK(std::string(llmkit_status_str(LLMKIT_ERR_BUFFER_TOO_SMALL)) ==
          "LLMKIT_ERR_BUFFER_TOO_SMALL");
    CHECK(std::string(llmkit_status_str(static_cast<llmkit_status>(-12345))) ==
          "LLMKIT_ERR_UNKNOWN");
  }

  TEST_CASE("model metadata, info and memory estimate") {
    if (!llmkit::test::have_fixtures()) return;
    llmkit_model* m = nullptr;
    REQUIRE(llmkit_model_load(stories().c_str(), nullptr, &m) == LLMKIT_OK);
    CHECK(std::string(llmkit_last_error()).empty());
    llmkit_model_info info{sizeof info};
    REQUIRE(llmkit_model_get_info(m, &info) == LLMKIT_OK);
    CHECK(info.struct_size == sizeof info);
    CHECK(info.n_vocab == 512);
    CHECK(info.n_embd == 64);
    CHECK(info.n_layer == 5);
    CHECK(info.n_head == 8);
    CHECK(info.n_head_kv == 4);
    CHECK(info.head_dim == 8);
    CHECK(info.n_ff == 172);

    // An older caller's smaller output struct is filled only as far as it reaches.
    llmkit_model_info small;
    std::memset(&small, 0xAB, sizeof small);
    small.struct_size = offsetof(llmkit_model_info, n_embd);
    REQUIRE(llmkit_model_get_info(m, &small) == LLMKIT_OK);
    CHECK(small.n_vocab == 512);
    CHECK(small.n_embd == 0xABABABABu);

    char buf[256];
    size_t len = 0;
    REQUIRE(llmkit_model_get_string(m, LLMKIT_MODEL_ARCHITECTURE, buf, sizeof buf, &len) ==
            LLMKIT_OK);
    CHECK(std::string(buf) == "llama");
    CHECK(len == 5);
    REQUIRE(llmkit_model_get_string(m, LLMKIT_MODEL_FORMAT, buf, sizeof buf, &len) == LLMKIT_OK);
    CHECK(std::string(buf) == "gguf");
    REQUIRE(llmkit_model_get_meta(m, "general.architecture", buf, sizeof buf, &len) == LLMKIT_OK);
    CHECK(std::string(buf) == "llama");
    REQUIRE(llmkit_model_get_meta(m, "llama.block_count", buf, sizeof buf, &len) == LLMKIT_OK);
    CHECK(std::string(buf) == "5");
    CHECK_ERR(llmkit_model_get_meta(m, "no.such.key", buf, sizeof buf, &len), LLMKIT_ERR_NOT_FOUND);
    CHECK(std::string(llmkit_last_error()).find("no.such.key") != std::string::npos);

    // Two-call pattern: size query, too small, exact.
    REQUIRE(llmkit_model_get_meta(m, "general.architecture", nullptr, 0, &len) == LLMKIT_OK);
    CHECK(len == 5);
    CHECK_ERR(llmkit_model_get_meta(m, "general.architecture", buf, 5, &len),
              LLMKIT_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    CHECK(llmkit_model_get_meta(m, "general.architecture", buf, 6, &len) == LLMKIT_OK);

    llmkit_memory_estimate e{sizeof e};
    REQUIRE(llmkit_model_estimate_memory(m, 128, LLMKIT_KV_F16, &e) == LLMKIT_OK);
    CHECK(e.n_ctx == 128);
    CHECK(e.kv_cache_bytes ==
          2ull * 5 * 128 * 4 * 8 * 2);  // K,V × layers × ctx × kv heads × hd × f16
    CHECK(e.weights_bytes > 0);
    CHECK(e.total_bytes == e.weights_bytes + e.kv_cache_bytes + e.scratch_bytes);
    llmkit_model_free(m);
  }

  TEST_CASE("greedy generation through the C ABI reproduces the llama2.c golden") {
    if (!llmkit::test::have_fixtures()) return;
    Golden g = load_golden();
    Fixture f;
    // Logits after BOS (f32 KV cache: the golden is fp32 end to end).
    const int32_t bos = g.tokens[0];
    llmkit_session_params p32;
    llmkit_session_params_init(&p32);
    p32.kv_type = LLMKIT_KV_F32;
    llmkit_session* s32 = nullptr;
    REQUIRE(llmkit_session_create(f.model, &p32, &s32) == LLMKIT_OK);
    REQUIRE(llmkit_session_evaluate(s32, &bos, 1) == LLMKIT_OK);
    size_t n_logits = 0;
    const float* logits = llmkit_session_logits(s32, &n_logits);
    REQUIRE(logits != nullptr);
    REQUIRE(n_logits == 512);
    float max_diff = 0;
    for (size_t i = 0; i < 512; ++i)
      max_diff = std::max(max_diff, std::fabs(logits[i] - g.logits_pos0[i]));
    CHECK(max_diff < 1e-3f);
    llmkit_session_free(s32);
    REQUIRE(llmkit_session_evaluate(f.session, &bos, 1) == LLMKIT_OK);

    // Generate the 255 continuation tokens from BOS, streaming.
    llmkit_sampler_params sp = greedy();
    llmkit_generate_params gp = max_tokens(static_cast<int32_t>(g.tokens.size()) - 1);
    gp.stop_at_end_of_generation = 0;
    std::vector<std::pair<std::string, int32_t>> chunks;
    llmkit_generation_result r{sizeof r};
    REQUIRE(llmkit_session_generate(f.session, &bos, 1, &sp, &gp, collect, &chunks, &r) ==
            LLMKIT_OK);
    CHECK(r.finish_reason == LLMKIT_FINISH_MAX_TOKENS);
    CHECK(r.n_tokens == static_cast<int32_t>(g.tokens.size()) - 1);
    std::vector<int32_t> expect(g.tokens.begin() + 1, g.tokens.end());
    CHECK(last_tokens(f.session) == expect);
    CHECK(r.timings.n_decode == r.n_tokens);
    CHECK(r.timings.n_reused == 1);  // BOS was already evaluated
    // Chunks: one per token, concatenating to the final text.
    REQUIRE(chunks.size() == expect.size());
    std::string joined;
    for (size_t i = 0; i < chunks.size(); ++i) {
      CHECK(chunks[i].second == expect[i]);
      joined += chunks[i].first;
    }
    CHECK(joined == last_text(f.session));
    llmkit_timings t{sizeof t};
    REQUIRE(llmkit_session_last_timings(f.session, &t) == LLMKIT_OK);
    CHECK(t.n_decode == r.n_tokens);

    // The context holds BOS + the generated tokens that were fed back (all but the last sampled
    // one, which the next call evaluates first).
    size_t n_ctx_tokens = 0;
    REQUIRE(llmkit_session_get_tokens(f.session, nullptr, 0, &n_ctx_tokens) == LLMKIT_OK);
    CHECK(n_ctx_tokens == g.tokens.size() - 1);
  }

  TEST_CASE("prefix reuse, truncate and reset") {
    if (!llmkit::test::have_fixtures()) return;
    Golden g = load_golden();
    Fixture f;
    llmkit_sampler_params sp = greedy();
    llmkit_generate_params gp = max_tokens(8);
    llmkit_generation_result r{sizeof r};
    std::vector<int32_t> prompt(g.tokens.begin(), g.tokens.begin() + 20);
    REQUIRE(llmkit_session_generate(f.session, prompt.data(), prompt.size(), &sp, &gp, nullptr,
                                    nullptr, &r) == LLMKIT_OK);
    CHECK(r.timings.n_prefill == 20);
    CHECK(last_tokens(f.session) ==
          std::vector<int32_t>(g.tokens.begin() + 20, g.tokens.begin() + 28));
    // Same conversation extended: 20 prompt + 7 fed-back generated tokens are in the cache.
    std::vector<int32_t> longer(g.tokens.begin(), g.tokens.begin() + 30);
    REQUIRE(llmkit_session_generate(f.session, longer.data(), longer.size(), &sp, &gp, nullptr,
                                    nullptr, &r) == LLMKIT_OK);
    CHECK(r.timings.n_reused == 27);
    CHECK(r.timings.n_prefill == 3);
    CHECK(last_tokens(f.session) ==
          std::vector<int32_t>(g.tokens.begin() + 30, g.tokens.begin() + 38));

    REQUIRE(llmkit_session_truncate(f.session, 10) == LLMKIT_OK);
    size_t n = 0;
    REQUIRE(llmkit_session_get_tokens(f.session, nullptr, 0, &n) == LLMKIT_OK);
    CHECK(n == 10);
    CHECK(llmkit_session_logits(f.session, nullptr) == nullptr);
    CHECK_ERR(llmkit_session_truncate(f.session, 11), LLMKIT_ERR_OUT_OF_RANGE);
    // Continue from the truncated context (empty prompt): same greedy continuation.
    REQUIRE(llmkit_session_generate(f.session, nullptr, 0, &sp, &gp, nullptr, nullptr, &r) ==
            LLMKIT_OK);
    CHECK(last_tokens(f.session) ==
          std::vector<int32_t>(g.tokens.begin() + 10, g.tokens.begin() + 18));

    REQUIRE(llmkit_session_reset(f.session) == LLMKIT_OK);
    REQUIRE(llmkit_session_get_tokens(f.session, nullptr, 0, &n) == LLMKIT_OK);
    CHECK(n == 0);
    CHECK_ERR(llmkit_session_generate(f.session, nullptr, 0, &sp, &gp, nullptr, nullptr, &r),
              LLMKIT_ERR_INVALID_ARGUMENT);
  }

  TEST_CASE("stop strings, stop tokens and callback stop") {
    if (!llmkit::test::have_fixtures()) return;
    Golden g = load_golden();
    Fixture f;
    llmkit_sampler_params sp = greedy();
    const int32_t bos = 1;
    llmkit_generation_result r{sizeof r};

    llmkit_generate_params gp = max_tokens(100);
    const char* stops[] = {"Lily"};
    gp.stop_strings = stops;
    gp.n_stop_strings = 1;
    std::vector<std::pair<std::string, int32_t>> chunks;
    REQUIRE(llmkit_session_generate(f.session, &bos, 1, &sp, &gp, collect, &chunks, &r) ==
            LLMKIT_OK);
    CHECK(r.finish_reason == LLMKIT_FINISH_STOP_STRING);
    std::string text = last_text(f.session);
    // run.c drops the leading space SentencePiece gives the first word after BOS; ours may keep it.
    if (!text.empty() && text[0] == ' ') text.erase(0, 1);
    const std::string& story = g.text;
    CHECK(story.rfind(text, 0) == 0);                   // a prefix of the golden story
    CHECK(story.compare(text.size(), 4, "Lily") == 0);  // cut right before the stop string
    std::string joined;
    for (auto& c : chunks) joined += c.first;
    CHECK(joined == last_text(f.session));  // the stop string was never streamed

    llmkit_generate_params gt = max_tokens(100);
    const int32_t stop_tok = g.tokens[5];
    gt.stop_tokens = &stop_tok;
    gt.n_stop_tokens = 1;
    REQUIRE(llmkit_session_generate(f.session, &bos, 1, &sp, &gt, nullptr, nullptr, &r) ==
            LLMKIT_OK);
    CHECK(r.finish_reason == LLMKIT_FINISH_STOP_TOKEN);
    CHECK(last_tokens(f.session).back() == stop_tok);

    // Callback returning 0: a normal finish (CANCELLED reason, OK status).
    int calls = 0;
    auto stop_after_3 = [](const char*, size_t, int32_t, void* ud) -> int {
      return ++*static_cast<int*>(ud) < 3;
    };
    llmkit_generate_params g50 = max_tokens(50);
    REQUIRE(llmkit_session_generate(f.session, &bos, 1, &sp, &g50, stop_after_3, &calls, &r) ==
            LLMKIT_OK);
    CHECK(r.finish_reason == LLMKIT_FINISH_CANCELLED);
    CHECK(r.n_tokens == 3);
  }

  TEST_CASE("cancel from another thread, and use after cancel") {
    if (!llmkit::test::have_fixtures()) return;
    Fixture f;
    llmkit_sampler_params sp = greedy();
    llmkit_generate_params gp = max_tokens(200);
    gp.stop_at_end_of_generation = 0;
    const int32_t bos = 1;
    struct Ctx {
      llmkit_session* s;
      int n = 0;
    } ctx{f.session};
    auto cb = [](const char*, size_t, int32_t, void* ud) -> int {
      auto* c = static_cast<Ctx*>(ud);
      if (++c->n == 5) {
        std::thread t([s = c->s] { CHECK(llmkit_session_cancel(s) == LLMKIT_OK); });
        t.join();
      }
      return 1;
    };
    llmkit_generation_result r{sizeof r};
    CHECK_ERR(llmkit_session_generate(f.session, &bos, 1, &sp, &gp, cb, &ctx, &r),
              LLMKIT_ERR_CANCELLED);
    CHECK(r.finish_reason == LLMKIT_FINISH_CANCELLED);
    CHECK(r.n_tokens == 5);
    CHECK(last_tokens(f.session).size() == 5);  // the partial result stays available

    // The request was consumed: the next call runs normally.
    REQUIRE(llmkit_session_generate(f.session, &bos, 1, &sp, &gp, nullptr, nullptr, &r) ==
            LLMKIT_OK);
    CHECK(r.n_tokens == 200);

    // Cancel while idle: the next evaluate fails with CANCELLED and a message, leaves the context
    // unchanged, and the one after works.
    size_t before = 0, after = 0;
    REQUIRE(llmkit_session_get_tokens(f.session, nullptr, 0, &before) == LLMKIT_OK);
    REQUIRE(llmkit_session_cancel(f.session) == LLMKIT_OK);
    const int32_t more[2] = {403, 407};
    CHECK_ERR(llmkit_session_evaluate(f.session, more, 2), LLMKIT_ERR_CANCELLED);
    REQUIRE(llmkit_session_get_tokens(f.session, nullptr, 0, &after) == LLMKIT_OK);
    CHECK(after == before);
    CHECK(llmkit_session_evaluate(f.session, more, 2) == LLMKIT_OK);
  }

  TEST_CASE("repack cache through the C ABI: written once, then mapped; same golden tokens") {
    if (!llmkit::test::have_fixtures()) return;
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("llmkit-capi-repack-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const fs::path model = dir / "q8.gguf";
    fs::create_directories(dir);
    fs::copy_file(fixture("models/TinyStories-656K-Q8_0.gguf"), model);
    const std::string cache = (dir / "cache").string();
    std::vector<int32_t> first_tokens;
    for (const char* expect : {"wrote", "mapped from"}) {
      llmkit_model_params mp;
      llmkit_model_params_init(&mp);
      mp.repack_cache_dir = cache.c_str();
      llmkit_model* m = nullptr;
      REQUIRE(llmkit_model_load(model.string().c_str(), &mp, &m) == LLMKIT_OK);
      char note[1024];
      size_t n = 0;
      REQUIRE(llmkit_model_get_string(m, LLMKIT_MODEL_REPACK_CACHE, note, sizeof note, &n) ==
              LLMKIT_OK);
      CAPTURE(note);
      CHECK(std::string(note).find(expect) != std::string::npos);
      llmkit_session* s = nullptr;
      REQUIRE(llmkit_session_create(m, nullptr, &s) == LLMKIT_OK);
      llmkit_sampler_params sp = greedy();
      llmkit_generate_params gp = max_tokens(24);
      gp.stop_at_end_of_generation = 0;
      const int32_t bos = 1;
      llmkit_generation_result r{sizeof r};
      REQUIRE(llmkit_session_generate(s, &bos, 1, &sp, &gp, nullptr, nullptr, &r) == LLMKIT_OK);
      if (first_tokens.empty())
        first_tokens = last_tokens(s);
      else
        CHECK(last_tokens(s) == first_tokens);
      llmkit_session_free(s);
      llmkit_model_free(m);
    }
    // Without a directory: no note.
    llmkit_model* m = nullptr;
    REQUIRE(llmkit_model_load(model.string().c_str(), nullptr, &m) == LLMKIT_OK);
    size_t n = 1;
    REQUIRE(llmkit_model_get_string(m, LLMKIT_MODEL_REPACK_CACHE, nullptr, 0, &n) == LLMKIT_OK);
    CHECK(n == 0);
    llmkit_model_free(m);
    fs::remove_all(dir);
  }

  TEST_CASE("model params init never writes past an older caller's struct") {
    // A binary built against 0.1.0 has a 32-byte llmkit_model_params (no repack_cache_dir) and
    // calls the llmkit_model_params_init symbol directly.
    constexpr size_t kOld = offsetof(llmkit_model_params, repack_cache_dir);
    alignas(llmkit_model_params) unsigned char buf[sizeof(llmkit_model_params) + 16];
    std::memset(buf, 0xEE, sizeof buf);
    (llmkit_model_params_init)(reinterpret_cast<llmkit_model_params*>(buf));
    for (size_t i = kOld; i < sizeof buf; ++i) CHECK(buf[i] == 0xEE);
    llmkit_model_params old;
    std::memcpy(&old, buf, kOld);
    CHECK(old.struct_size == kOld);
    CHECK(old.use_mmap == 1);
    // The sized variant fills whole fields up to SIZE.
    std::memset(buf, 0xEE, sizeof buf);
    llmkit_model_params_init_sized(reinterpret_cast<llmkit_model_params*>(buf), kOld + 3);
    CHECK(reinterpret_cast<llmkit_model_params*>(buf)->struct_size == kOld);
    CHECK(buf[kOld] == 0xEE);
    llmkit_model_params cur;
    llmkit_model_params_init(&cur);  // the header's macro: the full current size
    CHECK(cur.struct_size == sizeof cur);
    CHECK(cur.repack_cache_dir == nullptr);
    if (!llmkit::test::have_fixtures()) return;
    // An old-size struct loads fine (repack_cache_dir is not read).
    std::memcpy(&cur, &old, kOld);
    cur.repack_cache_dir =
        reinterpret_cast<const char*>(0x1);  // beyond struct_size: must be ignored
    llmkit_model* m = nullptr;
    REQUIRE(llmkit_model_load(stories().c_str(), &cur, &m) == LLMKIT_OK);
    llmkit_model_free(m);
  }

  TEST_CASE("params: an older, smaller struct gets defaults for the fields it lacks") {
    if (!llmkit::test::have_fixtures()) return;
    llmkit_model* m = nullptr;
    REQUIRE(llmkit_model_load(stories().c_str(), nullptr, &m) == LLMKIT_OK);
    llmkit_session_params p;
    llmkit_session_params_init(&p);
    p.n_ctx = 77;
    p.n_batch = 0;  // invalid if it were read
    p.struct_size =
        static_cast<uint32_t>(offsetof(llmkit_session_params, kv_type));  // knows n_ctx only
    llmkit_session* s = nullptr;
    REQUIRE(llmkit_session_create(m, &p, &s) == LLMKIT_OK);
    CHECK(llmkit_session_n_ctx(s) == 77);
    llmkit_session_free(s);
    p.struct_size = static_cast<uint32_t>(offsetof(llmkit_session_params, n_ctx));  // knows nothing
    REQUIRE(llmkit_session_create(m, &p, &s) == LLMKIT_OK);
    CHECK(llmkit_session_n_ctx(s) != 77);  // default
    CHECK(llmkit_session_n_ctx(s) > 0);

    // A generate_params that ends before max_new_tokens: the default (256) applies, not 3.
    llmkit_sampler_params sp = greedy();
    llmkit_generate_params gp = max_tokens(3);
    gp.stop_at_end_of_generation = 0;
    gp.struct_size = static_cast<uint32_t>(offsetof(llmkit_generate_params, max_new_tokens));
    const int32_t bos = 1;
    llmkit_generation_result r{sizeof r};
    REQUIRE(llmkit_session_generate(s, &bos, 1, &sp, &gp, nullptr, nullptr, &r) == LLMKIT_OK);
    CHECK(r.n_tokens > 3);
    // A smaller result struct: only finish_reason is written.
    llmkit_generation_result small;
    std::memset(&small, 0x7F, sizeof small);
    small.struct_size = static_cast<uint32_t>(offsetof(llmkit_generation_result, n_tokens));
    llmkit_generate_params g2 = max_tokens(2);
    REQUIRE(llmkit_session_generate(s, &bos, 1, &sp, &g2, nullptr, nullptr, &small) == LLMKIT_OK);
    CHECK(small.finish_reason == LLMKIT_FINISH_MAX_TOKENS);
    CHECK(small.n_tokens == 0x7F7F7F7F);

    // A newer, bigger struct is fine when the unknown tail is zero, rejected otherwise.
    struct Bigger {
      llmkit_session_params p;
      uint64_t future_field;
    } big;
    std::memset(&big, 0, sizeof big);
    llmkit_session_params_init(&big.p);
    big.p.struct_size = sizeof big;
    llmkit_session* s2 = nullptr;
    REQUIRE(llmkit_session_create(m, &big.p, &s2) == LLMKIT_OK);
    llmkit_session_free(s2);
    big.future_field = 1;
    CHECK_ERR(llmkit_session_create(m, &big.p, &s2), LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK(s2 == nullptr);
    llmkit_session_free(s);
    llmkit_model_free(m);
  }

  TEST_CASE("tokenizer: encode/decode two-call pattern, special ids, standalone load") {
    if (!llmkit::test::have_fixtures()) return;
    Golden g = load_golden();
    llmkit_model* m = nullptr;
    REQUIRE(llmkit_model_load(stories().c_str(), nullptr, &m) == LLMKIT_OK);
    llmkit_tokenizer* t = nullptr;
    REQUIRE(llmkit_tokenizer_from_model(m, &t) == LLMKIT_OK);
    llmkit_model_free(m);  // the tokenizer keeps the model's data alive
    CHECK(llmkit_tokenizer_n_vocab(t) == 512);
    CHECK(llmkit_tokenizer_special_id(t, LLMKIT_TOKEN_BOS) == 1);
    CHECK(llmkit_tokenizer_special_id(t, LLMKIT_TOKEN_EOS) == 2);
    CHECK(llmkit_tokenizer_is_end_of_generation(t, 2) == 1);
    CHECK(llmkit_tokenizer_is_end_of_generation(t, 403) == 0);

    const std::string text = "Once upon a time";
    size_t n = 0;
    REQUIRE(llmkit_tokenizer_encode(t, text.data(), text.size(), LLMKIT_TOKENIZE_ADD_SPECIAL,
                                    nullptr, 0, &n) == LLMKIT_OK);
    std::vector<int32_t> ids(n);
    CHECK_ERR(llmkit_tokenizer_encode(t, text.data(), text.size(), LLMKIT_TOKENIZE_ADD_SPECIAL,
                                      ids.data(), n - 1, &n),
              LLMKIT_ERR_BUFFER_TOO_SMALL);
    REQUIRE(llmkit_tokenizer_encode(t, text.data(), text.size(), LLMKIT_TOKENIZE_ADD_SPECIAL,
                                    ids.data(), n, &n) == LLMKIT_OK);
    CHECK(ids == std::vector<int32_t>(g.tokens.begin(),
                                      g.tokens.begin() + ids.size()));  // BOS + golden story
    size_t len = 0;
    REQUIRE(llmkit_tokenizer_decode(t, ids.data(), ids.size(), LLMKIT_DECODE_SKIP_SPECIAL, nullptr,
                                    0, &len) == LLMKIT_OK);
    std::string back(len + 1, '\0');
    REQUIRE(llmkit_tokenizer_decode(t, ids.data(), ids.size(), LLMKIT_DECODE_SKIP_SPECIAL,
                                    back.data(), back.size(), &len) == LLMKIT_OK);
    back.resize(len);
    CHECK(back == text);
    // The golden's 255 tokens decode to its story (run.c prints one more token and a newline).
    std::vector<int32_t> story(g.tokens.begin() + 1, g.tokens.end());
    REQUIRE(llmkit_tokenizer_decode(t, story.data(), story.size(), 0, nullptr, 0, &len) ==
            LLMKIT_OK);
    std::string decoded(len + 1, '\0');
    REQUIRE(llmkit_tokenizer_decode(t, story.data(), story.size(), 0, decoded.data(),
                                    decoded.size(), &len) == LLMKIT_OK);
    decoded.resize(len);
    CHECK(g.text.rfind(decoded, 0) == 0);
    CHECK(decoded.size() + 3 >= g.text.size());
    char piece[32];
    REQUIRE(llmkit_tokenizer_token_text(t, 1, piece, sizeof piece, &len) == LLMKIT_OK);
    CHECK(std::string(piece) == "<s>");
    // Empty text: no tokens but BOS.
    REQUIRE(llmkit_tokenizer_encode(t, nullptr, 0, LLMKIT_TOKENIZE_ADD_SPECIAL, ids.data(),
                                    ids.size(), &n) == LLMKIT_OK);
    CHECK(n == 1);

    // Hostile inputs.
    const char bad[] = "ab\xC0\xAF";  // overlong encoding of '/'
    CHECK_ERR(llmkit_tokenizer_encode(t, bad, 4, 0, ids.data(), ids.size(), &n),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(llmkit_last_error()).find("offset 2") != std::string::npos);
    CHECK_ERR(llmkit_tokenizer_encode(t, nullptr, 3, 0, ids.data(), ids.size(), &n),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK_ERR(llmkit_tokenizer_encode(t, "a", 1, 0x80, ids.data(), ids.size(), &n),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK_ERR(llmkit_tokenizer_encode(t, "a", 1, 0, ids.data(), ids.size(), nullptr),
              LLMKIT_ERR_INVALID_ARGUMENT);
    const int32_t bad_ids[2] = {5, 512};
    CHECK_ERR(llmkit_tokenizer_decode(t, bad_ids, 2, 0, piece, sizeof piece, &len),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK_ERR(llmkit_tokenizer_decode(t, nullptr, 2, 0, piece, sizeof piece, &len),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK_ERR(llmkit_tokenizer_token_text(t, -1, piece, sizeof piece, &len),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK_ERR(llmkit_tokenizer_token_text(t, 512, piece, sizeof piece, &len),
              LLMKIT_ERR_INVALID_ARGUMENT);
    CHECK(llmkit_tokenizer_special_id(t, static_cast<llmkit_special_token>(77)) == -1);
    llmkit_tokenizer_free(t);
    llmkit_tokenizer_free(t);  // double free: detected, ignored
    CHECK(std::string(llmkit_last_error()).find("double free") != std::string::npos);
    CHECK(llmkit_tokenizer_n_vocab(t) == 0);  // use after free: no crash

    // Standalone tokenizer files.
    llmkit_tokenizer* spm = nullptr;
    REQUIRE(llmkit_tokenizer_load(fixture("tokenizers/llama2-tokenizer.model").c_str(), &spm) ==
            LLMKIT_OK);
    CHECK(llmkit_tokenizer_n_vocab(spm) == 32000);
    llmkit_tokenizer_free(spm);
    CHECK(llmkit_tokenizer_load("/nonexistent/tokenizer.json", &spm) < 0);
    CHECK(has_message());
    CHECK(spm == nullptr);
  }

  TEST_CASE("log callback receives errors") {
    struct Log {
      std::mutex mu;
      std::vector<std::string> lines;
    } log;
    llmkit_set_log_callback(
        [](llmkit_log_level level, const char* msg, void* ud) {
          auto* l = static_cast<Log*>(ud);
          std::lock_guard<std::mutex> lock(l->mu);
          if (level == LLMKIT_LOG_ERROR) l->lines.emplace_back(msg);
        },
        &log, LLMKIT_LOG_WARN);
    llmkit_model* m = nullptr;
    CHECK(llmkit_model_load("/nonexistent/model.gguf", nullptr, &m) != LLMKIT_OK);
    llmkit_set_log_callback(nullptr, nullptr, LLMKIT_LOG_INFO);
    REQUIRE(log.lines.size() == 1);
    CHECK(log.lines[0] == llmkit_last_error());
    CHECK(log.lines[0].find("/nonexistent/model.gguf") != std::string::npos);
  }

  TEST_CASE("hostile callers: errors with messages, never a crash") {
    if (!llmkit::test::have_fixtures()) return;
    char buf[64];
    size_t len = 0;
    int32_t ids[16];
    llmkit_model* m = nullptr;
    llmkit_session* s = nullptr;
    const int32_t bos = 1;

    SUBCASE("NULL handles and NULL out-pointers") {
      CHECK_ERR(llmkit_model_load(nullptr, nullptr, &m), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(m == nullptr);
      CHECK_ERR(llmkit_model_load(stories().c_str(), nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_load("", nullptr, &m), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_info(nullptr, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_string(nullptr, LLMKIT_MODEL_NAME, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_meta(nullptr, "k", buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_estimate_memory(nullptr, 0, LLMKIT_KV_F16, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_apply_chat_template(nullptr, nullptr, 0, 1, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_create(nullptr, nullptr, &s), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(s == nullptr);
      CHECK_ERR(llmkit_session_evaluate(nullptr, &bos, 1), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(
          llmkit_session_generate(nullptr, &bos, 1, nullptr, nullptr, nullptr, nullptr, nullptr),
          LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(
          llmkit_session_generate_text(nullptr, "x", nullptr, nullptr, nullptr, nullptr, nullptr),
          LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_reset(nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_truncate(nullptr, 0), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_cancel(nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_get_tokens(nullptr, ids, 16, &len), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_last_text(nullptr, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_last_tokens(nullptr, ids, 16, &len), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_last_timings(nullptr, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(llmkit_session_logits(nullptr, &len) == nullptr);
      CHECK(len == 0);
      CHECK(has_message());
      CHECK(llmkit_session_n_ctx(nullptr) == 0);
      CHECK_ERR(llmkit_tokenizer_from_model(nullptr, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_tokenizer_load(nullptr, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_tokenizer_encode(nullptr, "a", 1, 0, ids, 16, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_tokenizer_decode(nullptr, &bos, 1, 0, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_tokenizer_token_text(nullptr, 1, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(llmkit_tokenizer_n_vocab(nullptr) == 0);
      CHECK(llmkit_tokenizer_special_id(nullptr, LLMKIT_TOKEN_BOS) == -1);
      CHECK(llmkit_tokenizer_is_end_of_generation(nullptr, 2) == 0);
      // free(NULL) is a no-op and clears nothing.
      llmkit_model_free(nullptr);
      llmkit_session_free(nullptr);
      llmkit_tokenizer_free(nullptr);
      (llmkit_model_params_init)(nullptr);
      llmkit_model_params_init_sized(nullptr, sizeof(llmkit_model_params));
      llmkit_session_params_init(nullptr);
      llmkit_sampler_params_init(nullptr);
      llmkit_generate_params_init(nullptr);
    }

    REQUIRE(llmkit_model_load(stories().c_str(), nullptr, &m) == LLMKIT_OK);
    REQUIRE(llmkit_session_create(m, nullptr, &s) == LLMKIT_OK);

    SUBCASE("NULL buffers and zero sizes") {
      CHECK_ERR(llmkit_model_get_string(m, LLMKIT_MODEL_ARCHITECTURE, buf, sizeof buf, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_string(m, LLMKIT_MODEL_ARCHITECTURE, nullptr, 10, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_string(m, LLMKIT_MODEL_ARCHITECTURE, buf, 0, &len),
                LLMKIT_ERR_BUFFER_TOO_SMALL);
      CHECK(len == 5);
      CHECK_ERR(
          llmkit_model_get_string(m, static_cast<llmkit_model_string>(99), buf, sizeof buf, &len),
          LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_meta(m, nullptr, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_evaluate(s, nullptr, 3), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(llmkit_session_evaluate(s, nullptr, 0) == LLMKIT_OK);  // nothing to do
      CHECK_ERR(llmkit_session_get_tokens(s, nullptr, 4, &len), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_get_tokens(s, ids, 16, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      REQUIRE(llmkit_session_evaluate(s, &bos, 1) == LLMKIT_OK);
      CHECK_ERR(llmkit_session_get_tokens(s, ids, 0, &len), LLMKIT_ERR_BUFFER_TOO_SMALL);
      CHECK(len == 1);
      CHECK_ERR(llmkit_session_generate(s, nullptr, 5, nullptr, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_generate_params gp = max_tokens(4);
      gp.n_stop_strings = 2;  // stop_strings NULL
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, &gp, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      const char* with_null[] = {"a", nullptr};
      gp.stop_strings = with_null;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, &gp, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      const char* empty_stop[] = {""};
      gp.stop_strings = empty_stop;
      gp.n_stop_strings = 1;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, &gp, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_generate_params gt = max_tokens(4);
      gt.n_stop_tokens = 1;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, &gt, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_sampler_params sp = greedy();
      sp.n_logit_bias = 3;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, &sp, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_chat_message msg{nullptr, "hi"};
      CHECK_ERR(llmkit_model_apply_chat_template(m, &msg, 1, 1, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_apply_chat_template(m, nullptr, 2, 1, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_get_info(m, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_session_last_timings(s, nullptr), LLMKIT_ERR_INVALID_ARGUMENT);
    }

    SUBCASE("bad values: token ids, enums, sampler options, context overflow") {
      const int32_t bad[2] = {1, 512};
      CHECK_ERR(llmkit_session_evaluate(s, bad, 2), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(std::string(llmkit_last_error()).find("512") != std::string::npos);
      const int32_t neg = -1;
      CHECK_ERR(llmkit_session_generate(s, &neg, 1, nullptr, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_sampler_params sp = greedy();
      sp.temperature = NAN;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, &sp, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_logit_bias lb{9999, 1.0f};
      llmkit_sampler_params sb = greedy();
      sb.logit_bias = &lb;
      sb.n_logit_bias = 1;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, &sb, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_session_params p;
      llmkit_session_params_init(&p);
      p.kv_type = 42;
      llmkit_session* s2 = nullptr;
      CHECK_ERR(llmkit_session_create(m, &p, &s2), LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_model_params mp;
      llmkit_model_params_init(&mp);
      mp.backend = 7;
      llmkit_model* m2 = nullptr;
      CHECK_ERR(llmkit_model_load(stories().c_str(), &mp, &m2), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK_ERR(llmkit_model_estimate_memory(m, 0, static_cast<llmkit_kv_type>(9), nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      // Context overflow: a tiny context.
      llmkit_session_params_init(&p);
      p.n_ctx = 4;
      REQUIRE(llmkit_session_create(m, &p, &s2) == LLMKIT_OK);
      const int32_t five[5] = {1, 403, 407, 261, 378};
      CHECK_ERR(llmkit_session_evaluate(s2, five, 5), LLMKIT_ERR_OUT_OF_RANGE);
      CHECK_ERR(llmkit_session_generate(s2, five, 5, nullptr, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_OUT_OF_RANGE);
      llmkit_generate_params ge = max_tokens(10);
      ge.context_full_is_error = 1;
      CHECK_ERR(llmkit_session_generate(s2, five, 2, nullptr, &ge, nullptr, nullptr, nullptr),
                LLMKIT_ERR_OUT_OF_RANGE);
      llmkit_generate_params gf = max_tokens(10);
      llmkit_generation_result r{sizeof r};
      CHECK(llmkit_session_generate(s2, five, 2, nullptr, &gf, nullptr, nullptr, &r) == LLMKIT_OK);
      CHECK(r.finish_reason == LLMKIT_FINISH_CONTEXT_FULL);
      llmkit_session_free(s2);
    }

    SUBCASE("wrong struct_size") {
      llmkit_session_params p;
      llmkit_session_params_init(&p);
      llmkit_session* s2 = nullptr;
      p.struct_size = 0;
      CHECK_ERR(llmkit_session_create(m, &p, &s2), LLMKIT_ERR_INVALID_ARGUMENT);
      p.struct_size = 3;
      CHECK_ERR(llmkit_session_create(m, &p, &s2), LLMKIT_ERR_INVALID_ARGUMENT);
      p.struct_size = 0xFFFFFFFFu;  // would read far past the struct: rejected before reading
      CHECK_ERR(llmkit_session_create(m, &p, &s2), LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_sampler_params sp = greedy();
      sp.struct_size = 1;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, &sp, nullptr, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_generate_params gp = max_tokens(1);
      gp.struct_size = 0;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, &gp, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_generation_result r{0};
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, nullptr, nullptr, nullptr, &r),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_model_info info{2};
      CHECK_ERR(llmkit_model_get_info(m, &info), LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_memory_estimate e{0};
      CHECK_ERR(llmkit_model_estimate_memory(m, 16, LLMKIT_KV_F32, &e),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_timings t{0};
      CHECK_ERR(llmkit_session_last_timings(s, &t), LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_model_params mp;
      llmkit_model_params_init(&mp);
      mp.struct_size = 0;
      llmkit_model* m2 = nullptr;
      CHECK_ERR(llmkit_model_load(stories().c_str(), &mp, &m2), LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(m2 == nullptr);
    }

    SUBCASE("invalid UTF-8") {
      const char bad_utf8[] = "Once \xC3\x28 upon";
      CHECK_ERR(
          llmkit_session_generate_text(s, bad_utf8, nullptr, nullptr, nullptr, nullptr, nullptr),
          LLMKIT_ERR_INVALID_ARGUMENT);
      CHECK(std::string(llmkit_last_error()).find("offset 5") != std::string::npos);
      llmkit_chat_message msg{"user", "\xFF\xFE"};
      CHECK_ERR(llmkit_model_apply_chat_template(m, &msg, 1, 1, buf, sizeof buf, &len),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_generate_params gp = max_tokens(4);
      const char* stops[] = {"\xED\xA0\x80"};  // a UTF-16 surrogate encoded in UTF-8: invalid
      gp.stop_strings = stops;
      gp.n_stop_strings = 1;
      CHECK_ERR(llmkit_session_generate(s, &bos, 1, nullptr, &gp, nullptr, nullptr, nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
    }

    SUBCASE("missing and corrupt files") {
      llmkit_model* m2 = nullptr;
      CHECK(llmkit_model_load("/nonexistent/model.gguf", nullptr, &m2) < 0);
      CHECK(has_message());
      CHECK(m2 == nullptr);
      // A real file that is not a model (the golden JSON).
      CHECK(llmkit_model_load(fixture("golden/stories260K-greedy-t0-n256.json").c_str(), nullptr,
                              &m2) < 0);
      CHECK(has_message());
      CHECK(m2 == nullptr);
    }

    SUBCASE("progress callback cancels a load") {
      llmkit_model_params mp;
      llmkit_model_params_init(&mp);
      int calls = 0;
      mp.progress_callback = [](float, void* ud) -> int { return ++*static_cast<int*>(ud) < 1; };
      mp.progress_user_data = &calls;
      llmkit_model* m2 = nullptr;
      CHECK_ERR(llmkit_model_load(stories().c_str(), &mp, &m2), LLMKIT_ERR_CANCELLED);
      CHECK(m2 == nullptr);
      CHECK(calls >= 1);
      // A callback that continues sees fractions in [0, 1] ending at 1.
      struct P {
        float last = -1;
        bool monotonic = true;
      } prog;
      mp.progress_callback = [](float f, void* ud) -> int {
        auto* p = static_cast<P*>(ud);
        if (f < p->last || f < 0 || f > 1) p->monotonic = false;
        p->last = f;
        return 1;
      };
      mp.progress_user_data = &prog;
      REQUIRE(llmkit_model_load(stories().c_str(), &mp, &m2) == LLMKIT_OK);
      CHECK(prog.monotonic);
      CHECK(prog.last == 1.0f);
      llmkit_model_free(m2);
    }

    SUBCASE("double free, use after free and wrong handle kind") {
      llmkit_session* s2 = nullptr;
      REQUIRE(llmkit_session_create(m, nullptr, &s2) == LLMKIT_OK);
      llmkit_session_free(s2);
      CHECK(std::string(llmkit_last_error()).empty());
      llmkit_session_free(s2);  // double free: detected, ignored
      CHECK(std::string(llmkit_last_error()).find("double free") != std::string::npos);
      CHECK_ERR(llmkit_session_evaluate(s2, &bos, 1),
                LLMKIT_ERR_INVALID_ARGUMENT);  // use after free
      // A session handle passed where a model is expected (C casts make this easy).
      CHECK_ERR(llmkit_model_get_info(reinterpret_cast<llmkit_model*>(s), nullptr),
                LLMKIT_ERR_INVALID_ARGUMENT);
      llmkit_model_free(reinterpret_cast<llmkit_model*>(s));  // wrong kind: ignored, s stays usable
      CHECK(has_message());
      CHECK(llmkit_session_evaluate(s, &bos, 1) == LLMKIT_OK);
      // The model may be freed before its sessions: they keep it alive.
      llmkit_model* m2 = nullptr;
      REQUIRE(llmkit_model_load(stories().c_str(), nullptr, &m2) == LLMKIT_OK);
      llmkit_session* s3 = nullptr;
      REQUIRE(llmkit_session_create(m2, nullptr, &s3) == LLMKIT_OK);
      llmkit_model_free(m2);
      llmkit_model_free(m2);
      CHECK(has_message());
      llmkit_generation_result r{sizeof r};
      llmkit_generate_params gp = max_tokens(3);
      CHECK(llmkit_session_generate(s3, &bos, 1, nullptr, &gp, nullptr, nullptr, &r) == LLMKIT_OK);
      CHECK(r.n_tokens == 3);
      llmkit_session_free(s3);
    }

    llmkit_session_free(s);
    llmkit_model_free(m);
  }

}  // TEST_SUITE
