// Fast linear kernels for float weights (F32, F16, BF16): 16-row interleaved tiles, f32
// accumulation, activations rounded to the weight's type first (llama.cpp's vec_dot_type for
// F16 and BF16 is the weight type itself, so this keeps numerics close to llama.cpp).
//
// Packed layout: N padded to 16; tile t holds, for each k (F32, F16) or k-pair (BF16), the 16 rows'
// values contiguously:  F32: 16 floats per k;  F16: 16 halves per k;
// BF16: 16 lanes × {w[r][2p], w[r][2p+1]} per pair p (the operand layout of vdpbf16ps).
// The portable kernels perform the same per-lane float operations in the same order as the
// AVX-512 ones (BF16: products are exact; two rounded adds, odd element first, like vdpbf16ps).
// CPUs without AVX-512 run AVX2 bodies that treat each 16-row tile as two 8-lane halves and do the
// same per-lane operations in the same order (BF16: two FMAs of bf16 values widened to f32, odd
// element first; an FMA of an exact product is the rounded add vdpbf16ps does), so all three
// agree bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/basic.hpp"
#include "ops/linear_impl.hpp"
#include "ops/simd.hpp"
#include "ops/weight_buffer.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define LLMKIT_X86 1
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace llmkit::ops {

namespace {

using io::TensorType;
constexpr int kTile = 16;

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

#if LLMKIT_X86
// Activation conversions, bit-identical to f32_to_f16 / f32_to_bf16 (F16C rounds to nearest even;
// the bf16 rounding is done in integers, as ggml does, so denormals are not flushed).
__attribute__((target("avx512f,avx512bw,f16c"))) void round_f16_512(const float* x, float* out,
                                                                    int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i),
                                                              _MM_FROUND_TO_NEAREST_INT)));
  for (; i < n; ++i) out[i] = f16_to_f32(f32_to_f16(x[i]));
}
__attribute__((target("avx512f,avx512bw"))) void to_bf16_512(const float* x, uint16_t* out,
                                                             int64_t n) {
  int64_t i = 0;
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF);
  const __m512i absmask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_loadu_si512(x + i);
    __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(u,
                         _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one))),
        16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, absmask), inf);
    r = _mm512_mask_mov_epi32(r, nan,
                              _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(64)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi32_epi16(r));
  }
  for (; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}
#endif

struct FloatLinear final : PackedLinear::Impl {
  int64_t n_tiles = 0;
  WeightBuffer packed;  // 64-byte aligned, huge pages when large
  int64_t tile_bytes = 0;
  const char* kname = "";
  const uint8_t* base() const { return packed.data(); }
  void forward(const float* x, int64_t M, float* y, ThreadPool& pool) const override;
  const char* name() const noexcept override { return kname; }
  const WeightBuffer* storage() const noexcept override { return &packed; }
};

// Activations converted to the kernel's input form: F32 as is, F16 rounded (kept as f32 values),
// BF16 as packed bf16 pairs.
struct FloatActs {
  std::vector<float> f;     // [M, K] (F32 / F16 path)
  std::vector<uint16_t> b;  // [M, K] (BF16 path)
};

void tile_portable(const FloatLinear& L, const FloatActs& a, const float* x, int64_t t, int64_t m,
                   float* y) {
  const int64_t K = L.K, N = L.N;
  const uint8_t* w = L.base() + t * L.tile_bytes;
  float acc[kTile] = {};
  if (L.type == TensorType::F32 || L.type == TensorType::F16) {
    const float* xm = L.type == TensorType::F32 ? x + m * K : a.f.data() + m * K;
    for (int64_t k = 0; k < K; ++k)
      for (int r = 0; r < kTile; ++r) {
        float wv;
        if (L.type == TensorType::F32) {
          std::memcpy(&wv, w + (k * kTile + r) * 4, 4);
        } else {
          uint16_t h;
          std::memcpy(&h, w + (k * kTile + r) * 2, 2);
          wv = f16_to_f32(h);
        }
        acc[r] = std::fma(wv, xm[k], acc[r]);
      }
  } else {  // BF16
    const uint16_t* xm = a.b.data() + m * K;
    for (int64_t p = 0; p < K / 2; ++p)
      for (int r = 0; r < kTile; ++r) {
        uint16_t w0, w1;
        std::memcpy(&w0, w + ((p * kTile + r) * 2 + 0) * 2, 2);
        std::memcpy(&w1, w + ((p * kTile + r) * 2 + 1) * 2, 2);
        acc[r] += bf16_to_f32(w1) * bf16_to_f32(xm[2 * p + 1]);
        acc[r] += bf16_to_f32(w0) * bf16_to_f32(xm[2 * p]);
      }
  }
  for (int r = 0; r < kTile && t * kTile + r < N; ++r) y[m * N + t * kTile + r] = acc[r];
}

