// Elementwise ops and attention against independent double-precision formulas (and hardware
// F16C conversions). Tolerances are stated per check.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ops/basic.hpp"
#include "ops/simd.hpp"
#include "runtime/kv_cache.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ops = llmkit::ops;

namespace {

std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t hw_f32_to_f16(float f) {
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }
#endif

}  // namespace

TEST_CASE("f16/bf16 conversions match the hardware and round to nearest even") {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("f16c")) {
    MESSAGE("skipping: no F16C");
    return;
  }
  for (uint32_t h = 0; h < 65536; ++h) {  // every half, including subnormals, inf, nan
    const float a = ops::f16_to_f32(uint16_t(h)), b = hw_f16_to_f32(uint16_t(h));
    // NaNs: hardware quiets signalling NaNs, numpy (gguf's reference) keeps the payload as is,
    // and dequantization follows numpy; only NaN-ness must agree.
    if (std::isnan(b)) {
      REQUIRE(std::isnan(a));
      continue;
    }
    REQUIRE(std::memcmp(&a, &b, 4) == 0);
    if (!std::isnan(a)) REQUIRE(ops::f32_to_f16(a) == h);
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = rng();
    // bias toward the half range (including subnormal and overflow edges)
    if (i % 2) bits = (bits & 0x807FFFFFu) | (uint32_t(100 + rng() % 50) << 23);
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    REQUIRE_MESSAGE(ops::f32_to_f16(f) == hw_f32_to_f16(f), "bits " << bits);
  }
#endif
  // bf16: round to nearest even, ties (0x8000 remainder) to even.
  auto bf = [](uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return ops::f32_to_bf16(f);
  };
  CHECK(bf(0x3F800000u) == 0x3F80);
  CHECK(bf(0x3F808000u) == 0x3F80);  // tie, even stays
  CHECK(bf(0x3F818000u) == 0x3F82);  // tie, odd rounds up
  CHECK(bf(0x3F808001u) == 0x3F81);
  CHECK(bf(0x7FC00001u) == 0x7FC0);  // nan stays nan
}

// The f16 KV cache converts rows with F16C where present: stored values must be exactly the scalar
// converter's (ops::f32_to_f16, which the test above ties to the hardware), including the
// subnormal, overflow and tie cases the biased bit patterns hit.
TEST_CASE("KV cache f16 rows: vector store == scalar round to nearest even") {
  constexpr uint32_t kDim = 77;  // not a multiple of 8: exercises the scalar tail too
  llmkit::runtime::KvCache cache;
  REQUIRE(cache.allocate(1, 4, kDim, llmkit::runtime::KvType::kF16).is_ok());
  std::mt19937 rng(7);
  std::vector<float> k(kDim), v(kDim), back(kDim);
  for (int round = 0; round < 2000; ++round) {
    for (uint32_t i = 0; i < kDim; ++i) {
      for (float* dst : {&k[i], &v[i]}) {
        uint32_t bits = (rng() & 0x807FFFFFu) | (uint32_t(100 + rng() % 50) << 23);
        std::memcpy(dst, &bits, 4);
      }
    }
    cache.store(0, uint32_t(round % 4), k.data(), v.data());
    cache.load_k(0, uint32_t(round % 4), 0, kDim, back.data());
    for (uint32_t i = 0; i < kDim; ++i) {
      const float want = ops::f16_to_f32(ops::f32_to_f16(k[i]));
      REQUIRE_MESSAGE(std::memcmp(&want, &back[i], 4) == 0, "k=" << k[i]);
    }
  }
}

