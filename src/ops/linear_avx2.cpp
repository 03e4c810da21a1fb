// AVX2 kernels for the packed group-quantized linear layer, for x86-64 CPUs without AVX-512 VNNI
// (e.g. AMD Zen 2/3, Intel before Ice Lake). They read the same packed tiles as the AVX-512 and
// portable kernels (layout: top of linear_fast.cpp) and give bit-identical results.
//
// A tile is 16 output rows; a 64-byte chunk of it holds, per 32-bit lane r (row r), four codes of
// consecutive k. AVX2 has no vpdpbusd, so a chunk is two ymm halves (rows 0-7, rows 8-15) and
// each 4-k dot product is vpmaddubsw (u8 x s8 -> pairs summed into int16) followed by vpmaddwd
// against ones (pairs of int16 -> int32):
//  - unsigned codes (nibble types, codes <= 63): u8 code x s8 activation. A pair sum is at most
//    2·63·128 = 16128, so up to kSum16 products are added in int16 before one vpmaddwd widens
//    them (no saturation possible: see sum16_limit).
//  - codes that need 8 bits (Q8_0: int8 + 128; the LUT types IQ4_NL and MXFP4): the kernel
//    uses the signed value w = code - zp and llama.cpp's sign trick, |w| x sign(a, w), whose pair
//    sums are at most 2·128·127 = 32512. The group's integer sum is then Σ w·a = Σ code·a - zp·Σa,
//    exactly the I - corr of the other kernels, so the zero-point correction is skipped.
// Each group's exact int32 sums then go through the same float operations, in the same order, as
// the portable kernel: acc = fma(float(I - corr), s·da, acc) (+ fma(o, sa, acc) if affine).
//
// Decode (few rows) unpacks codes from the packed tile as it streams it (tile_avx2). Prefill
// (panel_avx2) unpacks each tile once into ready vectors (16 rows x K bytes, L1/L2-resident) and
// runs all activation rows over it, 4 rows per pass, each activation broadcast feeding both
// halves of the tile.
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/basic.hpp"
#include "ops/linear_quant.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace llmkit::ops::quant {

#if defined(__x86_64__)

#define LLMKIT_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace {

// ---- activation quantization ---------------------------------------------------------------

LLMKIT_AVX2 inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

LLMKIT_AVX2 inline int32_t hsum8_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// The same round-to-nearest-even as f32_to_f16 (both IEEE, subnormals included).
LLMKIT_AVX2 inline float fp16_round_f16c(float x) {
  return _mm_cvtss_f32(
      _mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
}

// 32 int32 values (each within int8 range) -> 32 int8 at Q, in order.
LLMKIT_AVX2 inline void store_32xi8(int8_t* q, __m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i v = _mm256_packs_epi16(ab, cd);  // lanes interleaved: 4-byte groups 0 2 4 6 1 3 5 7
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

// Twin of quantize_q8_0_row (linear_fast.cpp): id = 127/amax, x·id rounded half to even by
// vcvtps2dq (default MXCSR, as nearbyint), d rounded to f16.
LLMKIT_AVX2 void quantize_q8_0_row_avx2(const float* x, int64_t K, int zp, bool q8_1, int8_t* q,
                                        float* da, int32_t* corr, float* sa) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* xb = x + b * 32;
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(xb + 8 * j);
      m = _mm256_max_ps(m, _mm256_and_ps(v[j], absmask));
    }
    const float amax = hmax8(m);
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i qi[4];
    for (int j = 0; j < 4; ++j) qi[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], idv));
    store_32xi8(q + b * 32, qi[0], qi[1], qi[2], qi[3]);
    const int32_t isum = hsum8_epi32(
        _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3])));
    da[b] = fp16_round_f16c(d);
    corr[b] = zp * isum;
    sa[b] = q8_1 ? fp16_round_f16c(d * float(isum)) : da[b] * float(isum);
  }
}

