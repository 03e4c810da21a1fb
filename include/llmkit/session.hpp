// llmkit — one conversation with a model: KV cache, scratch buffers, worker threads.
//
// Ownership: a Session keeps its Model alive (shared_ptr). Create as many sessions per model as
// you like; each owns its own KV cache (memory: 2 * n_layer * n_ctx * n_head_kv * head_dim * bytes
// of the cache type).
// Thread-safety: a Session is used by one thread at a time. The only exception is cancel(), which
// any thread may call at any time; it makes the running (or else the next) evaluate()/generate()
// stop within one token (during prompt processing: between layers) and return kCancelled /
// FinishReason::kCancelled. The request is consumed by the call it stops; the call after that runs
// normally. (A cancel() while nothing runs therefore stops the next call.)
//
// Context policy (explicit, no silent truncation): a session holds at most n_ctx tokens. Evaluating
// tokens that would not fit fails with kOutOfRange and leaves the cache unchanged. generate()
// checks the prompt up front (kOutOfRange when the prompt alone does not fit) and, by default,
// stops with FinishReason::kContextFull when generated tokens fill the window; callers who prefer
// an error can set GenerateOptions::context_full_is_error. To continue past the window, truncate()
// or reset().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/model.hpp"
#include "llmkit/sampler.hpp"
#include "llmkit/status.hpp"

namespace llmkit {

enum class KvCacheType { kF32, kF16, kBF16 };

struct SessionOptions {
  uint32_t n_ctx = 0;  // tokens the cache holds; 0: min(model's training context, 4096)
  KvCacheType kv_type = KvCacheType::kF16;
  int n_threads = 0;       // 0: all hardware threads
  uint32_t n_batch = 256;  // prompt tokens per forward pass (bounds scratch memory)
};

struct Timings {
  double load_ms = 0.0;     // the model's load time (for reports)
  double prefill_ms = 0.0;  // prompt processing in this call
  int32_t n_prefill = 0;    // prompt tokens evaluated (after prefix reuse)
  int32_t n_reused = 0;     // prompt tokens found in the cache and not recomputed
  double decode_ms = 0.0;   // token-by-token generation (forward passes + sampling)
  int32_t n_decode = 0;     // generated tokens
  double ttft_ms = 0.0;     // call start -> first generated token
  double prefill_tok_per_s() const { return prefill_ms > 0 ? n_prefill * 1000.0 / prefill_ms : 0; }
  double decode_tok_per_s() const { return decode_ms > 0 ? n_decode * 1000.0 / decode_ms : 0; }
};

enum class FinishReason {
  kMaxTokens,        // max_new_tokens reached
  kEndOfGeneration,  // the model produced an end-of-generation token (EOS, <|im_end|>, ...)
  kStopToken,        // one of GenerateOptions::stop_tokens
  kStopString,       // one of GenerateOptions::stop_strings appeared (it is not part of the text)
  kContextFull,      // the KV cache is full
  kCancelled,        // cancel() or the callback returned false
};
const char* finish_reason_name(FinishReason r) noexcept;

struct GenerateOptions {
  int32_t max_new_tokens = 256;           // < 0: until another stop condition
  std::vector<std::string> stop_strings;  // generation stops before the first occurrence
  std::vector<int32_t> stop_tokens;       // in addition to the tokenizer's end-of-generation ids
  bool stop_at_end_of_generation = true;
  bool context_full_is_error = false;  // true: kOutOfRange instead of FinishReason::kContextFull
};

struct GenerationResult {
  std::string text;             // generated text (stop string and end-of-generation token excluded)
  std::vector<int32_t> tokens;  // generated token ids (including a final EOG/stop token, if any)
  FinishReason finish_reason = FinishReason::kMaxTokens;
  Timings timings;
};

// Streaming: called with each new UTF-8-complete chunk of text (may be empty when a token completes
// no character yet) and the token id that produced it (-1 for a final chunk of text that was held
// back for a possible stop string or an incomplete UTF-8 sequence). Return false to stop
// (FinishReason::kCancelled).
using StreamCallback = std::function<bool(std::string_view text_chunk, int32_t token)>;

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends TOKENS to the context and runs them through the model (in batches of n_batch). After
  // success, logits() holds the next-token logits after the last token. On error or cancellation
  // the cache is left as it was before the call.
  Status evaluate(std::span<const int32_t> tokens);
  // Like evaluate, but also returns the logits of every position of TOKENS: [tokens.size() *
  // n_vocab] (teacher forcing / perplexity).
  Result<std::vector<float>> evaluate_all_logits(std::span<const int32_t> tokens);

  // Makes the context equal PROMPT, reusing the longest cached prefix (so a multi-turn chat that
  // re-sends the whole conversation only computes the new part), then samples up to
  // max_new_tokens, streaming through ON_TOKEN (may be empty). Generated tokens stay in the cache,
  // so the next prompt that extends this conversation reuses them too. An empty PROMPT continues
  // from the current context (which must not be empty).
  Result<GenerationResult> generate(std::span<const int32_t> prompt, Sampler& sampler,
                                    const GenerateOptions& options = {},
                                    const StreamCallback& on_token = {});
  // Tokenizes TEXT (BOS per the tokenizer's settings, special tokens parsed) and generates.
  Result<GenerationResult> generate(std::string_view text, Sampler& sampler,
                                    const GenerateOptions& options = {},
                                    const StreamCallback& on_token = {});

  // Next-token logits after the last evaluated token (empty before the first evaluation).
  std::span<const float> logits() const noexcept;
  // Tokens currently in the cache (prompt and generated, in order).
  const std::vector<int32_t>& tokens() const noexcept;
  uint32_t n_ctx() const noexcept;

  void reset();                    // empty the context (keeps the memory)
  Status truncate(size_t n_keep);  // keep the first N_KEEP tokens; logits() is cleared
  void cancel() noexcept;          // thread-safe; see the header comment

  const Model& model() const noexcept;
  const Timings& last_timings() const noexcept;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmkit
