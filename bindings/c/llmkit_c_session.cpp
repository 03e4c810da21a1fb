// C ABI: sessions — evaluation, generation with streaming, sampling, cancel, timings (llmkit.h).
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "llmkit/sampler.hpp"
#include "llmkit/session.hpp"
#include "llmkit_c_handles.hpp"
#include "llmkit_c_internal.hpp"

using namespace llmkit::capi;

namespace {

llmkit_session_params default_session_params() {
  llmkit_session_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.n_ctx = 0;
  p.kv_type = LLMKIT_KV_F16;
  p.n_threads = 0;
  p.n_batch = 256;
  return p;
}

llmkit_sampler_params default_sampler_params() {
  llmkit::SamplerOptions o;
  llmkit_sampler_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.temperature = o.temperature;
  p.top_k = o.top_k;
  p.top_p = o.top_p;
  p.min_p = o.min_p;
  p.repeat_penalty = o.repeat_penalty;
  p.penalty_last_n = o.penalty_last_n;
  p.frequency_penalty = o.frequency_penalty;
  p.presence_penalty = o.presence_penalty;
  p.seed = o.seed;
  p.logit_bias = nullptr;
  p.n_logit_bias = 0;
  return p;
}

llmkit_generate_params default_generate_params() {
  llmkit::GenerateOptions o;
  llmkit_generate_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.max_new_tokens = o.max_new_tokens;
  p.stop_strings = nullptr;
  p.n_stop_strings = 0;
  p.stop_tokens = nullptr;
  p.n_stop_tokens = 0;
  p.stop_at_end_of_generation = o.stop_at_end_of_generation ? 1 : 0;
  p.context_full_is_error = o.context_full_is_error ? 1 : 0;
  return p;
}

llmkit_timings to_c(const llmkit::Timings& t) {
  llmkit_timings v;
  std::memset(&v, 0, sizeof v);
  v.struct_size = sizeof v;
  v.n_prefill = t.n_prefill;
  v.n_reused = t.n_reused;
  v.n_decode = t.n_decode;
  v.load_ms = t.load_ms;
  v.prefill_ms = t.prefill_ms;
  v.decode_ms = t.decode_ms;
  v.ttft_ms = t.ttft_ms;
  return v;
}

#define TIMINGS_FIELDS(T)                                                                       \
  LLMKIT_FIELD_END(T, n_prefill), LLMKIT_FIELD_END(T, n_reused), LLMKIT_FIELD_END(T, n_decode), \
      LLMKIT_FIELD_END(T, load_ms), LLMKIT_FIELD_END(T, prefill_ms),                            \
      LLMKIT_FIELD_END(T, decode_ms), LLMKIT_FIELD_END(T, ttft_ms)

llmkit_status check_tokens(const llmkit_session* s, const int32_t* tokens, size_t n, const char* fn,
                           const char* what) {
  if (!tokens && n != 0)
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                std::string(what) + " is NULL but its count is not 0");
  const uint32_t n_vocab = H(s)->model->info().n_vocab;
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || static_cast<uint32_t>(tokens[i]) >= n_vocab)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                  std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(tokens[i]) +
                      " is not a token id (n_vocab " + std::to_string(n_vocab) + ")");
  return LLMKIT_OK;
}

