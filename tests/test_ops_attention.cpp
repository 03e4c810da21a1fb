// Attention and gated activations of the fast backend.
// Attention: the batched prefill kernel (AVX-512, AVX2 and portable bodies) against the reference
// definition (src/ops/attention.hpp), over causal and sliding-window masks, grouped K/V heads,
// head sizes that take the SIMD path (64, 80, 256) and one that does not (40), f32 and
// f16-rounded (f16 KV cache) arithmetic, batches that fill 16-query blocks partly, and a batch
// that starts after cached positions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <vector>

#include "ops/attention.hpp"
#include "ops/basic.hpp"
#include "ops/glu.hpp"
#include "ops/linear_impl.hpp"
#include "ops/simd.hpp"
#include "ops/thread_pool.hpp"

namespace {

struct Case {
  int64_t M, H, Hkv, hd;
  int32_t pos0, window;
  bool f16;
};

void run_case(const Case& c, llmkit::ops::ThreadPool& pool) {
  CAPTURE(c.M);
  CAPTURE(c.H);
  CAPTURE(c.Hkv);
  CAPTURE(c.hd);
  CAPTURE(c.pos0);
  CAPTURE(c.window);
  CAPTURE(c.f16);
  std::mt19937 rng(uint32_t(c.M * 131 + c.hd * 7 + c.pos0 + c.window * 3 + c.f16));
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t qd = c.H * c.hd, kvd = c.Hkv * c.hd;
  const int32_t last = c.pos0 + int32_t(c.M) - 1;
  const int32_t first = c.window > 0 ? std::max(0, c.pos0 - c.window + 1) : 0;
  const int64_t n_rows = last - first + 1;
  std::vector<float> q(size_t(c.M * qd)), k(size_t(n_rows * kvd)), v(size_t(n_rows * kvd));
  for (auto& x : q) x = nd(rng) * 2.f;
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  llmkit::ops::AttentionArgs a;
  a.q = q.data();
  a.q_stride = qd;
  a.k = k.data();
  a.v = v.data();
  a.kv_stride = kvd;
  a.n_rows = n_rows;
  a.out_stride = qd;
  a.M = c.M;
  a.H = c.H;
  a.Hkv = c.Hkv;
  a.hd = c.hd;
  a.pos0 = c.pos0;
  a.first = first;
  a.window = c.window;
  a.scale = 1.f / std::sqrt(float(c.hd));
  a.round_f16 = c.f16;
  std::vector<float> ref(q.size(), NAN), fast(q.size(), NAN), port(q.size(), NAN);
  a.out = ref.data();
  llmkit::ops::attention_reference(a, pool);
  a.out = fast.data();
  llmkit::ops::attention_batched(a, pool);
  llmkit::ops::set_fast_linear_portable(true);
  a.out = port.data();
  llmkit::ops::attention_batched(a, pool);
  llmkit::ops::set_fast_linear_portable(false);
  std::vector<float> avx2(q.size(), NAN);  // the AVX2 body, also on AVX-512 CPUs
  llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx2);
  a.out = avx2.data();
  llmkit::ops::attention_batched(a, pool);
  llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx512);
  // Outputs are convex combinations of V rows (|v| ~ 1): differences come from the summation
  // order of the scores and exp's last bits; with f16-rounded probabilities one probability may
  // round the other way (2^-11 relative).
  const double tol = c.f16 ? 1e-3 : 2e-5;
  double worst = 0, worst_p = 0, worst_2 = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, std::fabs(double(fast[i]) - ref[i]));
    worst_p = std::max(worst_p, std::fabs(double(port[i]) - ref[i]));
    worst_2 = std::max(worst_2, std::fabs(double(avx2[i]) - ref[i]));
  }
  CHECK(worst <= tol);
  CHECK(worst_p <= tol);
  CHECK(worst_2 <= tol);
}

}  // namespace

TEST_CASE("attention: batched kernel equals the reference definition") {
  llmkit::ops::ThreadPool pool(2);
  for (bool f16 : {false, true})
    for (int32_t window : {0, 7})
      for (int32_t pos0 : {0, 23}) {
        run_case({17, 6, 2, 64, pos0, window, f16}, pool);
        run_case({40, 4, 4, 80, pos0, window, f16}, pool);
        run_case({5, 4, 1, 256, pos0, window, f16}, pool);
        run_case({16, 3, 1, 40, pos0, window, f16}, pool);
      }
}

TEST_CASE("glu: vectorized SwiGLU and llama.cpp-table GeGLU match their scalar definitions") {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 4.f);
  const int64_t n = 4099;  // not a multiple of 16: the scalar tail runs too
  std::vector<float> g(n), u(n), ys(n), yf(n), yr(n);
  for (int64_t i = 0; i < n; ++i) {
    g[size_t(i)] = nd(rng);
    u[size_t(i)] = nd(rng);
  }
  // The edges of llama.cpp's table range and beyond.
  const float edges[] = {-10.f, 10.f, -10.0001f, 10.0001f, -30.f, 40.f,
                         0.f,   -0.f, 1e-8f,     -90.f,    90.f};
  for (size_t i = 0; i < std::size(edges); ++i) g[i * 7] = edges[i];
  llmkit::ops::geglu_ggml(g.data(), u.data(), yr.data(), n);
  llmkit::ops::geglu_ggml_fast(g.data(), u.data(), yf.data(), n);
  CHECK(std::memcmp(yr.data(), yf.data(), size_t(n) * 4) == 0);
  llmkit::ops::swiglu(g.data(), u.data(), yr.data(), n);
  llmkit::ops::swiglu_fast(g.data(), u.data(), yf.data(), n);
  auto count_bad = [&](const std::vector<float>& y) {
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double err = std::fabs(double(y[size_t(i)]) - yr[size_t(i)]);
      if (!(err <= 4 * 1.2e-7 * std::fabs(double(yr[size_t(i)])) + 1e-30)) ++bad;
    }
    return bad;
  };
  CHECK(count_bad(yf) == 0);
  {  // the AVX2 kernels, also on AVX-512 CPUs
    std::vector<float> y2(n), yg(n);
    llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx2);
    llmkit::ops::swiglu_fast(g.data(), u.data(), y2.data(), n);
    llmkit::ops::geglu_ggml_fast(g.data(), u.data(), yg.data(), n);
    llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx512);
    CHECK(count_bad(y2) == 0);
    llmkit::ops::geglu_ggml(g.data(), u.data(), y2.data(), n);
    CHECK(std::memcmp(y2.data(), yg.data(), size_t(n) * 4) == 0);
  }
  // In place (out aliases gate).
  ys = g;
  llmkit::ops::swiglu_fast(ys.data(), u.data(), ys.data(), n);
  CHECK(std::memcmp(ys.data(), yf.data(), size_t(n) * 4) == 0);
}
