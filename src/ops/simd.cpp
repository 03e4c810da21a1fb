#include "ops/simd.hpp"

// GCC 12 false positives inside avx512fintrin.h (_mm512_undefined_* in masked ops / reductions).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "ops/avx2_math.hpp"
#include "ops/basic.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define LLMKIT_X86 1
#endif

namespace llmkit::ops::simd {

#if LLMKIT_X86
bool has_avx512_vnni() noexcept {
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return v;
}
bool has_avx512_bf16() noexcept {
  static const bool v = has_avx512_vnni() && __builtin_cpu_supports("avx512bf16");
  return v;
}
bool has_avx2() noexcept {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                        __builtin_cpu_supports("f16c");
  return v;
}
bool is_amd() noexcept {
  static const bool v = __builtin_cpu_is("amd");
  return v;
}
#else
bool is_amd() noexcept { return false; }
bool has_avx512_vnni() noexcept { return false; }
bool has_avx512_bf16() noexcept { return false; }
bool has_avx2() noexcept { return false; }
#endif

namespace {
std::atomic<int> g_isa_cap{int(Isa::kAvx512)};
}  // namespace

Isa isa() noexcept {
  static const Isa cpu = has_avx512_vnni() ? Isa::kAvx512
                         : has_avx2()      ? Isa::kAvx2
                                           : Isa::kPortable;
  return Isa(std::min(int(cpu), g_isa_cap.load(std::memory_order_relaxed)));
}
void set_max_isa(Isa cap) noexcept { g_isa_cap = int(cap); }

namespace {

float dot_f32_ref(const float* a, const float* b, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
float dot_f32_f16_ref(const float* a, const uint16_t* b, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * f16_to_f32(b[i]);
  return s;
}

#if LLMKIT_X86
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))

AVX512 float dot_f32_512(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

AVX512 float dot_f32_f16_512(const float* a, const uint16_t* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    __m512 b1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 16)));
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), b0, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), b1, acc1);
  }
  for (; i + 16 <= n; i += 16) {
    __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), b0, acc0);
  }
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    __m512 b0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, b + i));
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), b0, acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

AVX512 void axpy_f32_512(float a, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

AVX512 void axpy_f16_512(float a, const uint16_t* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 xv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, xv, _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    __m512 xv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, xv, _mm512_maskz_loadu_ps(m, y + i)));
  }
}
#define AVX2 __attribute__((target("avx2,fma,f16c")))

// AVX2 twins (CPUs without AVX-512): two accumulators of 8, a scalar tail.
AVX2 float dot_f32_256(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

AVX2 inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

AVX2 float dot_f32_f16_256(const float* a, const uint16_t* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16x8(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load_f16x8(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16x8(b + i), acc0);
  float s = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * _cvtsh_ss(b[i]);
  return s;
}

AVX2 void axpy_f32_256(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(a, x[i], y[i]);
}

AVX2 void axpy_f16_256(float a, const uint16_t* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16x8(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(a, _cvtsh_ss(x[i]), y[i]);
}
#endif

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) noexcept {
#if LLMKIT_X86
  const Isa level = isa();
  if (level == Isa::kAvx512) return dot_f32_512(a, b, n);
  if (level == Isa::kAvx2) return dot_f32_256(a, b, n);
#endif
  return dot_f32_ref(a, b, n);
}

float dot_f32_f16(const float* a, const uint16_t* b, int64_t n) noexcept {
#if LLMKIT_X86
  const Isa level = isa();
  if (level == Isa::kAvx512) return dot_f32_f16_512(a, b, n);
  if (level == Isa::kAvx2) return dot_f32_f16_256(a, b, n);
#endif
  return dot_f32_f16_ref(a, b, n);
}

void axpy_f32(float a, const float* x, float* y, int64_t n) noexcept {
#if LLMKIT_X86
  const Isa level = isa();
  if (level == Isa::kAvx512) return axpy_f32_512(a, x, y, n);
  if (level == Isa::kAvx2) return axpy_f32_256(a, x, y, n);
#endif
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) noexcept {
#if LLMKIT_X86
  const Isa level = isa();
  if (level == Isa::kAvx512) return axpy_f16_512(a, x, y, n);
  if (level == Isa::kAvx2) return axpy_f16_256(a, x, y, n);
#endif
  for (int64_t i = 0; i < n; ++i) y[i] += a * f16_to_f32(x[i]);
}

}  // namespace llmkit::ops::simd