// Shared body of the two generate entry points. PROMPT_TEXT is used when non-null.
llmkit_status generate_impl(const char* fn, llmkit_session* session, const int32_t* prompt,
                            size_t n_prompt, const char* prompt_text,
                            const llmkit_sampler_params* sampler, const llmkit_generate_params* gen,
                            llmkit_token_callback callback, void* user_data,
                            llmkit_generation_result* out_result) {
  if (auto s = check_handle(session, HandleKind::kSession, fn)) return s;
  if (out_result) {
    uint32_t sz;
    std::memcpy(&sz, out_result, sizeof sz);
    if (sz < sizeof(uint32_t))
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                  "out_result->struct_size is " + std::to_string(sz));
  }
  llmkit_sampler_params sp = default_sampler_params();
  {
    using T = llmkit_sampler_params;
    if (auto s =
            read_struct(sampler, &sp, sizeof sp,
                        {LLMKIT_FIELD_END(T, temperature), LLMKIT_FIELD_END(T, top_k),
                         LLMKIT_FIELD_END(T, top_p), LLMKIT_FIELD_END(T, min_p),
                         LLMKIT_FIELD_END(T, repeat_penalty), LLMKIT_FIELD_END(T, penalty_last_n),
                         LLMKIT_FIELD_END(T, frequency_penalty),
                         LLMKIT_FIELD_END(T, presence_penalty), LLMKIT_FIELD_END(T, seed),
                         LLMKIT_FIELD_END(T, logit_bias), LLMKIT_FIELD_END(T, n_logit_bias)},
                        fn, "llmkit_sampler_params"))
      return s;
  }
  llmkit_generate_params gp = default_generate_params();
  {
    using T = llmkit_generate_params;
    if (auto s = read_struct(
            gen, &gp, sizeof gp,
            {LLMKIT_FIELD_END(T, max_new_tokens), LLMKIT_FIELD_END(T, stop_strings),
             LLMKIT_FIELD_END(T, n_stop_strings), LLMKIT_FIELD_END(T, stop_tokens),
             LLMKIT_FIELD_END(T, n_stop_tokens), LLMKIT_FIELD_END(T, stop_at_end_of_generation),
             LLMKIT_FIELD_END(T, context_full_is_error)},
            fn, "llmkit_generate_params"))
      return s;
  }

  llmkit::SamplerOptions so;
  so.temperature = sp.temperature;
  so.top_k = sp.top_k;
  so.top_p = sp.top_p;
  so.min_p = sp.min_p;
  so.repeat_penalty = sp.repeat_penalty;
  so.penalty_last_n = sp.penalty_last_n;
  so.frequency_penalty = sp.frequency_penalty;
  so.presence_penalty = sp.presence_penalty;
  so.seed = sp.seed;
  if (!sp.logit_bias && sp.n_logit_bias != 0)
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                "sampler->logit_bias is NULL but n_logit_bias is not 0");
  const uint32_t n_vocab = H(session)->model->info().n_vocab;
  for (size_t i = 0; i < sp.n_logit_bias; ++i) {
    const auto& b = sp.logit_bias[i];
    if (b.token < 0 || static_cast<uint32_t>(b.token) >= n_vocab)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                  "sampler->logit_bias[" + std::to_string(i) +
                      "].token = " + std::to_string(b.token) + " is not a token id");
    so.logit_bias.emplace_back(b.token, b.bias);
  }
  auto smp = llmkit::Sampler::create(so);
  if (!smp) return fail(smp.status(), fn);

  llmkit::GenerateOptions go;
  go.max_new_tokens = gp.max_new_tokens;
  go.stop_at_end_of_generation = gp.stop_at_end_of_generation != 0;
  go.context_full_is_error = gp.context_full_is_error != 0;
  if (!gp.stop_strings && gp.n_stop_strings != 0)
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                "gen->stop_strings is NULL but n_stop_strings is not 0");
  for (size_t i = 0; i < gp.n_stop_strings; ++i) {
    std::string where = "gen->stop_strings[" + std::to_string(i) + "]";
    if (!gp.stop_strings[i]) return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn, where + " is NULL");
    std::string s = gp.stop_strings[i];
    if (s.empty()) return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn, where + " is empty");
    if (auto st = check_utf8(s, fn, where.c_str())) return st;
    go.stop_strings.push_back(std::move(s));
  }
  if (!gp.stop_tokens && gp.n_stop_tokens != 0)
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, fn,
                "gen->stop_tokens is NULL but n_stop_tokens is not 0");
  go.stop_tokens.assign(gp.stop_tokens, gp.stop_tokens + gp.n_stop_tokens);

  bool callback_stopped = false;
  llmkit::StreamCallback cb;
  if (callback) {
    cb = [&](std::string_view chunk, int32_t token) {
      std::string text(chunk);  // NUL-terminated copy for C
      if (callback(text.c_str(), text.size(), token, user_data) != 0) return true;
      callback_stopped = true;
      return false;
    };
  }

  H(session)->last_text.clear();
  H(session)->last_tokens.clear();
  llmkit::Result<llmkit::GenerationResult> r = llmkit::Status();
  if (prompt_text) {
    std::string_view text(prompt_text);
    if (auto st = check_utf8(text, fn, "prompt")) return st;
    if (!H(session)->model->tokenizer())
      return fail(LLMKIT_ERR_UNSUPPORTED, fn,
                  "the model has no tokenizer: use llmkit_session_generate with token ids");
    r = H(session)->session->generate(text, *smp, go, cb);
  } else {
    if (auto st = check_tokens(session, prompt, n_prompt, fn, "prompt")) return st;
    r = H(session)->session->generate(std::span<const int32_t>(prompt, n_prompt), *smp, go, cb);
  }
  H(session)->last_timings = to_c(H(session)->session->last_timings());
  if (!r) return fail(r.status(), fn);
  H(session)->last_text = r->text;
  H(session)->last_tokens = r->tokens;
  H(session)->last_timings = to_c(r->timings);
  if (out_result) {
    llmkit_generation_result v;
    std::memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.finish_reason = static_cast<int32_t>(r->finish_reason);
    v.n_tokens = static_cast<int32_t>(r->tokens.size());
    v.timings = H(session)->last_timings;
    using T = llmkit_generation_result;
    // The embedded timings grow only with the result struct; a caller's smaller result struct gets
    // the timings fields that fit.
    size_t t0 = offsetof(T, timings);
    if (auto s = write_struct(
            &v, out_result, sizeof v,
            {LLMKIT_FIELD_END(T, finish_reason), LLMKIT_FIELD_END(T, n_tokens),
             LLMKIT_FIELD_END(T, reserved), t0 + LLMKIT_FIELD_END(llmkit_timings, n_prefill),
             t0 + LLMKIT_FIELD_END(llmkit_timings, n_reused),
             t0 + LLMKIT_FIELD_END(llmkit_timings, n_decode),
             t0 + LLMKIT_FIELD_END(llmkit_timings, load_ms),
             t0 + LLMKIT_FIELD_END(llmkit_timings, prefill_ms),
             t0 + LLMKIT_FIELD_END(llmkit_timings, decode_ms),
             t0 + LLMKIT_FIELD_END(llmkit_timings, ttft_ms)},
            fn, "out_result"))
      return s;
  }
  static_assert(static_cast<int>(llmkit::FinishReason::kCancelled) == LLMKIT_FINISH_CANCELLED);
  static_assert(static_cast<int>(llmkit::FinishReason::kContextFull) == LLMKIT_FINISH_CONTEXT_FULL);
  static_assert(static_cast<int>(llmkit::FinishReason::kMaxTokens) == LLMKIT_FINISH_MAX_TOKENS);
  if (r->finish_reason == llmkit::FinishReason::kCancelled && !callback_stopped)
    return fail(LLMKIT_ERR_CANCELLED, fn,
                "cancelled by llmkit_session_cancel after " + std::to_string(r->tokens.size()) +
                    " generated tokens (the partial result is available)");
  return LLMKIT_OK;
}

}  // namespace