TEST_CASE("rmsnorm and layernorm match double formulas") {
  const int n = 576;
  auto x = randn(n, 2, 3.f), w = randn(n, 3, 0.5f);
  std::vector<float> out(n), out1(n);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
  ops::rmsnorm(x.data(), w.data(), n, 1e-5f, false, out.data());
  ops::rmsnorm(x.data(), w.data(), n, 1e-5f, true, out1.data());
  for (int i = 0; i < n; ++i) {
    CHECK(out[i] == doctest::Approx(x[i] * inv * w[i]).epsilon(1e-6));
    CHECK(out1[i] == doctest::Approx(x[i] * inv * (1.0 + w[i])).epsilon(1e-6));
  }
  std::vector<float> rows(2 * n);
  auto x2 = x;
  x2.insert(x2.end(), x.begin(), x.end());
  ops::rmsnorm_rows(x2.data(), w.data(), 2, n, 1e-5f, false, rows.data());
  CHECK(std::memcmp(rows.data() + n, out.data(), n * 4) == 0);
  // In place.
  auto xi = x;
  ops::rmsnorm(xi.data(), w.data(), n, 1e-5f, false, xi.data());
  CHECK(std::memcmp(xi.data(), out.data(), n * 4) == 0);

  auto b = randn(n, 4);
  double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= n;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= n;
  ops::layernorm(x.data(), w.data(), b.data(), n, 1e-5f, out.data());
  for (int i = 0; i < n; ++i)
    CHECK(out[i] ==
          doctest::Approx((x[i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i]).epsilon(1e-5));
}

TEST_CASE("rope: angles, adjacent vs neox layouts, freq factors") {
  ops::RopeParams p;
  p.head_dim = 64;
  p.theta = 10000.f;
  const int n_head = 3;
  for (int64_t pos : {0, 1, 17, 1000}) {
    auto x = randn(size_t(n_head * p.head_dim), uint32_t(pos + 10));
    // Adjacent: against double-precision angles. The float angle recurrence (as ggml computes it)
    // drifts with pos; 2e-4 relative to the pair's norm covers pos <= 1000.
    auto y = x;
    p.mode = ops::RopeMode::kAdjacent;
    ops::rope(y.data(), n_head, p, pos);
    for (int h = 0; h < n_head; ++h)
      for (int i = 0; i < p.head_dim / 2; ++i) {
        const double th = double(pos) * std::pow(10000.0, -2.0 * i / p.head_dim);
        const double x0 = x[h * 64 + 2 * i], x1 = x[h * 64 + 2 * i + 1];
        const double nrm = std::hypot(x0, x1) + 1e-6;
        CHECK(std::fabs(y[h * 64 + 2 * i] - (x0 * std::cos(th) - x1 * std::sin(th))) < 2e-4 * nrm);
        CHECK(std::fabs(y[h * 64 + 2 * i + 1] - (x0 * std::sin(th) + x1 * std::cos(th))) <
              2e-4 * nrm);
      }
    // NeoX on the HF-permuted vector equals adjacent on the GGUF vector (the converter's
    // permutation: HF index i*(hd/2)+j <-> GGUF index 2j+i).
    std::vector<float> hf(x.size());
    for (int h = 0; h < n_head; ++h)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 32; ++j) hf[h * 64 + i * 32 + j] = x[h * 64 + 2 * j + i];
    p.mode = ops::RopeMode::kNeox;
    ops::rope(hf.data(), n_head, p, pos);
    for (int h = 0; h < n_head; ++h)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 32; ++j) CHECK(hf[h * 64 + i * 32 + j] == y[h * 64 + 2 * j + i]);
  }
  // Partial rotation leaves the tail untouched; precomputed cache gives identical results.
  p.mode = ops::RopeMode::kNeox;
  p.n_rot = 32;
  auto x = randn(64, 99), y = x, z = x;
  ops::rope(y.data(), 1, p, 5);
  std::vector<float> cs(32);
  ops::rope_cache(p, 5, cs.data());
  ops::rope(z.data(), 1, p, 5, cs.data());
  CHECK(std::memcmp(y.data(), z.data(), 64 * 4) == 0);
  for (int i = 32; i < 64; ++i) CHECK(y[i] == x[i]);
  // Freq factors divide the angle.
  p.n_rot = 0;
  std::vector<float> ff(32, 2.0f);
  p.freq_factors = ff.data();
  std::vector<float> a(64), b(64);
  ops::rope_cache(p, 10, a.data());
  p.freq_factors = nullptr;
  ops::rope_cache(p, 5, b.data());
  for (int i = 0; i < 64; ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
  // llama3 factors (Llama 3.2: factor 32, low 1, high 4, original context 8192, theta 5e5):
  // 1 for high frequencies, `factor` for low ones, smooth and monotone in between.
  auto f = ops::llama3_freq_factors(64, 500000.f, 32.f, 1.f, 4.f, 8192);
  REQUIRE(f.size() == 32);
  CHECK(f.front() == 1.0f);
  CHECK(f.back() == 32.0f);
  for (size_t i = 1; i < f.size(); ++i) CHECK(f[i] >= f[i - 1]);
}

