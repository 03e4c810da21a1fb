// Reference implementations of the elementwise ops and attention. Formulas follow ggml's CPU
// backend where that is cheap to do (double sums in norms/softmax, float rope angle recurrence)
// so llmkit stays numerically close to llama.cpp.
#include "ops/basic.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/simd.hpp"

namespace llmkit::ops {

// ---- conversions ----------------------------------------------------------------------------

uint16_t f32_to_f16(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7FFFFFFFu;
  if (absx >= 0x7F800000u) {  // inf or nan
    return uint16_t(sign | 0x7C00u | (absx > 0x7F800000u ? (0x200u | ((absx >> 13) & 0x3FFu)) : 0));
  }
  if (absx >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // rounds to >= 65520 -> inf
  if (absx < 0x38800000u) {                         // result is subnormal (or zero) in half
    if (absx < 0x33000000u) return uint16_t(sign);  // < 2^-25: rounds to 0
    const uint32_t e = absx >> 23;                  // 102..112
    const uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - e;  // bits to drop: 14..24
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  // normal: rebias exponent, round mantissa to 10 bits (nearest even); carry may bump exponent.
  uint32_t h = ((absx - 0x38000000u) >> 13);
  const uint32_t rem = absx & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return uint16_t(sign | h);
}

float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 113;
      while (!(man & 0x400u)) {
        man <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((man & 0x3FFu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (man << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) noexcept {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 64);  // quiet nan
  return uint16_t((u + (0x7FFFu + ((u >> 16) & 1))) >> 16);
}

void f32_to_f16_row(const float* x, uint16_t* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(x[i]);
}
void f16_to_f32_row(const uint16_t* x, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(x[i]);
}

// ---- normalization --------------------------------------------------------------------------

void rmsnorm(const float* x, const float* w, int64_t n, float eps, bool add_one,
             float* out) noexcept {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * double(x[i]);
  const float mean = float(sum / double(n));
  const float s = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] * s;
    if (w) v *= add_one ? (1.0f + w[i]) : w[i];
    out[i] = v;
  }
}

void rmsnorm_rows(const float* x, const float* w, int64_t rows, int64_t n, float eps, bool add_one,
                  float* out) noexcept {
  for (int64_t r = 0; r < rows; ++r) rmsnorm(x + r * n, w, n, eps, add_one, out + r * n);
}

void layernorm(const float* x, const float* w, const float* b, int64_t n, float eps,
               float* out) noexcept {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float mean = float(sum / double(n));
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) var += double(x[i] - mean) * double(x[i] - mean);
  const float s = 1.0f / std::sqrt(float(var / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) {
    float v = (x[i] - mean) * s;
    if (w) v *= w[i];
    if (b) v += b[i];
    out[i] = v;
  }
}

// ---- rope -----------------------------------------------------------------------------------

void rope_cache(const RopeParams& p, int64_t pos, float* cs) noexcept {
  const int n_rot = p.n_rot > 0 ? p.n_rot : p.head_dim;
  const float theta_scale = std::pow(p.theta, -2.0f / float(n_rot));
  float theta = float(pos);
  for (int i = 0; i < n_rot / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float t = p.freq_scale * (theta / ff);
    cs[2 * i] = std::cos(t);
    cs[2 * i + 1] = std::sin(t);
    theta *= theta_scale;
  }
}

void rope(float* x, int n_head, const RopeParams& p, int64_t pos, const float* cs) noexcept {
  const int n_rot = p.n_rot > 0 ? p.n_rot : p.head_dim;
  float local[512];
  std::vector<float> heap;
  if (!cs) {
    float* buf = local;
    if (n_rot > 512) {
      heap.resize(size_t(n_rot));
      buf = heap.data();
    }
    rope_cache(p, pos, buf);
    cs = buf;
  }
  for (int h = 0; h < n_head; ++h) {
    float* v = x + int64_t(h) * p.head_dim;
    for (int i = 0; i < n_rot / 2; ++i) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const int a = p.mode == RopeMode::kAdjacent ? 2 * i : i;
      const int b = p.mode == RopeMode::kAdjacent ? 2 * i + 1 : i + n_rot / 2;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

std::vector<float> llama3_freq_factors(int n_rot, float theta, float factor, float low_freq_factor,
                                       float high_freq_factor, int original_max_pos) {
  std::vector<float> out(size_t(n_rot / 2));
  const double low_wavelen = double(original_max_pos) / low_freq_factor;
  const double high_wavelen = double(original_max_pos) / high_freq_factor;
  for (int i = 0; i < n_rot / 2; ++i) {
    // torch computes the frequency in float32: 1 / base^(2i/d).
    const float freq = 1.0f / std::pow(theta, float(2 * i) / float(n_rot));
    const double wavelen = 2.0 * M_PI / double(freq);
    if (wavelen < high_wavelen) {
      out[size_t(i)] = 1.0f;
    } else if (wavelen > low_wavelen) {
      out[size_t(i)] = factor;
    } else {
      const double smooth = (double(original_max_pos) / wavelen - low_freq_factor) /
                            (high_freq_factor - low_freq_factor);
      out[size_t(i)] = float(1.0 / ((1.0 - smooth) / factor + smooth));
    }
  }
  return out;
}

// ---- activations ----------------------------------------------------------------------------

void softmax(float* x, int64_t n) noexcept {
  if (n <= 0) return;
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  if (mx == -INFINITY) {  // everything masked: define as uniform zero output
    std::fill(x, x + n, 0.0f);
    return;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - mx);
    x[i] = e;
    sum += e;
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu(const float* x, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] / (1.0f + std::exp(-x[i]));
}

namespace {
inline float gelu1(float x) {
  constexpr float kA = 0.044715f;
  constexpr float kS = 0.79788456080286535587989211986876f;
  return 0.5f * x * (1.0f + std::tanh(kS * x * (1.0f + kA * x * x)));
}
}  // namespace

void gelu_tanh(const float* x, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu1(x[i]);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void geglu(const float* gate, const float* up, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu1(gate[i]) * up[i];
}

namespace {
inline float gelu_ggml1(float x) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  return f16_to_f32(f32_to_f16(gelu1(f16_to_f32(f32_to_f16(x)))));
}
}  // namespace

void gelu_tanh_ggml(const float* x, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_ggml1(x[i]);
}

void geglu_ggml(const float* gate, const float* up, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = (g >= 10.0f ? g : gelu_ggml1(g)) * up[i];
  }
}

void add(const float* a, const float* b, float* out, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void scale(float* x, float s, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void softcap(float* x, float cap, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

// ---- attention ------------------------------------------------------------------------------

void kv_store(const float* k, const float* v, int64_t pos, void* k_cache, void* v_cache,
              const AttentionParams& p) noexcept {
  for (int h = 0; h < p.n_kv_head; ++h) {
    const int64_t off = (int64_t(h) * p.n_ctx + pos) * p.head_dim;
    const float* ks = k + int64_t(h) * p.head_dim;
    const float* vs = v + int64_t(h) * p.head_dim;
    if (p.kv_type == KvType::kF32) {
      std::memcpy(static_cast<float*>(k_cache) + off, ks, size_t(p.head_dim) * 4);
      std::memcpy(static_cast<float*>(v_cache) + off, vs, size_t(p.head_dim) * 4);
    } else {
      f32_to_f16_row(ks, static_cast<uint16_t*>(k_cache) + off, p.head_dim);
      f32_to_f16_row(vs, static_cast<uint16_t*>(v_cache) + off, p.head_dim);
    }
  }
}

namespace {

// One (query, head) pair: scores over keys [k0, k1], softmax, weighted V sum into out[head_dim].
void attend_one(const float* q, int64_t k0, int64_t k1, const void* kc, const void* vc,
                int64_t head_off, const AttentionParams& p, float* scores, float* qh, float* out) {
  const int d = p.head_dim;
  const int64_t nk = k1 - k0 + 1;
  if (p.kv_type == KvType::kF32) {
    const float* K = static_cast<const float*>(kc) + head_off;
    for (int64_t j = 0; j < nk; ++j) scores[j] = simd::dot_f32(q, K + (k0 + j) * d, d);
  } else {
    // llama.cpp converts q to f16 for the f16 dot product.
    for (int i = 0; i < d; ++i) qh[i] = f16_to_f32(f32_to_f16(q[i]));
    const uint16_t* K = static_cast<const uint16_t*>(kc) + head_off;
    for (int64_t j = 0; j < nk; ++j) scores[j] = simd::dot_f32_f16(qh, K + (k0 + j) * d, d);
  }
  for (int64_t j = 0; j < nk; ++j) {
    float s = scores[j] * p.scale;
    if (p.softcap > 0.f) s = p.softcap * std::tanh(s / p.softcap);
    scores[j] = s;
  }
  softmax(scores, nk);
  std::fill(out, out + d, 0.0f);
  if (p.kv_type == KvType::kF32) {
    const float* V = static_cast<const float*>(vc) + head_off;
    for (int64_t j = 0; j < nk; ++j) simd::axpy_f32(scores[j], V + (k0 + j) * d, out, d);
  } else {
    const uint16_t* V = static_cast<const uint16_t*>(vc) + head_off;
    for (int64_t j = 0; j < nk; ++j) simd::axpy_f16(scores[j], V + (k0 + j) * d, out, d);
  }
}

}  // namespace

void attention(const float* q, int64_t n_q, int64_t pos0, const void* k_cache, const void* v_cache,
               const AttentionParams& p, float* out, ThreadPool* pool) noexcept {
  const int group = p.n_head / std::max(1, p.n_kv_head);
  const int64_t n_items = n_q * p.n_head;
  auto work = [&](int64_t b, int64_t e) {
    thread_local std::vector<float> scores, qh;
    if (int64_t(scores.size()) < pos0 + n_q) scores.resize(size_t(pos0 + n_q));
    if (int64_t(qh.size()) < p.head_dim) qh.resize(size_t(p.head_dim));
    for (int64_t it = b; it < e; ++it) {
      const int64_t i = it / p.n_head;
      const int h = int(it % p.n_head);
      const int64_t pos = pos0 + i;
      int64_t k0 = 0;
      if (p.sliding_window > 0) k0 = std::max<int64_t>(0, pos - p.sliding_window + 1);
      const int64_t head_off = int64_t(h / group) * p.n_ctx * p.head_dim;
      const int64_t qo = (i * p.n_head + h) * p.head_dim;
      attend_one(q + qo, k0, pos, k_cache, v_cache, head_off, p, scores.data(), qh.data(),
                 out + qo);
    }
  };
  // Decode with a short context is too little work to wake threads for.
  const int64_t cost = n_items * (pos0 + n_q) * p.head_dim;
  if (pool && cost > (1 << 16))
    pool->parallel_for(n_items, work);
  else
    work(0, n_items);
}

}  // namespace llmkit::ops