extern "C" {

LLMKIT_API void llmkit_session_params_init(llmkit_session_params* params) {
  if (params) *params = default_session_params();
}
LLMKIT_API void llmkit_sampler_params_init(llmkit_sampler_params* params) {
  if (params) *params = default_sampler_params();
}
LLMKIT_API void llmkit_generate_params_init(llmkit_generate_params* params) {
  if (params) *params = default_generate_params();
}

LLMKIT_API llmkit_status llmkit_session_create(const llmkit_model* model,
                                               const llmkit_session_params* params,
                                               llmkit_session** out_session) {
  static constexpr const char* kFn = "llmkit_session_create";
  if (out_session) *out_session = nullptr;
  return guarded(kFn, [&]() -> llmkit_status {
    if (!out_session) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "out_session is NULL");
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    llmkit_session_params p = default_session_params();
    using T = llmkit_session_params;
    if (auto s = read_struct(params, &p, sizeof p,
                             {LLMKIT_FIELD_END(T, n_ctx), LLMKIT_FIELD_END(T, kv_type),
                              LLMKIT_FIELD_END(T, n_threads), LLMKIT_FIELD_END(T, n_batch)},
                             kFn, "llmkit_session_params"))
      return s;
    llmkit::SessionOptions o;
    o.n_ctx = p.n_ctx;
    switch (p.kv_type) {
      case LLMKIT_KV_F32:
        o.kv_type = llmkit::KvCacheType::kF32;
        break;
      case LLMKIT_KV_F16:
        o.kv_type = llmkit::KvCacheType::kF16;
        break;
      case LLMKIT_KV_BF16:
        o.kv_type = llmkit::KvCacheType::kBF16;
        break;
      default:
        return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn,
                    "params->kv_type " + std::to_string(p.kv_type) + " is not a llmkit_kv_type");
    }
    if (p.n_threads < 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "params->n_threads must be >= 0");
    if (p.n_batch == 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "params->n_batch must be > 0");
    o.n_threads = p.n_threads;
    o.n_batch = p.n_batch;
    auto s = llmkit::Session::create(H(model)->model, o);
    if (!s) return fail(s.status(), kFn);
    auto h = std::make_unique<SessionHandle>();
    h->model = H(model)->model;
    h->session = std::move(s).value();
    h->last_timings.struct_size = sizeof(llmkit_timings);
    register_handle(h.get(), HandleKind::kSession);
    *out_session = to_public(h.release());
    return LLMKIT_OK;
  });
}

