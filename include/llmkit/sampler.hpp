// llmkit — token sampling: greedy, temperature, top-k, top-p, min-p, repetition / frequency /
// presence penalties and logit bias, with a seeded private RNG.
//
// Order of the chain (llama.cpp's default order): logit bias -> penalties -> (greedy if
// temperature <= 0) -> top-k -> top-p -> min-p -> temperature -> softmax -> draw.
// Determinism: the same options (seed included), logits and history give the same token on every
// machine and for every thread count (sampling is single-threaded and uses its own RNG).
// Thread-safety: a Sampler is a small value object with RNG state; use one per thread/session.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit {

struct SamplerOptions {
  float temperature = 0.8f;        // <= 0: greedy (argmax after bias and penalties)
  int32_t top_k = 40;              // <= 0: disabled
  float top_p = 0.95f;             // >= 1: disabled
  float min_p = 0.05f;             // <= 0: disabled
  float repeat_penalty = 1.0f;     // 1: disabled; > 1 discourages tokens seen in the last N
  int32_t penalty_last_n = 64;     // how many recent tokens the penalties look at (-1: all)
  float frequency_penalty = 0.0f;  // subtracted once per occurrence
  float presence_penalty = 0.0f;   // subtracted once if present
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit of a token id
  uint64_t seed = 0;                                  // RNG seed

  static SamplerOptions greedy() {
    SamplerOptions o;
    o.temperature = 0.0f;
    return o;
  }
};

class Sampler {
 public:
  // Checks the options (kInvalidArgument for NaN/negative values that make no sense).
  static Result<Sampler> create(const SamplerOptions& options);
  explicit Sampler(const SamplerOptions& options);  // unchecked; prefer create()

  // Picks the next token from LOGITS (one value per vocabulary entry). HISTORY is the tokens so far
  // (prompt + generated), used by the penalties. Returns -1 only when LOGITS is empty.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  void reseed(uint64_t seed);
  const SamplerOptions& options() const noexcept { return options_; }

 private:
  double next_uniform();  // [0, 1)
  SamplerOptions options_;
  uint64_t state_[4];
  // scratch reused between calls
  std::vector<std::pair<float, int32_t>> candidates_;
  std::vector<float> work_;
};

}  // namespace llmkit