// Twin of quantize_q8_k_row: per 256, iscale = -127/(signed value of the first largest |x|),
// codes capped at 127, d = 1/iscale.
LLMKIT_AVX2 void quantize_q8_k_row_avx2(const float* x, int64_t K, int G, int zp, int8_t* q,
                                        float* da, int32_t* corr, float* sa) {
  const int gpb = 256 / G;
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < K / 256; ++b) {
    const float* xb = x + b * 256;
    int8_t* qb = q + b * 256;
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 256; j += 8)
      m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xb + j), absmask));
    const float amax = hmax8(m);
    float d = 0.f;
    if (amax == 0.f) {
      std::memset(qb, 0, 256);
    } else {
      const float iscale = -127.f / first_with_abs(xb, 256, amax);
      const __m256 isv = _mm256_set1_ps(iscale);
      const __m256i cap = _mm256_set1_epi32(127);
      for (int j = 0; j < 256; j += 32) {
        __m256i qi[4];
        for (int u = 0; u < 4; ++u)
          qi[u] = _mm256_min_epi32(
              _mm256_cvtps_epi32(_mm256_mul_ps(isv, _mm256_loadu_ps(xb + j + 8 * u))), cap);
        store_32xi8(qb + j, qi[0], qi[1], qi[2], qi[3]);
      }
      d = 1.f / iscale;
    }
    for (int g = 0; g < gpb; ++g) {
      __m256i s =
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qb + g * G)));
      for (int j = 8; j < G; j += 8)
        s = _mm256_add_epi32(s, _mm256_cvtepi8_epi32(_mm_loadl_epi64(
                                    reinterpret_cast<const __m128i*>(qb + g * G + j))));
      const int32_t isum = hsum8_epi32(s);
      da[b * gpb + g] = d;
      corr[b * gpb + g] = zp * isum;
      sa[b * gpb + g] = d * float(isum);
    }
  }
}

// ---- tile kernel ---------------------------------------------------------------------------

// Codes wider than 7 bits go through the sign trick (see the top of the file).
constexpr bool signed_codes(bool nib, bool lut) { return !nib || lut; }

// How many vpmaddubsw results may be added in int16 before vpmaddwd widens them: each pair sum
// is at most 2·maxcode·128 (|a| <= 128), and the total must stay <= 32767.
constexpr int sum16_limit(bool nib, int planes, bool lut) {
  if (signed_codes(nib, lut)) return 1;
  const int maxcode = planes == 0 ? 15 : planes == 1 ? 31 : 63;
  return 32767 / (2 * maxcode * 128);
}
static_assert(sum16_limit(true, 0, false) == 8 && sum16_limit(true, 1, false) == 4 &&
              sum16_limit(true, 2, false) == 2);

// Bytes of a 32-bit mask M, one bit each, as 0x00 / 0xFF bytes (byte i <- bit i).
LLMKIT_AVX2 inline __m256i expand_mask32(uint32_t m) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(m)), spread);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

// The codes of vector J (k = 4J..4J+3 of every row) of half H (rows 8H..8H+7) of the group whose
// codes start at W: unsigned codes, or for signed_codes() types the signed values code - zp.
template <bool NIB, int PL, int G, bool LUT>
LLMKIT_AVX2 __attribute__((always_inline)) inline __m256i group_codes(const uint8_t* w, int j,
                                                                      int h, __m256i slut) {
  if constexpr (!NIB) {  // Q8_0: code = int8 + 128
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 64 * j + 32 * h));
    return _mm256_xor_si256(v, _mm256_set1_epi8(char(0x80)));
  } else {
    const int c = j / 2, hh = j % 2;  // 64-byte chunk; low (k = 8c..8c+3) or high nibbles
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 64 * c + 32 * h));
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i code =
        hh == 0 ? _mm256_and_si256(v, low4) : _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    if constexpr (LUT) code = _mm256_shuffle_epi8(slut, code);
    if constexpr (PL >= 1) {
      // Plane masks: 64 bits per (chunk, nibble half, plane); bit 4r + b = byte 4r + b of the
      // chunk, so rows 8H..8H+7 are bits 32H..32H+31.
      const uint8_t* planes = w + G / 2 * kTile;
      for (int p = 0; p < PL; ++p) {
        uint32_t m;
        std::memcpy(&m, planes + 8 * ((2 * c + hh) * PL + p) + 4 * h, 4);
        code = _mm256_add_epi8(code,
                               _mm256_and_si256(expand_mask32(m), _mm256_set1_epi8(char(16 << p))));
      }
    }
    return code;
  }
}

// The 8 scales (and offsets) of rows 8H..8H+7 of group G.
LLMKIT_AVX2 __attribute__((always_inline)) inline void load_scales_avx2(const ScaleLayout& L,
                                                                        const uint8_t* tile,
                                                                        int64_t g, int h, __m256& s,
                                                                        __m256& o) {
  const uint8_t* p = L.group_ptr(tile, g);
  if (L.mode == ScaleMode::kF16) {
    s = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p + 16 * h)));
    if (L.affine)
      o = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p + 32 + 16 * h)));
  } else if (L.mode == ScaleMode::kKQuant) {
    const float* d = reinterpret_cast<const float*>(L.super_ptr(tile, g));
    const __m128i sc = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * h));
    s = _mm256_mul_ps(_mm256_load_ps(d + 8 * h), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)));
    if (L.affine) {
      const __m128i m = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 16 + 8 * h));
      o = _mm256_mul_ps(_mm256_load_ps(d + 16 + 8 * h),
                        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m)));
    }
  } else {
    s = _mm256_load_ps(reinterpret_cast<const float*>(p) + 8 * h);
    if (L.affine) o = _mm256_load_ps(reinterpret_cast<const float*>(p) + 16 + 8 * h);
  }
}