LLMKIT_API void llmkit_session_free(llmkit_session* session) {
  if (!session) return;
  if (!unregister_handle(session, HandleKind::kSession)) {
    fail(LLMKIT_ERR_INVALID_ARGUMENT, "llmkit_session_free",
         "not a live llmkit_session (double free, or a pointer of another kind); ignored");
    return;
  }
  clear_error();
  delete H(session);
}

LLMKIT_API llmkit_status llmkit_session_evaluate(llmkit_session* session, const int32_t* tokens,
                                                 size_t n_tokens) {
  static constexpr const char* kFn = "llmkit_session_evaluate";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    if (auto s = check_tokens(session, tokens, n_tokens, kFn, "tokens")) return s;
    llmkit::Status st = H(session)->session->evaluate(std::span<const int32_t>(tokens, n_tokens));
    H(session)->last_timings = to_c(H(session)->session->last_timings());
    if (!st.is_ok()) return fail(st, kFn);
    return LLMKIT_OK;
  });
}

LLMKIT_API const float* llmkit_session_logits(const llmkit_session* session, size_t* out_n) {
  static constexpr const char* kFn = "llmkit_session_logits";
  if (out_n) *out_n = 0;
  const float* result = nullptr;
  guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    auto l = H(session)->session->logits();
    if (l.empty())
      return fail(LLMKIT_ERR_NOT_FOUND, kFn,
                  "no logits: nothing evaluated since the last reset/truncate");
    if (out_n) *out_n = l.size();
    result = l.data();
    return LLMKIT_OK;
  });
  return result;
}

