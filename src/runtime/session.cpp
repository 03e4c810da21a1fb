// Session: KV cache + scratch + thread pool for one conversation, prefill/decode and generation.
#include "llmkit/session.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>

#include "models/decoder.hpp"
#include "ops/thread_pool.hpp"
#include "runtime/kv_cache.hpp"
#include "runtime/model_impl.hpp"
#include "runtime/text.hpp"

namespace llmkit {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
}  // namespace

const char* finish_reason_name(FinishReason r) noexcept {
  switch (r) {
    case FinishReason::kMaxTokens:
      return "max_tokens";
    case FinishReason::kEndOfGeneration:
      return "end_of_generation";
    case FinishReason::kStopToken:
      return "stop_token";
    case FinishReason::kStopString:
      return "stop_string";
    case FinishReason::kContextFull:
      return "context_full";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "?";
}

struct Session::Impl {
  std::shared_ptr<const Model> model;
  const models::Decoder* dec = nullptr;
  SessionOptions opts;
  runtime::KvCache cache;
  models::Scratch scratch;
  std::unique_ptr<ops::ThreadPool> pool;
  std::vector<int32_t> tokens;
  std::vector<float> logits, tmp_logits;  // [n_vocab]
  bool has_logits = false;
  std::atomic<bool> cancel{false};
  Timings last;

  bool take_cancel() { return cancel.exchange(false); }

  // Runs TOKENS at positions tokens.size().. ; ALL: logits of every token into OUT[n * n_vocab].
  Status run(std::span<const int32_t> toks, float* all_out) {
    const uint32_t n_ctx = cache.n_ctx();
    if (tokens.size() + toks.size() > n_ctx)
      return Status(StatusCode::kOutOfRange,
                    "context full: " + std::to_string(tokens.size()) + " tokens cached + " +
                        std::to_string(toks.size()) + " new > n_ctx " + std::to_string(n_ctx) +
                        " (truncate() or reset() the session, or create it with a larger n_ctx)");
    if (toks.empty()) return Status::ok();
    if (tokens.empty()) cache.clear();  // nothing kept: stale rows may be overwritten at will
    if (!cache.window_history_intact(static_cast<uint32_t>(tokens.size()))) {
      // A sliding-window layer's ring no longer holds rows the kept prefix needs (the session was
      // rewound by truncate() or a failed call past the ring's slack): recompute the prefix once.
      std::vector<int32_t> kept;
      kept.swap(tokens);
      has_logits = false;
      cache.clear();
      if (Status st = run(kept, nullptr); !st.is_ok()) {
        tokens.swap(kept);  // still needs the replay; the next call tries again
        cache.invalidate_windows();
        return st;
      }
    }
    const size_t n_vocab = dec->hparams().n_vocab;
    const int32_t pos0 = static_cast<int32_t>(tokens.size());
    const int32_t B = scratch.capacity;
    for (size_t off = 0; off < toks.size(); off += B) {
      const int32_t n = static_cast<int32_t>(std::min<size_t>(B, toks.size() - off));
      models::ForwardRequest req;
      req.tokens = toks.data() + off;
      req.n_tokens = n;
      req.pos0 = pos0 + static_cast<int32_t>(off);
      req.all_logits = all_out != nullptr;
      req.logits = all_out ? all_out + off * n_vocab : tmp_logits.data();
      req.cancel = &cancel;
      Status st = dec->forward(req, cache, scratch, *pool);
      if (!st.is_ok()) {
        if (st.code() == StatusCode::kCancelled) take_cancel();
        return st;  // tokens unchanged: rows written past them are never read
      }
    }
    tokens.insert(tokens.end(), toks.begin(), toks.end());
    if (all_out) {
      std::copy(all_out + (toks.size() - 1) * n_vocab, all_out + toks.size() * n_vocab,
                logits.begin());
    } else {
      logits.swap(tmp_logits);
    }
    has_logits = true;
    return Status::ok();
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  if (!model) return Status(StatusCode::kInvalidArgument, "Session::create: model is null");
  try {
    auto impl = std::make_unique<Impl>();
    impl->model = model;
    impl->dec = model->impl().decoder.get();
    impl->opts = options;
    const auto& hp = impl->dec->hparams();
    uint32_t n_ctx = options.n_ctx;
    if (n_ctx == 0) n_ctx = hp.n_ctx_train ? std::min<uint32_t>(hp.n_ctx_train, 4096) : 4096;
    if (n_ctx > (1u << 24))
      return Status(StatusCode::kInvalidArgument,
                    "n_ctx " + std::to_string(n_ctx) + " is too large");
    impl->opts.n_ctx = n_ctx;
    if (options.n_batch == 0) return Status(StatusCode::kInvalidArgument, "n_batch must be > 0");
    const uint32_t n_batch = std::min(options.n_batch, n_ctx);
    runtime::KvType kt = runtime::KvType::kF16;
    if (options.kv_type == KvCacheType::kF32) kt = runtime::KvType::kF32;
    if (options.kv_type == KvCacheType::kBF16) kt = runtime::KvType::kBF16;
    LLMKIT_RETURN_IF_ERROR(impl->cache.allocate(hp.n_layer, n_ctx, impl->dec->kv_dim(), kt,
                                                impl->dec->kv_windows(), n_batch));
    impl->pool = std::make_unique<ops::ThreadPool>(options.n_threads);
    LLMKIT_RETURN_IF_ERROR(impl->dec->prepare_scratch(impl->scratch, static_cast<int32_t>(n_batch),
                                                      n_ctx, impl->pool->n_threads()));
    impl->logits.assign(hp.n_vocab, 0.0f);
    impl->tmp_logits.assign(hp.n_vocab, 0.0f);
    return std::unique_ptr<Session>(new Session(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "Session::create: out of memory (try a smaller n_ctx)");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string("Session::create: ") + e.what());
  }
}

Status Session::evaluate(std::span<const int32_t> tokens) {
  try {
    return impl_->run(tokens, nullptr);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "evaluate: out of memory");
  }
}

Result<std::vector<float>> Session::evaluate_all_logits(std::span<const int32_t> tokens) {
  try {
    std::vector<float> out(tokens.size() * impl_->dec->hparams().n_vocab);
    LLMKIT_RETURN_IF_ERROR(impl_->run(tokens, out.data()));
    return out;
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "evaluate_all_logits: out of memory");
  }
}