// Bytes of one group of a tile unpacked by expand_tile: per code vector j (4 k) and half h a
// ready 32-byte vector (signed_codes() types: the signed values w).
constexpr int64_t kExpandedGroupBytes(int G) { return int64_t(G / 4) * 2 * 32; }

// The vpshufb table of a LUT type: lut[i] - zp as int8, in both 128-bit lanes.
LLMKIT_AVX2 inline __m256i signed_lut(const QuantSpec& sp) {
  alignas(16) int8_t tab[16];
  for (int i = 0; i < 16; ++i) tab[i] = int8_t(int(sp.lut[i]) - sp.zp);
  return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(tab)));
}

// Unpacks tile T's codes into EX (kExpandedGroupBytes per group, groups in order).
template <bool NIB, int PL, int G, bool LUT>
LLMKIT_AVX2 void expand_tile(const QuantLinear& L, int64_t t, uint8_t* ex) {
  __m256i slut = _mm256_setzero_si256();
  if constexpr (LUT) slut = signed_lut(L.spec);
  ScaleLayout::CodesCursor cur = L.sl.codes_cursor(L.tile(t));
  for (int64_t g = 0; g < L.n_groups; ++g, cur.next()) {
#pragma GCC unroll 8
    for (int j = 0; j < G / 4; ++j)
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i c = group_codes<NIB, PL, G, LUT>(cur.p, j, h, slut);
        _mm256_store_si256(reinterpret_cast<__m256i*>(ex + (2 * j + h) * 32), c);
      }
    ex += kExpandedGroupBytes(G);
  }
}

// Keeps an accumulation chain in program order: GCC otherwise rebalances a long chain of integer
// vector adds into a tree (tree-reassoc), computing every product first and spilling them.
LLMKIT_AVX2 __attribute__((always_inline)) inline void pin(__m256i& v) { asm("" : "+x"(v)); }

// The float epilogue of half H of group G for MB rows, from their exact int32 sums I: the same
// operations, in the same order, as the portable kernel.
template <int MB, bool AFF, bool SIGNED>
LLMKIT_AVX2 __attribute__((always_inline)) inline void finish_half(
    const ScaleLayout& sl, const uint8_t* tile, int64_t g, int h, const __m256i* I,
    const float* const* da, const int32_t* const* corr, const float* const* sa, __m256 (*accf)[2]) {
  __m256 sc, of = _mm256_setzero_ps();
  load_scales_avx2(sl, tile, g, h, sc, of);
#pragma GCC unroll 4
  for (int i = 0; i < MB; ++i) {
    __m256i J = I[i];
    if constexpr (!AFF && !SIGNED) J = _mm256_sub_epi32(J, _mm256_set1_epi32(corr[i][g]));
    accf[i][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(J), _mm256_mul_ps(sc, _mm256_set1_ps(da[i][g])),
                                 accf[i][h]);
    if constexpr (AFF) accf[i][h] = _mm256_fmadd_ps(of, _mm256_set1_ps(sa[i][g]), accf[i][h]);
  }
}