TEST_CASE("softmax and activations match double formulas") {
  auto x = randn(1000, 5, 4.f);
  auto s = x;
  ops::softmax(s.data(), 1000);
  double mx = -1e30, sum = 0;
  for (float v : x) mx = std::max(mx, double(v));
  for (float v : x) sum += std::exp(v - mx);
  for (int i = 0; i < 1000; ++i)
    CHECK(s[i] == doctest::Approx(std::exp(x[i] - mx) / sum).epsilon(1e-5));
  std::vector<float> masked = {-INFINITY, 1.f, -INFINITY};
  ops::softmax(masked.data(), 3);
  CHECK(masked[1] == 1.f);
  CHECK(masked[0] == 0.f);

  auto g = randn(1000, 6, 3.f), u = randn(1000, 7);
  std::vector<float> o(1000), o2(1000);
  ops::silu(g.data(), o.data(), 1000);
  ops::swiglu(g.data(), u.data(), o2.data(), 1000);
  for (int i = 0; i < 1000; ++i) {
    const double si = g[i] / (1 + std::exp(-double(g[i])));
    CHECK(o[i] == doctest::Approx(si).epsilon(1e-6));
    CHECK(o2[i] == doctest::Approx(si * u[i]).epsilon(1e-6));
  }
  ops::gelu_tanh(g.data(), o.data(), 1000);
  ops::geglu(g.data(), u.data(), o2.data(), 1000);
  std::vector<float> t(1000), t2(1000);
  ops::gelu_tanh_ggml(g.data(), t.data(), 1000);
  ops::geglu_ggml(g.data(), u.data(), t2.data(), 1000);
  for (int i = 0; i < 1000; ++i) {
    const double v = g[i];
    const double ge = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    // The tanh form cancels for very negative x: absolute slack 1e-6.
    CHECK(std::fabs(o[i] - ge) <= 1e-5 * std::fabs(ge) + 1e-6);
    CHECK(std::fabs(o2[i] - ge * u[i]) <= 1e-5 * std::fabs(ge * u[i]) + 1e-6 * std::fabs(u[i]));
    // f16 table variant: within f16 rounding of input and output (~2 half ulps of the slope).
    CHECK(std::fabs(t[i] - ge) <= 2e-3 * std::fabs(ge) + 2e-3 * std::fabs(v) + 1e-6);
    CHECK(t2[i] == doctest::Approx(double(t[i]) * u[i]).epsilon(1e-6));
  }
  auto a = randn(100, 8), b = randn(100, 9);
  std::vector<float> c(100);
  ops::add(a.data(), b.data(), c.data(), 100);
  for (int i = 0; i < 100; ++i) CHECK(c[i] == a[i] + b[i]);
  ops::scale(c.data(), 0.5f, 100);
  for (int i = 0; i < 100; ++i) CHECK(c[i] == (a[i] + b[i]) * 0.5f);
  auto sc = a;
  ops::softcap(sc.data(), 2.f, 100);
  for (int i = 0; i < 100; ++i)
    CHECK(sc[i] == doctest::Approx(2 * std::tanh(a[i] / 2.0)).epsilon(1e-6));
}

namespace {

// Independent reference: double precision, explicit loops, reads the caches through the same
// f16 conversion the kernel uses (an F16 cache is part of the input, not of the error).
std::vector<float> naive_attention(const std::vector<float>& q, int64_t n_q, int64_t pos0,
                                   const std::vector<float>& K, const std::vector<float>& V,
                                   const ops::AttentionParams& p, bool q_to_f16) {
  std::vector<float> out(q.size());
  const int group = p.n_head / p.n_kv_head, d = p.head_dim;
  for (int64_t i = 0; i < n_q; ++i)
    for (int h = 0; h < p.n_head; ++h) {
      const int kvh = h / group;
      const int64_t pos = pos0 + i;
      std::vector<double> sc;
      std::vector<int64_t> idx;
      for (int64_t j = 0; j <= pos; ++j) {
        if (p.sliding_window > 0 && pos - j >= p.sliding_window) continue;
        double s = 0;
        for (int c = 0; c < d; ++c) {
          float qv = q[(i * p.n_head + h) * d + c];
          if (q_to_f16) qv = ops::f16_to_f32(ops::f32_to_f16(qv));
          s += double(qv) * K[(kvh * p.n_ctx + j) * d + c];
        }
        s *= p.scale;
        if (p.softcap > 0) s = p.softcap * std::tanh(s / p.softcap);
        sc.push_back(s);
        idx.push_back(j);
      }
      double mx = -1e300, sum = 0;
      for (double s : sc) mx = std::max(mx, s);
      for (double& s : sc) sum += (s = std::exp(s - mx));
      for (int c = 0; c < d; ++c) {
        double acc = 0;
        for (size_t t = 0; t < sc.size(); ++t)
          acc += sc[t] / sum * V[(kvh * p.n_ctx + idx[t]) * d + c];
        out[(i * p.n_head + h) * d + c] = float(acc);
      }
    }
  return out;
}

}  // namespace