#if LLMKIT_X86
#define AVX512F16 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,fma,avx512bf16")))

// NT tiles × MB activation rows per call: NT·MB independent accumulator chains hide FMA latency.
template <int MB, int NT, bool F16>
AVX512F16 void tile_f32_512(const FloatLinear& L, const float* xs, int64_t t, int64_t m0,
                            float* y) {
  const int64_t K = L.K, N = L.N;
  const uint8_t* w = L.base() + t * L.tile_bytes;
  __m512 acc[NT][MB];
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) acc[j][i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m512 wv[NT];
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) {
      const uint8_t* wj = w + j * L.tile_bytes;
      if constexpr (F16)
        wv[j] = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(wj + k * 32)));
      else
        wv[j] = _mm512_load_ps(reinterpret_cast<const float*>(wj + k * 64));
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) {
      const __m512 xv = _mm512_set1_ps(xs[(m0 + i) * K + k]);
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j) acc[j][i] = _mm512_fmadd_ps(wv[j], xv, acc[j][i]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j) {
    const int64_t n0 = (t + j) * kTile;
    const __mmask16 mask = n0 + kTile <= N ? __mmask16(0xFFFF) : __mmask16((1u << (N - n0)) - 1);
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) _mm512_mask_storeu_ps(y + (m0 + i) * N + n0, mask, acc[j][i]);
  }
}

template <int MB, int NT>
AVX512BF16 void tile_bf16_512(const FloatLinear& L, const uint16_t* xs, int64_t t, int64_t m0,
                              float* y) {
  const int64_t K = L.K, N = L.N;
  const uint8_t* w = L.base() + t * L.tile_bytes;
  __m512 acc[NT][MB];
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) acc[j][i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < K / 2; ++p) {
    __m512bh wv[NT];
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) wv[j] = (__m512bh)_mm512_load_si512(w + j * L.tile_bytes + p * 64);
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) {
      int32_t pair;
      std::memcpy(&pair, xs + (m0 + i) * K + 2 * p, 4);
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j) acc[j][i] = _mm512_dpbf16_ps(acc[j][i], wv[j], xv);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j) {
    const int64_t n0 = (t + j) * kTile;
    const __mmask16 mask = n0 + kTile <= N ? __mmask16(0xFFFF) : __mmask16((1u << (N - n0)) - 1);
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) _mm512_mask_storeu_ps(y + (m0 + i) * N + n0, mask, acc[j][i]);
  }
}

template <int MB, int NT>
void run_tile_512(const FloatLinear& L, const FloatActs& a, const float* x, int64_t t, int64_t m0,
                  float* y) {
  if (L.type == TensorType::F32) return tile_f32_512<MB, NT, false>(L, x, t, m0, y);
  if (L.type == TensorType::F16) return tile_f32_512<MB, NT, true>(L, a.f.data(), t, m0, y);
  return tile_bf16_512<MB, NT>(L, a.b.data(), t, m0, y);
}

template <int NT>
void run_tiles_512(const FloatLinear& L, const FloatActs& a, const float* x, int64_t t, int64_t m0,
                   int mb, float* y) {
  switch (mb) {
    case 1:
      return run_tile_512<1, NT>(L, a, x, t, m0, y);
    case 2:
      return run_tile_512<2, NT>(L, a, x, t, m0, y);
    case 3:
      return run_tile_512<3, NT>(L, a, x, t, m0, y);
    case 4:
      return run_tile_512<4, NT>(L, a, x, t, m0, y);
    case 5:
      return run_tile_512<5, NT>(L, a, x, t, m0, y);
    case 6:
      return run_tile_512<6, NT>(L, a, x, t, m0, y);
    case 7:
      return run_tile_512<7, NT>(L, a, x, t, m0, y);
    default:
      return run_tile_512<8, NT>(L, a, x, t, m0, y);
  }
}
#endif