// MB activation rows (m0..m0+MB-1) x one tile (t): per group, the exact int32 sums of both halves
// of the tile for every row, then the portable kernel's float epilogue. EXP: the codes come from
// expand_tile's buffer EX, else they are unpacked from the packed tile as they are used. Each
// activation broadcast feeds both halves.
template <int MB, bool NIB, int PL, bool AFF, int G, bool LUT, bool EXP>
LLMKIT_AVX2 void rows_avx2(const QuantLinear& L, const Acts& a, int64_t t, int64_t m0,
                           const uint8_t* ex, float* y, int64_t N) {
  constexpr bool kSigned = signed_codes(NIB, LUT);
  constexpr int kSum16 = sum16_limit(NIB, PL, LUT);
  constexpr int kVecs = G / 4;  // code vectors (4 k each) per group and half
  const int8_t* aq[MB];
  const float* da[MB];
  const int32_t* corr[MB];
  const float* sa[MB];
  __m256 accf[MB][2];
#pragma GCC unroll 4
  for (int i = 0; i < MB; ++i) {
    aq[i] = a.q.data() + (m0 + i) * a.K;
    da[i] = a.da.data() + (m0 + i) * a.n_groups;
    corr[i] = a.corr.data() + (m0 + i) * a.n_groups;
    sa[i] = a.sa.data() + (m0 + i) * a.n_groups;
    accf[i][0] = accf[i][1] = _mm256_setzero_ps();
  }
  __m256i slut = _mm256_setzero_si256();
  if constexpr (LUT && !EXP) slut = signed_lut(L.spec);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* tile0 = L.tile(t);
  ScaleLayout::CodesCursor cur = L.sl.codes_cursor(tile0);
  for (int64_t g = 0; g < L.n_groups; ++g, cur.next()) {
    const uint8_t* e = EXP ? ex + g * kExpandedGroupBytes(G) : nullptr;
    if constexpr (kSigned) {
      // |w| x sign(a, w): every product is widened at once (kSum16 = 1), so one half at a time
      // keeps just MB int32 sums live.
#pragma GCC unroll 1
      for (int h = 0; h < 2; ++h) {
        __m256i I[MB];
#pragma GCC unroll 8
        for (int j = 0; j < kVecs; ++j) {
          __m256i c, u;
          if constexpr (EXP)
            c = _mm256_load_si256(reinterpret_cast<const __m256i*>(e + (2 * j + h) * 32));
          else
            c = group_codes<NIB, PL, G, LUT>(cur.p, j, h, slut);
          u = _mm256_abs_epi8(c);
#pragma GCC unroll 4
          for (int i = 0; i < MB; ++i) {
            int32_t a4;
            std::memcpy(&a4, aq[i] + g * G + 4 * j, 4);
            const __m256i p = _mm256_maddubs_epi16(u, _mm256_sign_epi8(_mm256_set1_epi32(a4), c));
            const __m256i wide = _mm256_madd_epi16(p, ones);
            I[i] = j == 0 ? wide : _mm256_add_epi32(I[i], wide);
            pin(I[i]);
          }
        }
        finish_half<MB, AFF, kSigned>(L.sl, tile0, g, h, I, da, corr, sa, accf);
      }
    } else {
      // Unsigned codes: each activation broadcast feeds both halves; up to kSum16 products are
      // added in int16 before one vpmaddwd widens them.
      __m256i s16[2][MB], I[2][MB];
#pragma GCC unroll 8
      for (int j = 0; j < kVecs; ++j) {
        __m256i c[2];
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h)
          c[h] = EXP ? _mm256_load_si256(reinterpret_cast<const __m256i*>(e + (2 * j + h) * 32))
                     : group_codes<NIB, PL, G, LUT>(cur.p, j, h, slut);
#pragma GCC unroll 4
        for (int i = 0; i < MB; ++i) {
          int32_t a4;
          std::memcpy(&a4, aq[i] + g * G + 4 * j, 4);
          const __m256i av = _mm256_set1_epi32(a4);
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            const __m256i p = _mm256_maddubs_epi16(c[h], av);
            s16[h][i] = j % kSum16 == 0 ? p : _mm256_add_epi16(s16[h][i], p);
            pin(s16[h][i]);
            if (j % kSum16 == kSum16 - 1 || j == kVecs - 1) {
              const __m256i wide = _mm256_madd_epi16(s16[h][i], ones);
              I[h][i] = j < kSum16 ? wide : _mm256_add_epi32(I[h][i], wide);
            }
          }
        }
      }
      finish_half<MB, AFF, kSigned>(L.sl, tile0, g, 0, I[0], da, corr, sa, accf);
      finish_half<MB, AFF, kSigned>(L.sl, tile0, g, 1, I[1], da, corr, sa, accf);
    }
  }
  const int64_t n0 = t * kTile;
  for (int i = 0; i < MB; ++i) {
    float* yr = y + (m0 + i) * N + n0;
    if (n0 + kTile <= N) {
      _mm256_storeu_ps(yr, accf[i][0]);
      _mm256_storeu_ps(yr + 8, accf[i][1]);
    } else {
      alignas(32) float tmp[kTile];
      _mm256_store_ps(tmp, accf[i][0]);
      _mm256_store_ps(tmp + 8, accf[i][1]);
      for (int64_t r = 0; r < N - n0; ++r) yr[r] = tmp[r];
    }
  }
}

template <int MB, bool NIB, int PL, bool AFF, int G, bool LUT>
LLMKIT_AVX2 void tile_avx2(const QuantLinear& L, const Acts& a, int64_t t, int64_t m0, float* y,
                           int64_t N) {
  rows_avx2<MB, NIB, PL, AFF, G, LUT, false>(L, a, t, m0, nullptr, y, N);
}

