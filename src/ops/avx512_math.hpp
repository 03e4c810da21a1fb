// Internal: AVX-512 math helpers shared by the SIMD kernels (x86-64 only; callers check
// simd::has_avx512_vnni() before calling).
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#define LLMKIT_AVX512_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))

namespace llmkit::ops::simd {

// exp(x), |rel err| < 2 ulp on [-87, 88]; inf above, 0 far below. x = n·ln2 + r with
// |r| <= ln2/2 (Cody-Waite split of ln2), a degree-7 Taylor polynomial for e^r (truncation error
// < 1e-8 relative), then scalef by 2^n, which underflows gracefully.
LLMKIT_AVX512_FN inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.f / 5040.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 720.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

}  // namespace llmkit::ops::simd

#endif