#if LLMKIT_X86
#define AVX2F __attribute__((target("avx2,fma,f16c")))

AVX2F void round_f16_256(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
                                                              _MM_FROUND_TO_NEAREST_INT)));
  for (; i < n; ++i) out[i] = f16_to_f32(f32_to_f16(x[i]));
}

// to_bf16_512 eight lanes at a time (round to nearest even in integers; NaNs stay quiet NaNs).
AVX2F void to_bf16_256(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF);
  const __m256i absmask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    __m256i r = _mm256_srli_epi32(
        _mm256_add_epi32(u,
                         _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(u, 16), one))),
        16);
    // |u| > inf as signed 32-bit integers: both sides are non-negative.
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
    r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64)),
                           nan);
    // Lanes hold values < 2^16: pack to 16 bits without saturation, then fix the lane order.
    const __m256i packed = _mm256_packus_epi32(r, r);
    const __m256i ordered = _mm256_permute4x64_epi64(packed, 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_castsi256_si128(ordered));
  }
  for (; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}

// Output columns [n0, min(n0 + 16, N)) of one activation row Y from a tile's two halves.
AVX2F inline void store_tile_256(const __m256 (&acc)[2], float* y, int64_t n0, int64_t N) {
  if (n0 + kTile <= N) {
    _mm256_storeu_ps(y + n0, acc[0]);
    _mm256_storeu_ps(y + n0 + 8, acc[1]);
    return;
  }
  alignas(32) float tmp[kTile];
  _mm256_store_ps(tmp, acc[0]);
  _mm256_store_ps(tmp + 8, acc[1]);
  for (int64_t r = 0; r < N - n0; ++r) y[n0 + r] = tmp[r];
}

// NT tiles × MB activation rows, each 16-row tile as two 8-lane halves: 2·NT·MB accumulators
// (at most 8 of the 16 ymm registers). Decode (MB = 1) takes NT = 2 for four FMA chains.
template <int MB, int NT, bool F16>
AVX2F void tile_f32_256(const FloatLinear& L, const float* xs, int64_t t, int64_t m0, float* y) {
  const int64_t K = L.K, N = L.N;
  const uint8_t* w = L.base() + t * L.tile_bytes;
  __m256 acc[NT][MB][2];
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) acc[j][i][0] = acc[j][i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m256 wv[NT][2];
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) {
      const uint8_t* wj = w + j * L.tile_bytes;
      if constexpr (F16) {
        const __m256i h = _mm256_load_si256(reinterpret_cast<const __m256i*>(wj + k * 32));
        wv[j][0] = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
        wv[j][1] = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
      } else {
        wv[j][0] = _mm256_load_ps(reinterpret_cast<const float*>(wj + k * 64));
        wv[j][1] = _mm256_load_ps(reinterpret_cast<const float*>(wj + k * 64 + 32));
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) {
      const __m256 xv = _mm256_broadcast_ss(xs + (m0 + i) * K + k);
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j) {
        acc[j][i][0] = _mm256_fmadd_ps(wv[j][0], xv, acc[j][i][0]);
        acc[j][i][1] = _mm256_fmadd_ps(wv[j][1], xv, acc[j][i][1]);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) store_tile_256(acc[j][i], y + (m0 + i) * N, (t + j) * kTile, N);
}

// BF16: lane r of a pair p holds {w[r][2p] (low half), w[r][2p+1] (high half)}; a bf16 is the
// top half of its f32, so the odd element is the lane masked and the even one the lane shifted.
template <int MB, int NT>
AVX2F void tile_bf16_256(const FloatLinear& L, const uint16_t* xs, int64_t t, int64_t m0,
                         float* y) {
  const int64_t K = L.K, N = L.N;
  const uint8_t* w = L.base() + t * L.tile_bytes;
  const __m256i hi_mask = _mm256_set1_epi32(int32_t(0xFFFF0000u));
  __m256 acc[NT][MB][2];
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) acc[j][i][0] = acc[j][i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < K / 2; ++p) {
    __m256 wo[NT][2], we[NT][2];
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j)
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i v = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(w + j * L.tile_bytes + p * 64 + h * 32));
        wo[j][h] = _mm256_castsi256_ps(_mm256_and_si256(v, hi_mask));
        we[j][h] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
      }
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) {
      int32_t pair;
      std::memcpy(&pair, xs + (m0 + i) * K + 2 * p, 4);
      const __m256i xp = _mm256_set1_epi32(pair);
      const __m256 xo = _mm256_castsi256_ps(_mm256_and_si256(xp, hi_mask));
      const __m256 xe = _mm256_castsi256_ps(_mm256_slli_epi32(xp, 16));
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j)
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          acc[j][i][h] = _mm256_fmadd_ps(wo[j][h], xo, acc[j][i][h]);
          acc[j][i][h] = _mm256_fmadd_ps(we[j][h], xe, acc[j][i][h]);
        }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j)
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) store_tile_256(acc[j][i], y + (m0 + i) * N, (t + j) * kTile, N);
}