TEST_CASE("attention: GQA, causal block, sliding window, softcap, f32 and f16 caches") {
  ops::ThreadPool pool(2);
  for (auto kv : {ops::KvType::kF32, ops::KvType::kF16})
    for (int64_t window : {0, 5})
      for (float cap : {0.f, 30.f}) {
        CAPTURE(int(kv));
        CAPTURE(window);
        CAPTURE(cap);
        ops::AttentionParams p;
        p.n_head = 8;
        p.n_kv_head = 2;
        p.head_dim = 64;
        p.n_ctx = 40;
        p.scale = 1.f / 8.f;
        p.softcap = cap;
        p.sliding_window = window;
        p.kv_type = kv;
        const int64_t pos0 = 13, n_q = 4, n_pos = pos0 + n_q;
        // Fill the cache through kv_store, position by position.
        const size_t cache_elems = size_t(p.n_kv_head * p.n_ctx * p.head_dim);
        std::vector<float> kc32(cache_elems), vc32(cache_elems);
        std::vector<uint16_t> kc16(cache_elems), vc16(cache_elems);
        void* kc = kv == ops::KvType::kF32 ? static_cast<void*>(kc32.data()) : kc16.data();
        void* vc = kv == ops::KvType::kF32 ? static_cast<void*>(vc32.data()) : vc16.data();
        for (int64_t pos = 0; pos < n_pos; ++pos) {
          auto k = randn(size_t(p.n_kv_head * p.head_dim), uint32_t(100 + pos), 2.f);
          auto v = randn(size_t(p.n_kv_head * p.head_dim), uint32_t(200 + pos));
          ops::kv_store(k.data(), v.data(), pos, kc, vc, p);
        }
        std::vector<float> Kf(cache_elems), Vf(cache_elems);
        if (kv == ops::KvType::kF32) {
          Kf = kc32;
          Vf = vc32;
        } else {
          ops::f16_to_f32_row(kc16.data(), Kf.data(), int64_t(cache_elems));
          ops::f16_to_f32_row(vc16.data(), Vf.data(), int64_t(cache_elems));
        }
        auto q = randn(size_t(n_q * p.n_head * p.head_dim), 7, 2.f);
        std::vector<float> out(q.size()), out1(q.size());
        ops::attention(q.data(), n_q, pos0, kc, vc, p, out.data(), &pool);
        ops::attention(q.data(), n_q, pos0, kc, vc, p, out1.data(), nullptr);
        CHECK(std::memcmp(out.data(), out1.data(), out.size() * 4) == 0);
        auto ref = naive_attention(q, n_q, pos0, Kf, Vf, p, kv == ops::KvType::kF16);
        double worst = 0;
        for (size_t i = 0; i < out.size(); ++i)
          worst = std::max(worst, double(std::fabs(out[i] - ref[i])));
        CHECK_MESSAGE(worst < 2e-5, "max abs error " << worst);
        // Decoding one query at a time equals the block (causality holds inside the block).
        for (int64_t i = 0; i < n_q; ++i) {
          std::vector<float> o1(size_t(p.n_head * p.head_dim));
          ops::attention(q.data() + i * p.n_head * p.head_dim, 1, pos0 + i, kc, vc, p, o1.data(),
                         &pool);
          CHECK(std::memcmp(o1.data(), out.data() + i * p.n_head * p.head_dim, o1.size() * 4) == 0);
        }
      }
}
