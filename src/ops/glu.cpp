// Vectorized gated activations (see glu.hpp).
#include "ops/glu.hpp"

// GCC 12 false positives inside avx512fintrin.h (the undefined-vector idiom of masked ops).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cmath>
#include <vector>

#include "ops/avx2_math.hpp"
#include "ops/avx512_math.hpp"
#include "ops/basic.hpp"
#include "ops/simd.hpp"

namespace llmkit::ops {

namespace {

// gelu over every f16 input, rounded to f16, stored as f32 (256 KiB; llama.cpp keeps the same
// table as f16).
const float* gelu_f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) {
      const float x = f16_to_f32(uint16_t(i));
      float y = 0.f;
      gelu_tanh(&x, &y, 1);
      t[i] = f16_to_f32(f32_to_f16(y));
    }
    return t;
  }();
  return table.data();
}

inline float geglu1(float g, float u, const float* table) {
  if (g <= -10.0f) return 0.0f * u;
  if (g >= 10.0f) return g * u;
  return table[f32_to_f16(g)] * u;
}

#if defined(__x86_64__)
LLMKIT_AVX512_FN void swiglu_512(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 e = simd::exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    _mm512_storeu_ps(
        out + i, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

LLMKIT_AVX512_FN void geglu_512(const float* gate, const float* up, float* out, int64_t n,
                                const float* table) {
  const __m512 lo = _mm512_set1_ps(-10.f), hi = _mm512_set1_ps(10.f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i), u = _mm512_loadu_ps(up + i);
    const __m512i idx =
        _mm512_cvtepu16_epi32(_mm512_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m512 y = _mm512_i32gather_ps(idx, table, 4);
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(g, hi, _CMP_GE_OQ), g);
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(g, lo, _CMP_LE_OQ), _mm512_setzero_ps());
    _mm512_storeu_ps(out + i, _mm512_mul_ps(y, u));
  }
  for (; i < n; ++i) out[i] = geglu1(gate[i], up[i], table);
}

LLMKIT_AVX2_FN void swiglu_256(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = simd::exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
    _mm256_storeu_ps(
        out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

LLMKIT_AVX2_FN void geglu_256(const float* gate, const float* up, float* out, int64_t n,
                              const float* table) {
  const __m256 lo = _mm256_set1_ps(-10.f), hi = _mm256_set1_ps(10.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i), u = _mm256_loadu_ps(up + i);
    const __m256i idx =
        _mm256_cvtepu16_epi32(_mm256_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256 y = _mm256_i32gather_ps(table, idx, 4);
    y = _mm256_blendv_ps(y, g, _mm256_cmp_ps(g, hi, _CMP_GE_OQ));
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(g, lo, _CMP_LE_OQ));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(y, u));
  }
  for (; i < n; ++i) out[i] = geglu1(gate[i], up[i], table);
}
#endif

}  // namespace

void swiglu_fast(const float* gate, const float* up, float* out, int64_t n) noexcept {
#if defined(__x86_64__)
  const simd::Isa isa = simd::isa();
  if (isa == simd::Isa::kAvx512) {
    swiglu_512(gate, up, out, n);
    return;
  }
  if (isa == simd::Isa::kAvx2) {
    swiglu_256(gate, up, out, n);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void geglu_ggml_fast(const float* gate, const float* up, float* out, int64_t n) noexcept {
  const float* table = gelu_f16_table();
#if defined(__x86_64__)
  const simd::Isa isa = simd::isa();
  if (isa == simd::Isa::kAvx512) {
    geglu_512(gate, up, out, n, table);
    return;
  }
  if (isa == simd::Isa::kAvx2) {
    geglu_256(gate, up, out, n, table);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = geglu1(gate[i], up[i], table);
}

}  // namespace llmkit::ops