template <int MB, int NT>
void run_tile_256(const FloatLinear& L, const FloatActs& a, const float* x, int64_t t, int64_t m0,
                  float* y) {
  if (L.type == TensorType::F32) return tile_f32_256<MB, NT, false>(L, x, t, m0, y);
  if (L.type == TensorType::F16) return tile_f32_256<MB, NT, true>(L, a.f.data(), t, m0, y);
  return tile_bf16_256<MB, NT>(L, a.b.data(), t, m0, y);
}

// Tiles [tb, te) for activation rows [m0, m0 + mb), mb <= 8: decode two tiles per call, more rows
// four at a time.
void run_rows_256(const FloatLinear& L, const FloatActs& a, const float* x, int64_t tb, int64_t te,
                  int64_t m0, int mb, float* y) {
  if (mb == 1) {
    int64_t t = tb;
    for (; t + 2 <= te; t += 2) run_tile_256<1, 2>(L, a, x, t, m0, y);
    for (; t < te; ++t) run_tile_256<1, 1>(L, a, x, t, m0, y);
    return;
  }
  for (int64_t t = tb; t < te; ++t)
    for (int i = 0; i < mb; i += 4) {
      switch (std::min(4, mb - i)) {
        case 1:
          run_tile_256<1, 1>(L, a, x, t, m0 + i, y);
          break;
        case 2:
          run_tile_256<2, 1>(L, a, x, t, m0 + i, y);
          break;
        case 3:
          run_tile_256<3, 1>(L, a, x, t, m0 + i, y);
          break;
        default:
          run_tile_256<4, 1>(L, a, x, t, m0 + i, y);
      }
    }
}
#endif

void FloatLinear::forward(const float* x, int64_t M, float* y, ThreadPool& pool) const {
  thread_local FloatActs tl_acts;
  FloatActs& acts = tl_acts;  // see linear_fast.cpp: never name a thread_local inside the lambda
  const simd::Isa isa = simd::isa();
  const bool avx512 = isa == simd::Isa::kAvx512;
  const bool avx2 = isa == simd::Isa::kAvx2;
  if (type == TensorType::F16) {
    acts.f.resize(size_t(M * K));
#if LLMKIT_X86
    if (avx512) {
      round_f16_512(x, acts.f.data(), M * K);
    } else if (avx2) {
      round_f16_256(x, acts.f.data(), M * K);
    } else
#endif
      for (int64_t i = 0; i < M * K; ++i) acts.f[size_t(i)] = f16_to_f32(f32_to_f16(x[i]));
  } else if (type == TensorType::BF16) {
    acts.b.resize(size_t(M * K));
#if LLMKIT_X86
    if (avx512) {
      to_bf16_512(x, acts.b.data(), M * K);
    } else if (avx2) {
      to_bf16_256(x, acts.b.data(), M * K);
    } else
#endif
      for (int64_t i = 0; i < M * K; ++i) acts.b[size_t(i)] = f32_to_bf16(x[i]);
  }
  bool simd = avx512;
  if (type == TensorType::BF16) simd = simd && simd::has_avx512_bf16();
  // AVX-512 CPUs without BF16 take the AVX2 body for BF16 weights.
  const bool simd256 = !simd && (avx2 || avx512);
  const int64_t work = M * N * K;
  // Cache blocking (see linear_fast.cpp): ~256 KB of weight tiles stay in L2 across all M rows.
  const int64_t tb_tiles = std::max<int64_t>(2, (int64_t(256) << 10) / tile_bytes);
  pool.parallel_for(
      n_tiles,
      [&](int64_t t0, int64_t t1) {
        // 8 rows × 2 tiles = 16 accumulators: each weight load feeds 8 FMAs.
        constexpr int kMB = 8;
        for (int64_t tb = t0; tb < t1; tb += tb_tiles) {
          const int64_t te = std::min(t1, tb + tb_tiles);
          for (int64_t m0 = 0; m0 < M; m0 += kMB) {
            const int mb = int(std::min<int64_t>(kMB, M - m0));
#if LLMKIT_X86
            if (simd) {
              int64_t t = tb;
              for (; t + 2 <= te; t += 2) run_tiles_512<2>(*this, acts, x, t, m0, mb, y);
              for (; t < te; ++t) run_tiles_512<1>(*this, acts, x, t, m0, mb, y);
              continue;
            }
            if (simd256) {
              run_rows_256(*this, acts, x, tb, te, m0, mb, y);
              continue;
            }
#endif
            for (int64_t t = tb; t < te; ++t)
              for (int i = 0; i < mb; ++i) tile_portable(*this, acts, x, t, m0 + i, y);
          }
        }
      },
      work < (int64_t(1) << 17) ? 1 : 0, /*grain=*/2);
}

}  // namespace