std::span<const float> Session::logits() const noexcept {
  if (!impl_->has_logits) return {};
  return impl_->logits;
}
const std::vector<int32_t>& Session::tokens() const noexcept { return impl_->tokens; }
uint32_t Session::n_ctx() const noexcept { return impl_->cache.n_ctx(); }
const Model& Session::model() const noexcept { return *impl_->model; }
const Timings& Session::last_timings() const noexcept { return impl_->last; }

void Session::reset() {
  impl_->tokens.clear();
  impl_->cache.clear();
  impl_->has_logits = false;
}

Status Session::truncate(size_t n_keep) {
  if (n_keep > impl_->tokens.size())
    return Status(StatusCode::kOutOfRange, "truncate(" + std::to_string(n_keep) +
                                               "): the session holds only " +
                                               std::to_string(impl_->tokens.size()) + " tokens");
  if (n_keep < impl_->tokens.size()) {
    impl_->tokens.resize(n_keep);
    impl_->has_logits = false;
  }
  return Status::ok();
}

void Session::cancel() noexcept { impl_->cancel.store(true); }

Result<GenerationResult> Session::generate(std::string_view text, Sampler& sampler,
                                           const GenerateOptions& options,
                                           const StreamCallback& on_token) {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, runtime::encode_prompt(*impl_->model, text));
  if (prompt.empty())
    return Status(StatusCode::kInvalidArgument,
                  "generate: the prompt encodes to no tokens and the tokenizer adds no BOS");
  return generate(std::span<const int32_t>(prompt), sampler, options, on_token);
}

namespace {

// Length of the longest suffix of TEXT that is a proper prefix of one of STOPS (text that must be
// held back because a stop string may be completing).
size_t held_back(const std::string& text, size_t from, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const auto& s : stops) {
    const size_t max_len = std::min(s.size() - 1, text.size() - from);
    for (size_t len = max_len; len > best; --len)
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        best = len;
        break;
      }
  }
  return best;
}

// Moves END back so it does not split a UTF-8 sequence.
size_t utf8_boundary(const std::string& s, size_t end) {
  while (end > 0 && end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return end;
}

}  // namespace