using PanelFn = void (*)(const QuantLinear&, const Acts&, int64_t, int64_t, int64_t, float*,
                         int64_t);

// Rows per block of the prefill kernel: the int16 sums of both halves of 4 rows stay in registers.
// bench_ops, 1 thread, M = 512, K = 2048, N = 8192, min of 5 (AMD EPYC Zen 3): 4 rows 96 ms for
// Q4_0 and 195 ms for Q8_0; 3 rows 103 / 200; 5 rows 123 ms (Q4_0); 6 or 8 rows ~197 / 247.
constexpr int kPanelRows = 4;

// rows_avx2 over the expanded tile for R rows, R = 1..RMAX chosen at run time.
template <int RMAX, bool NIB, int PL, bool AFF, int G, bool LUT>
LLMKIT_AVX2 void rows_upto(int r, const QuantLinear& L, const Acts& a, int64_t t, int64_t m0,
                           const uint8_t* ex, float* y, int64_t N) {
  if constexpr (RMAX >= 1) {
    if (r == RMAX)
      rows_avx2<RMAX, NIB, PL, AFF, G, LUT, true>(L, a, t, m0, ex, y, N);
    else
      rows_upto<RMAX - 1, NIB, PL, AFF, G, LUT>(r, L, a, t, m0, ex, y, N);
  }
}

template <bool NIB, int PL, bool AFF, int G, bool LUT>
LLMKIT_AVX2 void panel_impl(const QuantLinear& L, const Acts& a, int64_t M, int64_t t0, int64_t t1,
                            float* y, int64_t N) {
  constexpr int MB = kPanelRows;
  // The calling thread's buffer for one expanded tile (16 rows x K codes): 32 KiB at K = 2048, so
  // it stays in L1/L2 while all M rows pass over it.
  thread_local std::vector<uint8_t> buf;
  const size_t need = size_t(L.n_groups * kExpandedGroupBytes(G)) + 32;
  if (buf.size() < need) buf.resize(need);
  uint8_t* ex = buf.data() + (32 - reinterpret_cast<uintptr_t>(buf.data()) % 32) % 32;
  for (int64_t t = t0; t < t1; ++t) {
    expand_tile<NIB, PL, G, LUT>(L, t, ex);
    int64_t m0 = 0;
    for (; m0 + MB <= M; m0 += MB) rows_avx2<MB, NIB, PL, AFF, G, LUT, true>(L, a, t, m0, ex, y, N);
    if (m0 < M) rows_upto<MB - 1, NIB, PL, AFF, G, LUT>(int(M - m0), L, a, t, m0, ex, y, N);
  }
}

}  // namespace

TileFn pick_tile_avx2(const QuantSpec& sp, int mb) {
  return dispatch_spec(sp, [mb]<bool NIB, int PL, bool AFF, int G, bool LUT>() -> TileFn {
    switch (mb) {
      case 1:
        return tile_avx2<1, NIB, PL, AFF, G, LUT>;
      case 2:
        return tile_avx2<2, NIB, PL, AFF, G, LUT>;
      case 3:
        return tile_avx2<3, NIB, PL, AFF, G, LUT>;
      default:
        return tile_avx2<4, NIB, PL, AFF, G, LUT>;
    }
  });
}

void panel_avx2(const QuantLinear& L, const Acts& a, int64_t M, int64_t t0, int64_t t1, float* y,
                int64_t N) {
  const PanelFn fn = dispatch_spec(L.spec, []<bool NIB, int PL, bool AFF, int G, bool LUT>() {
    return static_cast<PanelFn>(panel_impl<NIB, PL, AFF, G, LUT>);
  });
  fn(L, a, M, t0, t1, y, N);
}

void quantize_row_avx2(const QuantSpec& sp, const float* x, int64_t K, int8_t* q, float* da,
                       int32_t* corr, float* sa) {
  if (sp.act == ActQ::kQ8_K)
    quantize_q8_k_row_avx2(x, K, sp.G, sp.zp, q, da, corr, sa);
  else
    quantize_q8_0_row_avx2(x, K, sp.zp, sp.act == ActQ::kQ8_1, q, da, corr, sa);
}

#else  // not x86-64: never called (has_avx2() is false)

TileFn pick_tile_avx2(const QuantSpec&, int) { return nullptr; }
void panel_avx2(const QuantLinear&, const Acts&, int64_t, int64_t, int64_t, float*, int64_t) {}
void quantize_row_avx2(const QuantSpec&, const float*, int64_t, int8_t*, float*, int32_t*, float*) {
}

#endif

}  // namespace llmkit::ops::quant