namespace {

// The packed layout of an N x K float matrix (everything but the bytes); nullptr for other types.
std::unique_ptr<FloatLinear> float_layout(TensorType type, int64_t K, int64_t N) {
  if (type != TensorType::F32 && type != TensorType::F16 && type != TensorType::BF16)
    return nullptr;
  if (type == TensorType::BF16 && K % 2 != 0) return nullptr;
  auto L = std::make_unique<FloatLinear>();
  L->type = type;
  L->K = K;
  L->N = N;
  L->n_tiles = (N + kTile - 1) / kTile;
  const int es = type == TensorType::F32 ? 4 : 2;
  L->tile_bytes = K * kTile * es;
  L->wbytes = uint64_t(L->n_tiles * L->tile_bytes);
  const bool simd =
      simd::has_avx512_vnni() && (type != TensorType::BF16 || simd::has_avx512_bf16());
  // The kernel family the CPU runs: portable, AVX2, AVX-512 (BF16 weights: AVX512-BF16).
  const int isa = simd ? 2 : simd::has_avx2() ? 1 : 0;
  static const char* const kNames[3][3] = {
      {"portable-f32x16", "portable-f16x16", "portable-bf16x16"},
      {"avx2-f32x16", "avx2-f16x16", "avx2-bf16x16"},
      {"avx512-f32x16", "avx512-f16x16", "avx512bf16-bf16x16"}};
  L->kname = kNames[isa][type == TensorType::F32 ? 0 : type == TensorType::F16 ? 1 : 2];
  return L;
}

}  // namespace

std::unique_ptr<PackedLinear::Impl> make_float_linear(TensorType type, const uint8_t* data,
                                                      int64_t K, int64_t N) {
  auto L = float_layout(type, K, N);
  if (!L) return nullptr;
  const int es = type == TensorType::F32 ? 4 : 2;
  L->packed = WeightBuffer(size_t(L->wbytes));
  uint8_t* base = L->packed.data();
  for (int64_t n = 0; n < N; ++n) {
    const int64_t t = n / kTile, r = n % kTile;
    const uint8_t* row = data + uint64_t(n) * uint64_t(K) * es;
    uint8_t* tile = base + t * L->tile_bytes;
    for (int64_t k = 0; k < K; ++k) {
      if (type == TensorType::BF16)
        std::memcpy(tile + (((k / 2) * kTile + r) * 2 + (k % 2)) * 2, row + k * 2, 2);
      else
        std::memcpy(tile + (k * kTile + r) * es, row + k * es, size_t(es));
    }
  }
  return L;
}

std::unique_ptr<PackedLinear::Impl> float_linear_view(TensorType type, int64_t K, int64_t N,
                                                      WeightBuffer& bytes) {
  auto L = float_layout(type, K, N);
  if (!L || L->wbytes != bytes.size() || reinterpret_cast<uintptr_t>(bytes.data()) % 64 != 0)
    return nullptr;
  L->packed = std::move(bytes);
  return L;
}

}  // namespace llmkit::ops
