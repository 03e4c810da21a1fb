// Token sampling (see include/llmkit/sampler.hpp for the order of the chain).
#include "llmkit/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

namespace llmkit {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Candidates sorted by logit descending, ties broken by the lower id so the order (and therefore
// the drawn token) never depends on the sort implementation.
inline bool by_logit_desc(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

Result<Sampler> Sampler::create(const SamplerOptions& o) {
  auto bad = [](const std::string& what) {
    return Status(StatusCode::kInvalidArgument, "sampler: " + what);
  };
  if (std::isnan(o.temperature)) return bad("temperature is NaN");
  if (std::isnan(o.top_p) || o.top_p < 0) return bad("top_p must be >= 0");
  if (std::isnan(o.min_p) || o.min_p > 1) return bad("min_p must be <= 1");
  if (std::isnan(o.repeat_penalty) || o.repeat_penalty <= 0)
    return bad("repeat_penalty must be > 0");
  if (std::isnan(o.frequency_penalty) || std::isnan(o.presence_penalty))
    return bad("penalty is NaN");
  if (o.penalty_last_n < -1) return bad("penalty_last_n must be >= -1");
  for (const auto& [id, b] : o.logit_bias) {
    if (id < 0) return bad("logit_bias token id " + std::to_string(id) + " is negative");
    if (std::isnan(b)) return bad("logit_bias for token " + std::to_string(id) + " is NaN");
  }
  return Sampler(o);
}

Sampler::Sampler(const SamplerOptions& options) : options_(options) { reseed(options.seed); }

void Sampler::reseed(uint64_t seed) {
  options_.seed = seed;
  uint64_t x = seed;
  for (auto& s : state_) s = splitmix64(x);
}

double Sampler::next_uniform() {
  // xoshiro256**: small, fast and identical everywhere (std::mt19937 would be too, but the
  // distributions in <random> are implementation-defined).
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const int32_t n_vocab = static_cast<int32_t>(logits.size());
  if (n_vocab == 0) return -1;
  const SamplerOptions& o = options_;
  work_.assign(logits.begin(), logits.end());

  for (const auto& [id, b] : o.logit_bias)
    if (id >= 0 && id < n_vocab) work_[id] += b;

  const bool penalize =
      o.repeat_penalty != 1.0f || o.frequency_penalty != 0.0f || o.presence_penalty != 0.0f;
  if (penalize && !history.empty() && o.penalty_last_n != 0) {
    size_t n = history.size();
    if (o.penalty_last_n > 0) n = std::min(n, static_cast<size_t>(o.penalty_last_n));
    std::unordered_map<int32_t, int32_t> counts;
    for (size_t i = history.size() - n; i < history.size(); ++i) counts[history[i]]++;
    for (const auto& [id, c] : counts) {
      if (id < 0 || id >= n_vocab) continue;
      float& l = work_[id];
      if (o.repeat_penalty != 1.0f) l = l > 0 ? l / o.repeat_penalty : l * o.repeat_penalty;
      l -= static_cast<float>(c) * o.frequency_penalty + o.presence_penalty;
    }
  }

  if (o.temperature <= 0.0f) {
    int32_t best = 0;
    for (int32_t i = 1; i < n_vocab; ++i)
      if (work_[i] > work_[best]) best = i;
    return best;
  }

  candidates_.resize(n_vocab);
  for (int32_t i = 0; i < n_vocab; ++i) candidates_[i] = {work_[i], i};
  size_t n = candidates_.size();
  if (o.top_k > 0 && static_cast<size_t>(o.top_k) < n) {
    n = static_cast<size_t>(o.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + n, candidates_.end(),
                      by_logit_desc);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit_desc);
  }
  candidates_.resize(n);

  // Probabilities at temperature 1 for top-p and min-p (llama.cpp applies temperature last).
  auto softmax = [&](float temp) {
    work_.resize(candidates_.size());
    const float max_l = candidates_[0].first;
    double sum = 0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      work_[i] = std::exp((candidates_[i].first - max_l) / temp);
      sum += work_[i];
    }
    for (auto& p : work_) p = static_cast<float>(p / sum);
  };
  if (o.top_p < 1.0f) {
    softmax(1.0f);
    double cum = 0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cum += work_[i];
      if (cum >= o.top_p) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
  }
  if (o.min_p > 0.0f && candidates_.size() > 1) {
    // p_i >= min_p * p_max  <=>  l_i >= l_max + log(min_p)
    const float threshold = candidates_[0].first + std::log(o.min_p);
    size_t keep = 1;
    while (keep < candidates_.size() && candidates_[keep].first >= threshold) ++keep;
    candidates_.resize(keep);
  }

  softmax(o.temperature);
  const double r = next_uniform();
  double cum = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += work_[i];
    if (r < cum) return candidates_[i].second;
  }
  return candidates_.back().second;  // rounding: r landed past the last cumulative sum
}

}  // namespace llmkit