LLMKIT_API llmkit_status llmkit_session_get_tokens(const llmkit_session* session, int32_t* tokens,
                                                   size_t capacity, size_t* out_n_tokens) {
  static constexpr const char* kFn = "llmkit_session_get_tokens";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    const auto& t = H(session)->session->tokens();
    return copy_ids(t.data(), t.size(), tokens, capacity, out_n_tokens, kFn);
  });
}

LLMKIT_API uint32_t llmkit_session_n_ctx(const llmkit_session* session) {
  if (!is_live(session, HandleKind::kSession)) {
    fail(LLMKIT_ERR_INVALID_ARGUMENT, "llmkit_session_n_ctx", "not a live llmkit_session");
    return 0;
  }
  return H(session)->session->n_ctx();
}

LLMKIT_API llmkit_status llmkit_session_reset(llmkit_session* session) {
  static constexpr const char* kFn = "llmkit_session_reset";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    H(session)->session->reset();
    return LLMKIT_OK;
  });
}

LLMKIT_API llmkit_status llmkit_session_truncate(llmkit_session* session, size_t n_keep) {
  static constexpr const char* kFn = "llmkit_session_truncate";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    llmkit::Status st = H(session)->session->truncate(n_keep);
    if (!st.is_ok()) return fail(st, kFn);
    return LLMKIT_OK;
  });
}

LLMKIT_API llmkit_status llmkit_session_cancel(llmkit_session* session) {
  static constexpr const char* kFn = "llmkit_session_cancel";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    H(session)->session->cancel();
    return LLMKIT_OK;
  });
}

LLMKIT_API llmkit_status llmkit_session_generate(llmkit_session* session, const int32_t* prompt,
                                                 size_t n_prompt,
                                                 const llmkit_sampler_params* sampler,
                                                 const llmkit_generate_params* gen,
                                                 llmkit_token_callback callback, void* user_data,
                                                 llmkit_generation_result* out_result) {
  static constexpr const char* kFn = "llmkit_session_generate";
  return guarded(kFn, [&]() {
    return generate_impl(kFn, session, prompt, n_prompt, nullptr, sampler, gen, callback, user_data,
                         out_result);
  });
}

LLMKIT_API llmkit_status llmkit_session_generate_text(llmkit_session* session, const char* prompt,
                                                      const llmkit_sampler_params* sampler,
                                                      const llmkit_generate_params* gen,
                                                      llmkit_token_callback callback,
                                                      void* user_data,
                                                      llmkit_generation_result* out_result) {
  static constexpr const char* kFn = "llmkit_session_generate_text";
  return guarded(kFn, [&]() -> llmkit_status {
    if (!prompt) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "prompt is NULL");
    return generate_impl(kFn, session, nullptr, 0, prompt, sampler, gen, callback, user_data,
                         out_result);
  });
}

LLMKIT_API llmkit_status llmkit_session_last_text(const llmkit_session* session, char* buf,
                                                  size_t capacity, size_t* out_len) {
  static constexpr const char* kFn = "llmkit_session_last_text";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    return copy_text(H(session)->last_text, buf, capacity, out_len, kFn);
  });
}

LLMKIT_API llmkit_status llmkit_session_last_tokens(const llmkit_session* session, int32_t* tokens,
                                                    size_t capacity, size_t* out_n_tokens) {
  static constexpr const char* kFn = "llmkit_session_last_tokens";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    return copy_ids(H(session)->last_tokens.data(), H(session)->last_tokens.size(), tokens,
                    capacity, out_n_tokens, kFn);
  });
}

LLMKIT_API llmkit_status llmkit_session_last_timings(const llmkit_session* session,
                                                     llmkit_timings* out) {
  static constexpr const char* kFn = "llmkit_session_last_timings";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(session, HandleKind::kSession, kFn)) return s;
    using T = llmkit_timings;
    return write_struct(&H(session)->last_timings, out, sizeof(T), {TIMINGS_FIELDS(T)}, kFn, "out");
  });
}

}  // extern "C"