Result<GenerationResult> Session::generate(std::span<const int32_t> prompt, Sampler& sampler,
                                           const GenerateOptions& options,
                                           const StreamCallback& on_token) {
  try {
    Impl& s = *impl_;
    const auto t_start = Clock::now();
    GenerationResult res;
    Timings& tm = res.timings;
    tm.load_ms = s.model->info().load_ms;
    for (const auto& st : options.stop_strings)
      if (st.empty()) return Status(StatusCode::kInvalidArgument, "generate: empty stop string");

    // 1. Make the context equal the prompt, reusing the cached prefix.
    if (prompt.empty()) {
      if (s.tokens.empty())
        return Status(StatusCode::kInvalidArgument, "generate: empty prompt and empty context");
    } else {
      if (prompt.size() > s.cache.n_ctx())
        return Status(StatusCode::kOutOfRange, "prompt of " + std::to_string(prompt.size()) +
                                                   " tokens does not fit the context (n_ctx " +
                                                   std::to_string(s.cache.n_ctx()) + ")");
      size_t common = 0;
      while (common < s.tokens.size() && common < prompt.size() &&
             s.tokens[common] == prompt[common])
        ++common;
      const bool exact_state = common == prompt.size() && common == s.tokens.size() && s.has_logits;
      if (!exact_state) {
        if (common == prompt.size()) --common;  // re-run the last prompt token to get its logits
        LLMKIT_RETURN_IF_ERROR(truncate(common));
        tm.n_reused = static_cast<int32_t>(common);
        const auto t_pf = Clock::now();
        Status st = s.run(prompt.subspan(common), nullptr);
        tm.prefill_ms = ms_since(t_pf);
        tm.n_prefill = static_cast<int32_t>(prompt.size() - common);
        if (st.code() == StatusCode::kCancelled) {
          res.finish_reason = FinishReason::kCancelled;
          s.last = tm;
          return res;
        }
        LLMKIT_RETURN_IF_ERROR(st);
      } else {
        tm.n_reused = static_cast<int32_t>(common);
      }
    }
    if (!s.has_logits) {  // context restored by truncate(): recompute the last token's logits
      const int32_t last_tok = s.tokens.back();
      s.tokens.pop_back();
      LLMKIT_RETURN_IF_ERROR(s.run(std::span<const int32_t>(&last_tok, 1), nullptr));
    }

    // 2. Sample token by token.
    const std::vector<int32_t> eog = runtime::end_of_generation_ids(*s.model);
    const int32_t bos = s.model->info().bos_token;
    const bool at_start = s.tokens.size() == 1 && s.tokens[0] == bos;
    runtime::TextStream stream(*s.model, at_start);
    size_t emitted = 0;  // bytes of res.text already passed to the callback
    const auto t_dec = Clock::now();
    auto emit = [&](size_t end, int32_t tok) -> bool {
      std::string_view chunk(res.text.data() + emitted, end - emitted);
      emitted = end;
      return on_token ? on_token(chunk, tok) : true;
    };
    bool done = false;
    for (int32_t step = 0; !done && (options.max_new_tokens < 0 || step < options.max_new_tokens);
         ++step) {
      if (s.take_cancel()) {
        res.finish_reason = FinishReason::kCancelled;
        done = true;
        break;
      }
      const int32_t tok = sampler.sample(s.logits, s.tokens);
      if (step == 0) tm.ttft_ms = ms_since(t_start);
      res.tokens.push_back(tok);
      tm.n_decode++;
      if (options.stop_at_end_of_generation &&
          std::find(eog.begin(), eog.end(), tok) != eog.end()) {
        res.finish_reason = FinishReason::kEndOfGeneration;
        break;
      }
      if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), tok) !=
          options.stop_tokens.end()) {
        res.finish_reason = FinishReason::kStopToken;
        break;
      }
      const size_t before = res.text.size();
      res.text += stream.push(tok);
      // Stop strings: search the new bytes (and the held-back tail before them).
      size_t stop_at = std::string::npos;
      for (const auto& st : options.stop_strings) {
        const size_t from = before >= st.size() ? before - st.size() + 1 : 0;
        const size_t p = res.text.find(st, std::min(from, emitted));
        if (p != std::string::npos && p < stop_at) stop_at = p;
      }
      if (stop_at != std::string::npos) {
        res.text.resize(stop_at);
        if (stop_at > emitted) emit(stop_at, tok);
        res.finish_reason = FinishReason::kStopString;
        break;
      }
      const size_t safe = utf8_boundary(
          res.text, res.text.size() - held_back(res.text, emitted, options.stop_strings));
      if (!emit(std::max(safe, emitted), tok)) {
        res.finish_reason = FinishReason::kCancelled;
        break;
      }
      const bool last_step = options.max_new_tokens >= 0 && step + 1 >= options.max_new_tokens;
      if (last_step) {
        res.finish_reason = FinishReason::kMaxTokens;
        break;
      }
      if (s.tokens.size() >= s.cache.n_ctx()) {
        if (options.context_full_is_error)
          return Status(StatusCode::kOutOfRange,
                        "context full after " + std::to_string(res.tokens.size()) +
                            " generated tokens (n_ctx " + std::to_string(s.cache.n_ctx()) + ")");
        res.finish_reason = FinishReason::kContextFull;
        break;
      }
      Status st = s.run(std::span<const int32_t>(&tok, 1), nullptr);
      if (st.code() == StatusCode::kCancelled) {
        res.finish_reason = FinishReason::kCancelled;
        break;
      }
      LLMKIT_RETURN_IF_ERROR(st);
    }
    // Flush text held back for stop strings or incomplete UTF-8.
    if (res.finish_reason != FinishReason::kStopString) {
      res.text += stream.flush();
      if (res.text.size() > emitted && on_token)
        on_token(std::string_view(res.text).substr(emitted), -1);
    }
    tm.decode_ms = ms_since(t_dec);
    s.last = tm;
    return res;
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "generate: out of memory");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string("generate: ") + e.what());
  }
}

}  // namespace llmkit
