// Sampler: each stage of the chain checked on hand-made logits against its definition.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

#include "llmkit/sampler.hpp"

using llmkit::Sampler;
using llmkit::SamplerOptions;

namespace {

SamplerOptions plain(float temp) {
  SamplerOptions o;
  o.temperature = temp;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  return o;
}

std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int n) {
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) h[s.sample(logits, {})]++;
  return h;
}

}  // namespace

TEST_CASE("sampler: greedy is the argmax after bias and penalties") {
  std::vector<float> l = {0.1f, 2.0f, 1.9f, -1.0f};
  Sampler g(SamplerOptions::greedy());
  CHECK(g.sample(l, {}) == 1);
  SamplerOptions o = SamplerOptions::greedy();
  o.logit_bias = {{3, 5.0f}};
  CHECK(Sampler(o).sample(l, {}) == 3);
  // Repetition penalty 2 on token 1 (seen in history): 2.0 / 2 = 1.0 < 1.9.
  o = SamplerOptions::greedy();
  o.repeat_penalty = 2.0f;
  const std::vector<int32_t> hist = {1};
  CHECK(Sampler(o).sample(l, hist) == 2);
  // Frequency penalty counts occurrences; presence penalty once.
  o = SamplerOptions::greedy();
  o.frequency_penalty = 0.06f;
  const std::vector<int32_t> hist2 = {1, 1};
  CHECK(Sampler(o).sample(l, hist2) == 2);  // 2.0 - 0.12 < 1.9
  o.frequency_penalty = 0.0f;
  o.presence_penalty = 0.05f;
  CHECK(Sampler(o).sample(l, hist2) == 1);  // 2.0 - 0.05 > 1.9
  CHECK(g.sample(std::vector<float>{}, {}) == -1);
}

TEST_CASE("sampler: temperature sampling follows softmax; same seed, same sequence") {
  std::vector<float> l = {1.0f, 2.0f, 0.0f, 1.5f};
  Sampler s(plain(1.0f));
  const int n = 40000;
  auto h = histogram(s, l, n);
  double z = 0;
  for (float v : l) z += std::exp(v);
  for (int i = 0; i < 4; ++i) {
    const double p = std::exp(l[i]) / z;
    const double sd = std::sqrt(p * (1 - p) / n);
    CHECK(std::fabs(h[i] / double(n) - p) < 5 * sd);
  }
  SamplerOptions o = plain(0.7f);
  o.seed = 1234;
  Sampler a(o), b(o);
  std::vector<int32_t> sa, sb;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(a.sample(l, {}));
    sb.push_back(b.sample(l, {}));
  }
  CHECK(sa == sb);
  o.seed = 1235;
  Sampler c(o);
  std::vector<int32_t> sc;
  for (int i = 0; i < 200; ++i) sc.push_back(c.sample(l, {}));
  CHECK(sc != sa);
  a.reseed(1234);
  std::vector<int32_t> again;
  for (int i = 0; i < 200; ++i) again.push_back(a.sample(l, {}));
  CHECK(again == sb);
}

TEST_CASE("sampler: top-k, top-p and min-p restrict the candidates") {
  std::vector<float> l = {3.0f, 2.9f, 1.0f, 0.5f, 0.0f};
  SamplerOptions o = plain(1.0f);
  o.top_k = 2;
  Sampler k2(o);
  auto h = histogram(k2, l, 3000);
  CHECK(h.size() == 2);
  CHECK(h.count(0) == 1);
  CHECK(h.count(1) == 1);

  // Probabilities: softmax(l) ≈ [0.45, 0.41, 0.06, 0.04, 0.02]; top_p 0.5 keeps {0, 1}.
  o = plain(1.0f);
  o.top_p = 0.5f;
  Sampler p(o);
  h = histogram(p, l, 3000);
  CHECK(h.size() == 2);
  o.top_p = 0.3f;  // the first token alone already covers 0.3
  Sampler p1(o);
  h = histogram(p1, l, 500);
  CHECK(h.size() == 1);

  // min_p 0.1: keep tokens with p >= 0.1 * p_max, i.e. l >= 3 + ln 0.1 = 0.697 -> {0, 1, 2}.
  o = plain(1.0f);
  o.min_p = 0.1f;
  Sampler m(o);
  h = histogram(m, l, 6000);
  CHECK(h.size() == 3);
  CHECK(h.count(3) == 0);

  // top_k 1 is greedy whatever the temperature.
  o = plain(5.0f);
  o.top_k = 1;
  Sampler k1(o);
  h = histogram(k1, l, 200);
  CHECK(h.size() == 1);
  CHECK(h.begin()->first == 0);
}

TEST_CASE("sampler: invalid options are rejected") {
  SamplerOptions o;
  o.temperature = std::nanf("");
  CHECK(Sampler::create(o).status().code() == llmkit::StatusCode::kInvalidArgument);
  o = SamplerOptions();
  o.repeat_penalty = 0.0f;
  CHECK(!Sampler::create(o).is_ok());
  o = SamplerOptions();
  o.logit_bias = {{-3, 1.0f}};
  CHECK(!Sampler::create(o).is_ok());
  CHECK(Sampler::create(SamplerOptions()).is_ok());
}
