// Fast linear kernels: weights repacked once into 16-row interleaved tiles, int8 dot products
// (AVX-512 VNNI vpdpbusd) against activations quantized per block the way llama.cpp does.
//
// Packed layout (one PackedLinear): N is padded to a multiple of 16 ("tile"). Tile t occupies
// tile_stride bytes at t * tile_stride, in chunks of consecutive weight groups g (G = 32 or 16
// consecutive k): first the chunk's codes (wbytes_group bytes per group, a multiple of 64), then
// its scales (sgroup bytes per group), then for K-quants the superblock's d values; every chunk
// is a whole number of 64-byte lines, so a tile is read front to back as one stream
// (ScaleLayout in ops/packed_scales.hpp has the offsets):
//   weights:  8-bit storage: G/4 chunks of 64 bytes; chunk c, 32-bit lane r (= row 16t+r) holds
//             the unsigned codes of k = 4c..4c+3.
//             nibble storage: G/8 chunks of 64 bytes; chunk c, lane r: low nibbles hold
//             k = 8c..8c+3, high nibbles k = 8c+4..8c+7; then, for codes wider than 4 bits
//             (Q5_*: 1 plane, Q6_K: 2 planes, MXFP4: 1 plane), bit planes: for each chunk c, half
//             h (0 = low nibbles, 1 = high) and plane p a 64-bit mask at index (2c + h)·P + p whose
//             bit (4r + b) is bit 4+p of that code — expanded in the kernel with a masked add.
//   scales:   16 values s[r], then (affine types only) 16 offsets o[r]; stored as f16 where
//             the file's scales are f16 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL: exact, and the
//             packed weights are no larger than the file), else as f32 (K-quants: s = d·sc is
//             not an f16 value; MXFP4: 2^e exceeds f16's range)
// so that  w[r][k] = s[r] * (code - zp)   (symmetric types; zp is a per-type integer)
//      or  w[r][k] = s[r] * code + o[r]   (affine types: Q4_1, Q5_1, Q2_K, Q4_K, Q5_K)
// reproduces dequantize_row() exactly (repacking is lossless).
//
// Per output: y[m][n] = Σ_g fma(float(I_g - zp·Σa_g), s_g·da_g)  (+ fma(o_g, sa_g) if affine),
// where I_g = Σ code·a over the group (exact int32), a = int8 activation codes, da_g their
// scale, sa_g = da_g·Σa_g. The AVX-512 kernel, the AVX2 kernels (linear_avx2.cpp) and the
// portable kernel perform the same float operations in the same order, so they agree bit for bit.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "ops/basic.hpp"
#include "ops/dequant.hpp"
#include "ops/linear_amx.hpp"
#include "ops/linear_impl.hpp"
#include "ops/linear_quant.hpp"
#include "ops/packed_scales.hpp"
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
using namespace quant;
// Rows this short (K <= 2048) are packed "chunked" (codes and scales interleaved every few groups,
// ops/packed_scales.hpp) and decoded one tile at a time as one sequential stream (tile_vnni_m1).
// AMD EPYC guest, tg A/B against four interleaved tile streams: Gemma-3-270M (K = 640) +28% at
// 1 thread, +10-20% at 2. K = 2048 joined once the weights decode through 2 MiB pages also when
// mapped from the repack cache (io::MapOptions::huge_pages): Llama-1B-shape tg64, 1 / 2 threads,
// Q4_0 +17-20% / +2-15%, Q8_0 +10% / +40% (Zen 4 guest, alternating A/B; on 4 KiB pages the
// same change had gained ~2%). Longer rows (Llama's K = 8192 down projection) keep the split
// layout and four streams: chunking them too measured within noise. Not measured on Intel.
constexpr int64_t kChunkedMaxK = 2048;
// Decode (M = 1) streams every weight once, and software prefetch keeps more misses in flight
// than the hardware prefetchers alone. The best choice differs by vendor (tg128, Llama-1B shape,
// 2 threads): Intel Xeon (AMX host) gains from prefetcht0 2 KiB ahead; on an AMD EPYC guest
// prefetcht0 costs ~20% on Q4_0 (26 vs 33 tok/s) while prefetcht1 4 KiB ahead is best, and 8-bit
// codes run fastest with no software prefetch at all (24 vs 21 tok/s).
struct DecodePrefetch {
  int distance = 2048;  // bytes ahead of the current 64-byte chunk
  bool to_l2 = false;   // prefetcht1 instead of prefetcht0
  bool nibbles = true;  // prefetch 4-bit code streams
  bool bytes = true;    // prefetch 8-bit code streams
};
const DecodePrefetch& decode_prefetch() {
  static const DecodePrefetch p = simd::is_amd() ? DecodePrefetch{4096, true, true, false}
                                                 : DecodePrefetch{2048, false, true, true};
  return p;
}
#if LLMKIT_X86
inline void prefetch_ahead(const DecodePrefetch& p, const uint8_t* line) {
  const char* a = reinterpret_cast<const char*>(line + p.distance);
  if (p.to_l2)
    _mm_prefetch(a, _MM_HINT_T1);
  else
    _mm_prefetch(a, _MM_HINT_T0);
}
#endif

// ---- activation quantization (llama.cpp's x86 formulas) -------------------------------------

inline float fp16_round(float x) { return f16_to_f32(f32_to_f16(x)); }

// ggml's quantize_row_q8_0 / q8_1 (AVX path): id = 127/amax, round half to even, d as f16.
void quantize_q8_0_row(const float* x, int64_t K, int G, int zp, bool q8_1, int8_t* q, float* da,
                       int32_t* corr, float* sa) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) {
      const int v = int(std::nearbyint(xb[j] * id));
      q[b * 32 + j] = int8_t(v);
      isum += v;
    }
    da[b] = fp16_round(d);
    corr[b] = zp * isum;
    sa[b] = q8_1 ? fp16_round(d * float(isum)) : da[b] * float(isum);
  }
  (void)G;
}

// ggml's quantize_row_q8_K_ref: per 256, iscale = -127/max (max = signed value of largest |x|),
// q = nearest_int(iscale*x) capped at 127, d = 1/iscale.
void quantize_q8_k_row(const float* x, int64_t K, int G, int zp, int8_t* q, float* da,
                       int32_t* corr, float* sa) {
  const int gpb = 256 / G;  // groups per 256 block
  for (int64_t b = 0; b < K / 256; ++b) {
    const float* xb = x + b * 256;
    float amax = 0.f, mx = 0.f;
    for (int j = 0; j < 256; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        mx = xb[j];
      }
    }
    float d = 0.f;
    if (amax == 0.f) {
      std::memset(q + b * 256, 0, 256);
    } else {
      const float iscale = -127.f / mx;
      for (int j = 0; j < 256; ++j) {
        const int v = int(std::nearbyint(iscale * xb[j]));
        q[b * 256 + j] = int8_t(std::min(127, v));
      }
      d = 1.f / iscale;
    }
    for (int g = 0; g < gpb; ++g) {
      int32_t isum = 0;
      for (int j = 0; j < G; ++j) isum += q[b * 256 + g * G + j];
      da[b * gpb + g] = d;
      corr[b * gpb + g] = zp * isum;
      sa[b * gpb + g] = d * float(isum);
    }
  }
}

#if LLMKIT_X86
#define VNNI_Q __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,f16c")))
// fp16_round with F16C: the same round-to-nearest-even as f32_to_f16 (both IEEE, subnormals
// included), without the software conversion's branches.
VNNI_Q inline float fp16_round_f16c(float x) {
  return _mm_cvtss_f32(
      _mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
}
// AVX-512 twins of the two quantizers above: same float products, same round-half-even
// (vcvtps2dq under the default MXCSR), same integer sums — bit-identical outputs.
VNNI_Q void quantize_q8_0_row_512(const float* x, int64_t K, int zp, bool q8_1, int8_t* q,
                                  float* da, int32_t* corr, float* sa) {
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < K / 32; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + b * 32), v1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float amax =
        _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, absmask), _mm512_and_ps(v1, absmask)));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    const __m512 idv = _mm512_set1_ps(id);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, idv));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, idv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
    const int32_t isum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    da[b] = fp16_round_f16c(d);
    corr[b] = zp * isum;
    sa[b] = q8_1 ? fp16_round_f16c(d * float(isum)) : da[b] * float(isum);
  }
}

VNNI_Q void quantize_q8_k_row_512(const float* x, int64_t K, int G, int zp, int8_t* q, float* da,
                                  int32_t* corr, float* sa) {
  const int gpb = 256 / G;
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < K / 256; ++b) {
    const float* xb = x + b * 256;
    __m512 m = _mm512_setzero_ps();
    for (int j = 0; j < 256; j += 16)
      m = _mm512_max_ps(m, _mm512_and_ps(_mm512_loadu_ps(xb + j), absmask));
    const float amax = _mm512_reduce_max_ps(m);
    float d = 0.f;
    if (amax == 0.f) {
      std::memset(q + b * 256, 0, 256);
    } else {
      const float iscale = -127.f / first_with_abs(xb, 256, amax);
      const __m512 isv = _mm512_set1_ps(iscale);
      const __m512i cap = _mm512_set1_epi32(127);
      for (int j = 0; j < 256; j += 16) {
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(isv, _mm512_loadu_ps(xb + j)));
        v = _mm512_min_epi32(v, cap);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 256 + j), _mm512_cvtsepi32_epi8(v));
      }
      d = 1.f / iscale;
    }
    for (int g = 0; g < gpb; ++g) {
      const __m128i* p = reinterpret_cast<const __m128i*>(q + b * 256 + g * G);
      __m512i s32 = _mm512_cvtepi8_epi32(_mm_loadu_si128(p));
      if (G == 32) s32 = _mm512_add_epi32(s32, _mm512_cvtepi8_epi32(_mm_loadu_si128(p + 1)));
      const int32_t isum = _mm512_reduce_add_epi32(s32);
      da[b * gpb + g] = d;
      corr[b * gpb + g] = zp * isum;
      sa[b * gpb + g] = d * float(isum);
    }
  }
}
#endif

// ---- per-type block decoding into (codes, scale, offset) per group ---------------------------

// Nibble -> unsigned code (value + zero point) for the non-linear 4-bit types.
constexpr uint8_t kIq4nlCodes[16] = {1,   24,  45,  63,  79,  93,  106, 118,
                                     129, 141, 153, 166, 181, 197, 217, 241};  // value + 128
constexpr uint8_t kMxfp4Codes[16] = {12, 13, 14, 15, 16, 18, 20, 24,
                                     12, 11, 10, 9,  8,  6,  4,  0};  // value + 12

bool quant_spec(TensorType t, QuantSpec* s) {
  switch (t) {
    case TensorType::Q4_0:
      *s = {32, true, 0, false, 8, ActQ::kQ8_0};
      return true;
    case TensorType::Q4_1:
      *s = {32, true, 0, true, 0, ActQ::kQ8_1};
      return true;
    case TensorType::Q5_0:
      *s = {32, true, 1, false, 16, ActQ::kQ8_0};
      return true;
    case TensorType::Q5_1:
      *s = {32, true, 1, true, 0, ActQ::kQ8_1};
      return true;
    case TensorType::Q8_0:
      *s = {32, false, 0, false, 128, ActQ::kQ8_0};
      return true;
    case TensorType::IQ4_NL:
      *s = {32, true, 0, false, 128, ActQ::kQ8_0, kIq4nlCodes};
      return true;
    case TensorType::MXFP4:
      *s = {32, true, 0, false, 12, ActQ::kQ8_0, kMxfp4Codes};
      return true;
    case TensorType::Q2_K:
      *s = {16, true, 0, true, 0, ActQ::kQ8_K};
      return true;
    case TensorType::Q3_K:
      *s = {16, true, 0, false, 4, ActQ::kQ8_K};
      return true;
    case TensorType::Q4_K:
      *s = {32, true, 0, true, 0, ActQ::kQ8_K};
      return true;
    case TensorType::Q5_K:
      *s = {32, true, 1, true, 0, ActQ::kQ8_K};
      return true;
    case TensorType::Q6_K:
      *s = {16, true, 2, false, 32, ActQ::kQ8_K};
      return true;
    default:
      return false;
  }
}

inline float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

constexpr int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};
constexpr int8_t kMxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

void k4_scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Decodes one block of TYPE: codes[block_size], per group scale s[] and offset o[].
// The float math matches dequant.cpp exactly (s = d*sc; o = -(dmin*m)).
void decode_block(TensorType t, const uint8_t* b, uint8_t* codes, float* s, float* o) {
  switch (t) {
    case TensorType::Q4_0:
    case TensorType::Q4_1: {
      const bool q41 = t == TensorType::Q4_1;
      s[0] = h2f(b);
      o[0] = q41 ? h2f(b + 2) : 0.f;
      const uint8_t* qs = b + (q41 ? 4 : 2);
      for (int j = 0; j < 16; ++j) {
        codes[j] = qs[j] & 0xF;
        codes[j + 16] = qs[j] >> 4;
      }
      return;
    }
    case TensorType::Q5_0:
    case TensorType::Q5_1: {
      const bool q51 = t == TensorType::Q5_1;
      s[0] = h2f(b);
      o[0] = q51 ? h2f(b + 2) : 0.f;
      uint32_t qh;
      std::memcpy(&qh, b + (q51 ? 4 : 2), 4);
      const uint8_t* qs = b + (q51 ? 8 : 6);
      for (int j = 0; j < 16; ++j) {
        codes[j] = uint8_t((qs[j] & 0xF) | (((qh >> j) & 1) << 4));
        codes[j + 16] = uint8_t((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
      }
      return;
    }
    case TensorType::Q8_0:
      s[0] = h2f(b);
      o[0] = 0.f;
      for (int j = 0; j < 32; ++j) codes[j] = uint8_t(int(int8_t(b[2 + j])) + 128);
      return;
    case TensorType::IQ4_NL:
      s[0] = h2f(b);
      o[0] = 0.f;
      for (int j = 0; j < 16; ++j) {
        codes[j] = b[2 + j] & 0xF;  // table index; the kernels map it through QuantSpec::lut
        codes[j + 16] = b[2 + j] >> 4;
      }
      return;
    case TensorType::MXFP4: {
      const uint8_t e = b[0];
      const uint32_t bits = e < 2 ? (0x00200000u << e) : (uint32_t(e - 1) << 23);
      std::memcpy(&s[0], &bits, 4);
      o[0] = 0.f;
      for (int j = 0; j < 16; ++j) {
        codes[j] = b[1 + j] & 0xF;  // table index (see QuantSpec::lut)
        codes[j + 16] = b[1 + j] >> 4;
      }
      return;
    }
    case TensorType::Q2_K: {
      const uint8_t* sc = b;
      const uint8_t* qs = b + 16;
      const float d = h2f(b + 80), dmin = h2f(b + 82);
      for (int g = 0; g < 16; ++g) {
        s[g] = d * float(sc[g] & 0xF);
        o[g] = -(dmin * float(sc[g] >> 4));
      }
      for (int h = 0; h < 2; ++h)
        for (int sh = 0; sh < 4; ++sh)
          for (int l = 0; l < 32; ++l)
            codes[128 * h + 32 * sh + l] = (qs[32 * h + l] >> (2 * sh)) & 3;
      return;
    }
    case TensorType::Q3_K: {
      const uint8_t* hm = b;
      const uint8_t* qs = b + 32;
      const uint8_t* sc = b + 96;
      const float d = h2f(b + 108);
      for (int i = 0; i < 16; ++i) {
        const int lo = (sc[i % 8] >> (4 * (i / 8))) & 0xF;
        const int hi = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
        s[i] = d * float((lo | (hi << 4)) - 32);
        o[i] = 0.f;
      }
      for (int h = 0; h < 2; ++h)
        for (int sh = 0; sh < 4; ++sh)
          for (int l = 0; l < 32; ++l) {
            const int ql = (qs[32 * h + l] >> (2 * sh)) & 3;
            const int hb = (hm[l] >> (4 * h + sh)) & 1;
            codes[128 * h + 32 * sh + l] = uint8_t(ql - ((hb ^ 1) << 2) + 4);
          }
      return;
    }
    case TensorType::Q4_K:
    case TensorType::Q5_K: {
      const bool q5 = t == TensorType::Q5_K;
      const float d = h2f(b), dmin = h2f(b + 2);
      const uint8_t* qh = b + 16;
      const uint8_t* qs = b + (q5 ? 48 : 16);
      for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        k4_scale_min(b + 4, j, &sc, &m);
        s[j] = d * float(sc);
        o[j] = -(dmin * float(m));
        for (int l = 0; l < 32; ++l) {
          int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF;
          if (q5) q |= ((qh[l] >> j) & 1) << 4;
          codes[32 * j + l] = uint8_t(q);
        }
      }
      return;
    }
    case TensorType::Q6_K: {
      const uint8_t* ql = b;
      const uint8_t* qh = b + 128;
      const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
      const float d = h2f(b + 208);
      for (int g = 0; g < 16; ++g) {
        s[g] = d * float(sc[g]);
        o[g] = 0.f;
      }
      for (int h = 0; h < 2; ++h)
        for (int sh = 0; sh < 4; ++sh)
          for (int l = 0; l < 32; ++l) {
            const int lo = (ql[64 * h + 32 * (sh % 2) + l] >> (4 * (sh / 2))) & 0xF;
            const int hi = (qh[32 * h + l] >> (2 * sh)) & 3;
            codes[128 * h + 32 * sh + l] = uint8_t(lo | (hi << 4));
          }
      return;
    }
    default:
      return;
  }
}

// The integer sub-scales (SC), sub-mins (M) and superblock scales D, ND = -dmin of one K-quant
// block, such that decode_block's s[g] == D·SC[g] and o[g] == ND·M[g] exactly (see
// ops/packed_scales.hpp).
void kquant_block_ints(TensorType t, const uint8_t* b, int8_t* sc, uint8_t* m, float* d,
                       float* nd) {
  switch (t) {
    case TensorType::Q2_K:
      *d = h2f(b + 80);
      *nd = -h2f(b + 82);
      for (int g = 0; g < 16; ++g) {
        sc[g] = int8_t(b[g] & 0xF);
        m[g] = uint8_t(b[g] >> 4);
      }
      return;
    case TensorType::Q3_K:
      *d = h2f(b + 108);
      *nd = 0.f;
      for (int i = 0; i < 16; ++i) {
        const int lo = (b[96 + i % 8] >> (4 * (i / 8))) & 0xF;
        const int hi = (b[96 + 8 + i % 4] >> (2 * (i / 4))) & 3;
        sc[i] = int8_t((lo | (hi << 4)) - 32);
        m[i] = 0;
      }
      return;
    case TensorType::Q4_K:
    case TensorType::Q5_K:
      *d = h2f(b);
      *nd = -h2f(b + 2);
      for (int j = 0; j < 8; ++j) {
        uint8_t s6, m6;
        k4_scale_min(b + 4, j, &s6, &m6);
        sc[j] = int8_t(s6);
        m[j] = m6;
      }
      return;
    case TensorType::Q6_K:
      *d = h2f(b + 208);
      *nd = 0.f;
      for (int g = 0; g < 16; ++g) {
        sc[g] = int8_t(b[192 + g]);
        m[g] = 0;
      }
      return;
    default:
      return;
  }
}

// ---- kernels --------------------------------------------------------------------------------

// PAD_ROWS: q gets zero rows up to a multiple of PAD_ROWS (the AMX kernels load 16-row tiles).
void quantize_acts(const QuantSpec& sp, const float* x, int64_t M, int64_t K, Acts& a,
                   ThreadPool& pool, int64_t pad_rows = 1) {
  a.K = K;
  a.n_groups = K / sp.G;
  const int64_t m_pad = (M + pad_rows - 1) / pad_rows * pad_rows;
  a.q.resize(size_t(m_pad * K));
  a.da.resize(size_t(m_pad * a.n_groups));
  a.corr.resize(size_t(m_pad * a.n_groups));
  a.sa.resize(size_t(m_pad * a.n_groups));
  if (m_pad > M) {
    std::memset(a.q.data() + M * K, 0, size_t((m_pad - M) * K));
    std::fill(a.da.begin() + M * a.n_groups, a.da.end(), 0.f);
    std::fill(a.sa.begin() + M * a.n_groups, a.sa.end(), 0.f);
  }
  const simd::Isa isa = simd::isa();
  auto rows = [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      int8_t* q = a.q.data() + m * K;
      float* da = a.da.data() + m * a.n_groups;
      int32_t* corr = a.corr.data() + m * a.n_groups;
      float* sa = a.sa.data() + m * a.n_groups;
#if LLMKIT_X86
      if (isa == simd::Isa::kAvx2) {
        quantize_row_avx2(sp, x + m * K, K, q, da, corr, sa);
        continue;
      }
      if (isa == simd::Isa::kAvx512) {
        if (sp.act == ActQ::kQ8_K)
          quantize_q8_k_row_512(x + m * K, K, sp.G, sp.zp, q, da, corr, sa);
        else
          quantize_q8_0_row_512(x + m * K, K, sp.zp, sp.act == ActQ::kQ8_1, q, da, corr, sa);
        continue;
      }
#endif
      if (sp.act == ActQ::kQ8_K)
        quantize_q8_k_row(x + m * K, K, sp.G, sp.zp, q, da, corr, sa);
      else
        quantize_q8_0_row(x + m * K, K, sp.G, sp.zp, sp.act == ActQ::kQ8_1, q, da, corr, sa);
    }
  };
  if (M >= 8)
    pool.parallel_for(M, rows);
  else
    rows(0, M);
}

// Unpacks one tile-group into codes[k][r] (k-major so the dot loop below runs over 16 lanes).
inline void unpack_group(const QuantSpec& sp, const uint8_t* w, uint8_t (*codes)[kTile]) {
  const int G = sp.G, P = sp.planes;
  if (!sp.nib) {
    for (int k = 0; k < G; ++k)
      for (int r = 0; r < kTile; ++r) codes[k][r] = w[(k / 4) * 64 + r * 4 + k % 4];
    return;
  }
  const uint8_t* planes = w + G / 2 * kTile;
  for (int q = 0; q < G / 4; ++q) {  // 4-wide k quad: nibble chunk q/2, half q%2
    uint64_t m[2] = {0, 0};
    for (int pl = 0; pl < P; ++pl) std::memcpy(&m[pl], planes + 8 * (q * P + pl), 8);
    for (int bb = 0; bb < 4; ++bb) {
      const int k = (q / 2) * 8 + (q % 2) * 4 + bb;
      for (int r = 0; r < kTile; ++r) {
        const uint8_t byte = w[(q / 2) * 64 + r * 4 + bb];
        int code = (q % 2 == 0) ? (byte & 0xF) : (byte >> 4);
        for (int pl = 0; pl < P; ++pl) code += int((m[pl] >> (r * 4 + bb)) & 1) << (4 + pl);
        codes[k][r] = sp.lut ? sp.lut[code] : uint8_t(code);
      }
    }
  }
}

// Portable kernel over one tile, rows m0..m0+mb-1: the same integer sums and the same float
// operations in the same order as the SIMD kernel (bit-identical results). Loops run over the
// 16 rows innermost so compilers vectorize them; an AVX2 clone is selected at load time (ifunc).
#if LLMKIT_X86 && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)  // sanitizers: ifunc resolvers run before the runtime is up
__attribute__((target_clones("avx2", "default")))
#endif
void tile_portable(const QuantLinear& L, const Acts& a, int64_t t, int64_t m0, int mb, float* y,
                   int64_t N) {
  const QuantSpec& sp = L.spec;
  const int G = sp.G;
  alignas(64) uint8_t codes[32][kTile];
  float acc[4][kTile] = {};
  for (int64_t g = 0; g < L.n_groups; ++g) {
    unpack_group(sp, L.codes(t, g), codes);
    float sc[kTile], of[kTile];
    for (int r = 0; r < kTile; ++r) {
      sc[r] = L.scale_at(t, g, 0, r);
      of[r] = sp.affine ? L.scale_at(t, g, 1, r) : 0.f;
    }
    for (int i = 0; i < mb; ++i) {
      const int64_t m = m0 + i;
      const int8_t* ag = a.q.data() + m * a.K + g * G;
      int32_t I[kTile] = {};
      for (int k = 0; k < G; ++k) {
        const int32_t av = ag[k];
        for (int r = 0; r < kTile; ++r) I[r] += int32_t(codes[k][r]) * av;
      }
      const size_t gi = size_t(m * a.n_groups + g);
      const int32_t corr = sp.affine ? 0 : a.corr[gi];
      const float da = a.da[gi], sa = a.sa[gi];
      for (int r = 0; r < kTile; ++r) {
        acc[i][r] = std::fma(float(I[r] - corr), sc[r] * da, acc[i][r]);
        if (sp.affine) acc[i][r] = std::fma(of[r], sa, acc[i][r]);
      }
    }
  }
  for (int i = 0; i < mb; ++i)
    for (int r = 0; r < kTile && t * kTile + r < N; ++r)
      y[(m0 + i) * N + t * kTile + r] = acc[i][r];
}

#if LLMKIT_X86
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma")))

// The codes of 64-byte chunk C of a nibble-stored group at W (see the layout at the top): the low
// nibbles (k = 8c..8c+3 per lane) in LO, the high ones (k = 8c+4..8c+7) in HI, mapped through the
// vpshufb table LUTV (LUT) and widened by the bit planes (PL).
template <int G, int PL, bool LUT>
VNNI __attribute__((always_inline)) inline void nibble_codes(const uint8_t* w, int c, __m512i lutv,
                                                             __m512i& lo, __m512i& hi) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i v = _mm512_load_si512(w + 64 * c);
  lo = _mm512_and_si512(v, low4);
  hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
  if constexpr (LUT) {
    lo = _mm512_shuffle_epi8(lutv, lo);
    hi = _mm512_shuffle_epi8(lutv, hi);
  }
  if constexpr (PL >= 1) {
    const __m512i c16 = _mm512_set1_epi8(16), c32 = _mm512_set1_epi8(32);
    const uint64_t* m = reinterpret_cast<const uint64_t*>(w + G / 2 * kTile) + 2 * c * PL;
    lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(m[0]), lo, c16);
    hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(m[PL]), hi, c16);
    if constexpr (PL >= 2) {
      lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(m[1]), lo, c32);
      hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(m[PL + 1]), hi, c32);
    }
  }
}

// Bytes of one group of a nibble-stored tile unpacked by expand_tile_vnni: per chunk c the two
// code vectors nibble_codes makes (lo, hi), 64 bytes each.
constexpr int64_t kVnniExpandedGroupBytes(int G) { return int64_t(G / 8) * 128; }

// NT consecutive tiles (16·NT rows) × MB activation rows. Independent accumulators per
// (tile, row) hide vpdpbusd latency; each activation broadcast feeds NT dot products. EXP: the
// nibble codes come ready from EX (NT tiles expanded by expand_tile_vnni, one after the other)
// instead of being unpacked from the packed tiles here.
template <int MB, int NT, bool NIB, int PL, bool AFF, int G, bool LUT, bool EXP>
VNNI void rows_vnni(const QuantLinear& L, const Acts& a, int64_t t, int64_t m0, const uint8_t* ex,
                    float* y, int64_t N) {
  __m512 accf[NT][MB];
  const int8_t* aq[MB];
  const float* da[MB];
  const int32_t* corr[MB];
  const float* sa[MB];
#pragma GCC unroll 8
  for (int i = 0; i < MB; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) accf[j][i] = _mm512_setzero_ps();
    aq[i] = a.q.data() + (m0 + i) * a.K;
    da[i] = a.da.data() + (m0 + i) * a.n_groups;
    corr[i] = a.corr.data() + (m0 + i) * a.n_groups;
    sa[i] = a.sa.data() + (m0 + i) * a.n_groups;
  }
  const int64_t tstride = L.tile_stride;
  const uint8_t* tile0 = L.tile(t);
  const DecodePrefetch pf = decode_prefetch();
  __m512i lutv = _mm512_setzero_si512();
  if constexpr (LUT)  // 16-entry table in every 128-bit lane for vpshufb
    lutv = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(L.spec.lut)));
  ScaleLayout::CodesCursor cur = L.sl.codes_cursor(tile0);
  for (int64_t g = 0; g < L.n_groups; ++g, cur.next()) {
    const uint8_t* w = cur.p;
    // Symmetric types: the sums start at -zp·Σa instead of 0 (one broadcast per row instead of a
    // zeroing move and a subtraction per accumulator; the same integer).
    __m512i acc[NT][MB];
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) {
      const __m512i init = AFF ? _mm512_setzero_si512() : _mm512_set1_epi32(-corr[i][g]);
#pragma GCC unroll 8
      for (int j = 0; j < NT; ++j) acc[j][i] = init;
    }
    if constexpr (NIB) {
#pragma GCC unroll 4
      for (int c = 0; c < G / 8; ++c) {
        __m512i lo[NT], hi[NT];
#pragma GCC unroll 8
        for (int j = 0; j < NT; ++j) {
          if constexpr (EXP) {
            const uint8_t* e =
                ex + (j * L.n_groups + g) * kVnniExpandedGroupBytes(G) + 128 * int64_t(c);
            lo[j] = _mm512_load_si512(e);
            hi[j] = _mm512_load_si512(e + 64);
          } else {
            const uint8_t* wj = w + j * tstride;
            // Decode streams each tile once: ask for a line ahead now (decode_prefetch()), so
            // more misses are in flight than the hardware prefetcher alone keeps.
            if (MB == 1 && pf.nibbles) prefetch_ahead(pf, wj + 64 * c);
            nibble_codes<G, PL, LUT>(wj, c, lutv, lo[j], hi[j]);
          }
        }
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i) {
          int32_t a0, a1;
          std::memcpy(&a0, aq[i] + g * G + 8 * c, 4);
          std::memcpy(&a1, aq[i] + g * G + 8 * c + 4, 4);
          const __m512i b0 = _mm512_set1_epi32(a0), b1 = _mm512_set1_epi32(a1);
#pragma GCC unroll 8
          for (int j = 0; j < NT; ++j) {
            acc[j][i] = _mm512_dpbusd_epi32(acc[j][i], lo[j], b0);
            acc[j][i] = _mm512_dpbusd_epi32(acc[j][i], hi[j], b1);
          }
        }
      }
    } else {
#pragma GCC unroll 8
      for (int c = 0; c < G / 4; ++c) {
        __m512i v[NT];
#pragma GCC unroll 8
        for (int j = 0; j < NT; ++j) {
          if (MB == 1 && pf.bytes) prefetch_ahead(pf, w + j * tstride + 64 * c);
          v[j] = _mm512_load_si512(w + j * tstride + 64 * c);
        }
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i) {
          int32_t a0;
          std::memcpy(&a0, aq[i] + g * G + 4 * c, 4);
          const __m512i b0 = _mm512_set1_epi32(a0);
#pragma GCC unroll 8
          for (int j = 0; j < NT; ++j) acc[j][i] = _mm512_dpbusd_epi32(acc[j][i], v[j], b0);
        }
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < NT; ++j) {
      __m512 sc, of = _mm512_setzero_ps();
      load_scales_512(L.sl, tile0 + j * tstride, g, sc, of);
#pragma GCC unroll 8
      for (int i = 0; i < MB; ++i) {
        accf[j][i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[j][i]),
                                     _mm512_mul_ps(sc, _mm512_set1_ps(da[i][g])), accf[j][i]);
        if constexpr (AFF) {
          accf[j][i] = _mm512_fmadd_ps(of, _mm512_set1_ps(sa[i][g]), accf[j][i]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NT; ++j) {
    const int64_t n0 = (t + j) * kTile;
    const __mmask16 mask = n0 + kTile <= N ? __mmask16(0xFFFF) : __mmask16((1u << (N - n0)) - 1);
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) _mm512_mask_storeu_ps(y + (m0 + i) * N + n0, mask, accf[j][i]);
  }
}

template <int MB, int NT, bool NIB, int PL, bool AFF, int G, bool LUT>
VNNI void tile_vnni(const QuantLinear& L, const Acts& a, int64_t t, int64_t m0, float* y,
                    int64_t N) {
  rows_vnni<MB, NT, NIB, PL, AFF, G, LUT, false>(L, a, t, m0, nullptr, y, N);
}

// Unpacks the nibble codes (and bit planes) of tile T into EX, kVnniExpandedGroupBytes per group.
template <int PL, int G, bool LUT>
VNNI void expand_tile_vnni(const QuantLinear& L, int64_t t, uint8_t* ex) {
  __m512i lutv = _mm512_setzero_si512();
  if constexpr (LUT)
    lutv = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(L.spec.lut)));
  ScaleLayout::CodesCursor cur = L.sl.codes_cursor(L.tile(t));
  for (int64_t g = 0; g < L.n_groups; ++g, cur.next()) {
#pragma GCC unroll 4
    for (int c = 0; c < G / 8; ++c) {
      __m512i lo, hi;
      nibble_codes<G, PL, LUT>(cur.p, c, lutv, lo, hi);
      _mm512_store_si512(ex + 128 * c, lo);
      _mm512_store_si512(ex + 128 * c + 64, hi);
    }
    ex += kVnniExpandedGroupBytes(G);
  }
}

// Prefill on VNNI CPUs without AMX (the types pick_panel_vnni names): kPanelTiles tiles at a time
// are unpacked once into a per-thread panel (16·K bytes per tile: 32 KiB at K = 2048) and every
// activation row then runs over the ready codes, instead of unpacking them again for every block
// of 4 rows. Same integer sums and float operations as tile_vnni (bit-identical).
constexpr int kPanelTiles = 2;

template <int NT, int PL, bool AFF, int G, bool LUT>
VNNI void panel_rows(const QuantLinear& L, const Acts& a, int64_t M, int64_t t, const uint8_t* ex,
                     float* y, int64_t N) {
  int64_t m0 = 0;
  for (; m0 + 4 <= M; m0 += 4) rows_vnni<4, NT, true, PL, AFF, G, LUT, true>(L, a, t, m0, ex, y, N);
  switch (M - m0) {
    case 3:
      return rows_vnni<3, NT, true, PL, AFF, G, LUT, true>(L, a, t, m0, ex, y, N);
    case 2:
      return rows_vnni<2, NT, true, PL, AFF, G, LUT, true>(L, a, t, m0, ex, y, N);
    case 1:
      return rows_vnni<1, NT, true, PL, AFF, G, LUT, true>(L, a, t, m0, ex, y, N);
    default:
      return;
  }
}

template <int PL, bool AFF, int G, bool LUT>
VNNI void panel_vnni_impl(const QuantLinear& L, const Acts& a, int64_t M, int64_t t0, int64_t t1,
                          float* y, int64_t N) {
  const int64_t tile_ex = L.n_groups * kVnniExpandedGroupBytes(G);
  thread_local std::vector<uint8_t> buf;
  const size_t need = size_t(kPanelTiles * tile_ex) + 64;
  if (buf.size() < need) buf.resize(need);
  uint8_t* ex = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
  for (int64_t t = t0; t < t1; t += kPanelTiles) {
    const int nt = int(std::min<int64_t>(kPanelTiles, t1 - t));
    for (int j = 0; j < nt; ++j) expand_tile_vnni<PL, G, LUT>(L, t + j, ex + j * tile_ex);
    if (nt == 2)
      panel_rows<2, PL, AFF, G, LUT>(L, a, M, t, ex, y, N);
    else
      panel_rows<1, PL, AFF, G, LUT>(L, a, M, t, ex, y, N);
  }
}

using PanelFn = void (*)(const QuantLinear&, const Acts&, int64_t, int64_t, int64_t, float*,
                         int64_t);

// The panel kernel of a spec whose unpacking is worth doing once: bit planes (Q5_0, Q5_1, Q3_K,
// Q5_K, Q6_K; their mask loads take the vpdpbusd pipes) and 16-wide groups (Q2_K). nullptr for
// plain nibbles and 8-bit codes, whose unpacking runs on otherwise idle pipes: there the panel's
// extra loads made Q4_0/Q4_1 prefill 3-4% slower. bench_ops, 1 thread, M = 512, K = N = 2048,
// min of 3, AMD EPYC Zen 4 (ms, tile_vnni -> panel): Q5_0 15.6 -> 13.1, Q5_1 16.4 -> 14.4,
// Q5_K 17.4 -> 15.1, Q6_K 21.6 -> 16.2, Q2_K 23.1 -> 19.2, Q3_K 16.2 -> 16.8; Q4_0, Q4_1, Q4_K,
// IQ4_NL, MXFP4 within 2%.
PanelFn pick_panel_vnni(const QuantSpec& sp) {
  return dispatch_spec(sp, []<bool NIB, int PL, bool AFF, int G, bool LUT>() -> PanelFn {
    if constexpr (NIB && (PL >= 1 || G == 16))
      return panel_vnni_impl<PL, AFF, G, LUT>;
    else
      return nullptr;
  });
}

// acc += u8 · (the four signed bytes at p, broadcast): the broadcast folded into vpdpbusd's
// {1to16} memory operand, one instruction instead of two (GCC does not fold it itself). Decode
// is limited by how many weight lines the out-of-order window covers, so fewer instructions per
// line mean more lines in flight.
VNNI inline __m512i dpbusd_bcast(__m512i acc, __m512i u8, const int8_t* p) {
#if defined(__GNUC__) && !defined(__clang__)
  asm("vpdpbusd %2%{1to16%}, %1, %0"
      : "+v"(acc)
      : "v"(u8), "m"(*reinterpret_cast<const int32_t*>(p)));
  return acc;
#else
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_dpbusd_epi32(acc, u8, _mm512_set1_epi32(v));
#endif
}

// Decode (one activation row) of a chunked-layout tile, one tile at a time, so its chunks are read
// front to back as one sequential stream: on one core of an AMD EPYC guest one stream reads ~1.7x
// faster than the four interleaved ones of tile_vnni<1, 4>. Two integer chains per group keep
// vpdpbusd latency off the critical path; the float epilogue is tile_vnni's, in the same order
// (bit-identical).
template <bool NIB, int PL, bool AFF, int G, bool LUT>
VNNI void tile_vnni_m1(const QuantLinear& L, const Acts& a, int64_t t, int64_t m0, float* y,
                       int64_t N) {
  const int8_t* aq = a.q.data() + m0 * a.K;
  const float* da = a.da.data() + m0 * a.n_groups;
  const int32_t* corr = a.corr.data() + m0 * a.n_groups;
  const float* sa = a.sa.data() + m0 * a.n_groups;
  const uint8_t* tile0 = L.tile(t);
  __m512i lutv = _mm512_setzero_si512();
  if constexpr (LUT)
    lutv = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(L.spec.lut)));
  __m512 accf = _mm512_setzero_ps();
  ScaleLayout::CodesCursor cur = L.sl.codes_cursor(tile0);
  for (int64_t g = 0; g < L.n_groups; ++g, cur.next()) {
    const uint8_t* w = cur.p;
    const int8_t* ag = aq + g * G;
    __m512i A0 = _mm512_setzero_si512(), A1 = _mm512_setzero_si512();
    if constexpr (NIB) {
#pragma GCC unroll 4
      for (int c = 0; c < G / 8; ++c) {
        __m512i lo, hi;
        nibble_codes<G, PL, LUT>(w, c, lutv, lo, hi);
        A0 = dpbusd_bcast(A0, lo, ag + 8 * c);
        A1 = dpbusd_bcast(A1, hi, ag + 8 * c + 4);
      }
    } else {
#pragma GCC unroll 8
      for (int c = 0; c < G / 4; c += 2) {
        A0 = dpbusd_bcast(A0, _mm512_load_si512(w + 64 * c), ag + 4 * c);
        A1 = dpbusd_bcast(A1, _mm512_load_si512(w + 64 * c + 64), ag + 4 * c + 4);
      }
    }
    __m512 sc, of = _mm512_setzero_ps();
    load_scales_512(L.sl, tile0, g, sc, of);
    __m512i I = _mm512_add_epi32(A0, A1);
    if constexpr (!AFF) I = _mm512_sub_epi32(I, _mm512_set1_epi32(corr[g]));
    accf = _mm512_fmadd_ps(_mm512_cvtepi32_ps(I), _mm512_mul_ps(sc, _mm512_set1_ps(da[g])), accf);
    if constexpr (AFF) accf = _mm512_fmadd_ps(of, _mm512_set1_ps(sa[g]), accf);
  }
  const int64_t n0 = t * kTile;
  const __mmask16 mask = n0 + kTile <= N ? __mmask16(0xFFFF) : __mmask16((1u << (N - n0)) - 1);
  _mm512_mask_storeu_ps(y + m0 * N + n0, mask, accf);
}

template <int NT>
TileFn pick_tile_nt(const QuantSpec& sp, int mb) {
  return dispatch_spec(sp, [mb]<bool NIB, int PL, bool AFF, int G, bool LUT>() -> TileFn {
    switch (mb) {
      case 1:
        return tile_vnni<1, NT, NIB, PL, AFF, G, LUT>;
      case 2:
        return tile_vnni<2, NT, NIB, PL, AFF, G, LUT>;
      case 3:
        return tile_vnni<3, NT, NIB, PL, AFF, G, LUT>;
      default:
        return tile_vnni<4, NT, NIB, PL, AFF, G, LUT>;
    }
  });
}

// Decode (one activation row), split layout: four tile streams per call keep more weight loads
// in flight.
TileFn pick_tile_quad_m1(const QuantSpec& sp) {
  return dispatch_spec(sp, []<bool NIB, int PL, bool AFF, int G, bool LUT>() -> TileFn {
    return tile_vnni<1, 4, NIB, PL, AFF, G, LUT>;
  });
}

// Decode, chunked layout: one tile per call (tile_vnni_m1).
TileFn pick_tile_m1(const QuantSpec& sp) {
  return dispatch_spec(sp, []<bool NIB, int PL, bool AFF, int G, bool LUT>() -> TileFn {
    return tile_vnni_m1<NIB, PL, AFF, G, LUT>;
  });
}

// Tiles per kernel call (kNT) and the single-tile kernel for the remainder.
constexpr int kNT = 2;
TileFn pick_tile(const QuantSpec& sp, int mb, bool pair) {
  return pair ? pick_tile_nt<kNT>(sp, mb) : pick_tile_nt<1>(sp, mb);
}
#endif

// AVX-512 VNNI CPUs without AMX: from this many activation rows on, the codes of bit-plane and
// 16-wide-group types are unpacked once per tile (panel_vnni_impl, pick_panel_vnni).
constexpr int64_t kVnniPanelMinRows = 8;

// AVX2 CPUs: from this many activation rows on, each tile's codes are unpacked once and reused by
// every row (panel_avx2); fewer rows unpack them as they go.
constexpr int64_t kAvx2PanelMinRows = 8;

// Threads for a matmul of this size: waking a worker costs microseconds, so tiny layers
// (stories260K, attention projections of small models) run on the caller alone.
int threads_for(int64_t M, int64_t N, int64_t K) {
  const int64_t work = M * N * K;
  return work < (int64_t(1) << 17) ? 1 : 0;
}

}  // namespace

void QuantLinear::forward(const float* x, int64_t M, float* y, ThreadPool& pool) const {
  // Scratch of the calling thread; bound to a plain reference because a lambda that names a
  // thread_local directly would see each worker's own (empty) instance.
  thread_local Acts tl_acts;
  Acts& acts = tl_acts;
  const simd::Isa isa = simd::isa();
  if (M >= amx::kAmxMinRows && isa == simd::Isa::kAvx512 && amx::available()) {
    quantize_acts(spec, x, M, K, acts, pool, /*pad_rows=*/16);
    amx::PackedTiles w;
    w.base = base();
    w.n_tiles = n_tiles;
    w.n_groups = n_groups;
    w.tile_stride = tile_stride;
    w.sl = sl;
    w.G = spec.G;
    w.nib = spec.nib;
    w.planes = spec.planes;
    w.affine = spec.affine;
    w.zp = spec.zp;
    w.lut = spec.lut;
    amx::QuantActs qa;
    qa.q = acts.q.data();
    qa.da = acts.da.data();
    qa.sa = acts.sa.data();
    qa.K = K;
    qa.n_groups = acts.n_groups;
    pool.parallel_for(
        n_tiles, [&](int64_t t0, int64_t t1) { amx::quant_forward(w, qa, M, t0, t1, y, N); },
        threads_for(M, N, K), /*grain=*/2);
    return;
  }
  quantize_acts(spec, x, M, K, acts, pool);
#if LLMKIT_X86
  const PanelFn panel =
      isa == simd::Isa::kAvx512 && M >= kVnniPanelMinRows ? pick_panel_vnni(spec) : nullptr;
  if (panel) {
    pool.parallel_for(
        n_tiles, [&](int64_t t0, int64_t t1) { panel(*this, acts, M, t0, t1, y, N); },
        threads_for(M, N, K), /*grain=*/kPanelTiles);
    return;
  }
  if (isa == simd::Isa::kAvx2 && M >= kAvx2PanelMinRows) {
    pool.parallel_for(
        n_tiles, [&](int64_t t0, int64_t t1) { panel_avx2(*this, acts, M, t0, t1, y, N); },
        threads_for(M, N, K), /*grain=*/1);
    return;
  }
#endif
  constexpr int kMB = 4;
  const bool vnni = isa == simd::Isa::kAvx512;
  // Cache blocking for M > 1: a block of kTB tiles (128 rows; ~160 KB of Q4 weights at K=2048)
  // stays in L2 while every activation row streams past it, so weights come from DRAM once.
  constexpr int64_t kTB = 8;
  pool.parallel_for(
      n_tiles,
      [&](int64_t t0, int64_t t1) {
        for (int64_t tb = t0; tb < t1; tb += kTB) {
          const int64_t te = std::min(t1, tb + kTB);
          for (int64_t m0 = 0; m0 < M; m0 += kMB) {
            const int mb = int(std::min<int64_t>(kMB, M - m0));
#if LLMKIT_X86
            if (vnni) {
              TileFn pair = pick_tile(spec, mb, true), one = pick_tile(spec, mb, false);
              int64_t t = tb;
              if (mb == 1 && sl.chunked()) {
                TileFn m1 = pick_tile_m1(spec);
                for (; t < te; ++t) m1(*this, acts, t, m0, y, N);
              } else if (mb == 1) {  // decode: +3-6% tok/s over pairs (more loads in flight)
                TileFn quad = pick_tile_quad_m1(spec);
                for (; t + 4 <= te; t += 4) quad(*this, acts, t, m0, y, N);
              }
              for (; t + kNT <= te; t += kNT) pair(*this, acts, t, m0, y, N);
              for (; t < te; ++t) one(*this, acts, t, m0, y, N);
              continue;
            }
            if (isa == simd::Isa::kAvx2) {
              const TileFn fn = pick_tile_avx2(spec, mb);
              for (int64_t t = tb; t < te; ++t) fn(*this, acts, t, m0, y, N);
              continue;
            }
#endif
            for (int64_t t = tb; t < te; ++t) tile_portable(*this, acts, t, m0, mb, y, N);
          }
        }
      },
      threads_for(M, N, K), /*grain=*/2);
}

namespace {

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Word-at-a-time packing of one row for the most common legacy types (the model-load hot spot);
// produces exactly what the generic decode_block path below writes. False: use the generic path.
bool pack_row_fast(TensorType type, const uint8_t* row, int64_t K, const QuantLinear& L,
                   uint8_t* base, int64_t t, int64_t r) {
  const bool q80 = type == TensorType::Q8_0, q40 = type == TensorType::Q4_0,
             q41 = type == TensorType::Q4_1;
  if (!q80 && !q40 && !q41) return false;
  const int64_t bsz = q80 ? 34 : q40 ? 18 : 20;
  for (int64_t g = 0; g < K / 32; ++g) {
    const uint8_t* b = row + g * bsz;
    uint8_t* w = base + t * L.tile_stride + L.sl.codes_off(g);
    uint8_t* sc = base + t * L.tile_stride + L.sl.group_off(g);  // f16 scales
    std::memcpy(sc + 2 * r, b, 2);
    if (q80) {
      // codes = int8 + 128, four per 32-bit lane: chunk c holds k = 4c..4c+3.
      for (int c = 0; c < 8; ++c)
        store_u32(w + c * 64 + r * 4, load_u32(b + 2 + 4 * c) ^ 0x80808080u);
      continue;
    }
    if (q41) std::memcpy(sc + 2 * (kTile + r), b + 2, 2);
    const uint8_t* qs = b + (q41 ? 4 : 2);
    // Element j < 16 is the low nibble of qs[j], j >= 16 the high nibble of qs[j - 16]. Chunk c
    // byte bb: low nibble = element 8c+bb, high nibble = element 8c+4+bb.
    const uint32_t A = load_u32(qs), B = load_u32(qs + 4), C = load_u32(qs + 8),
                   D = load_u32(qs + 12), lo = 0x0F0F0F0Fu, hi = 0xF0F0F0F0u;
    store_u32(w + 0 * 64 + r * 4, (A & lo) | ((B & lo) << 4));
    store_u32(w + 1 * 64 + r * 4, (C & lo) | ((D & lo) << 4));
    store_u32(w + 2 * 64 + r * 4, ((A >> 4) & lo) | (B & hi));
    store_u32(w + 3 * 64 + r * 4, ((C >> 4) & lo) | (D & hi));
  }
  return true;
}

// The packed layout of an N x K matrix of TYPE (everything but the bytes), or nullptr when TYPE
// has no quantized kernel. The layout is a pure function of (type, K, N): a repack-cache entry
// is re-attached by recomputing it.
std::unique_ptr<QuantLinear> quant_layout(TensorType type, int64_t K, int64_t N) {
  QuantSpec sp;
  if (N <= 0 || !quant_spec(type, &sp)) return nullptr;
  auto L = std::make_unique<QuantLinear>();
  L->spec = sp;
  L->n_tiles = (N + kTile - 1) / kTile;
  L->n_groups = K / sp.G;
  L->wbytes_group = sp.nib ? sp.G / 2 * kTile + 2 * sp.G * sp.planes : sp.G * kTile;
  ScaleLayout& sl = L->sl;
  const bool kq = type == TensorType::Q2_K || type == TensorType::Q3_K ||
                  type == TensorType::Q4_K || type == TensorType::Q5_K || type == TensorType::Q6_K;
  sl.mode = kq ? ScaleMode::kKQuant : type == TensorType::MXFP4 ? ScaleMode::kF32 : ScaleMode::kF16;
  sl.affine = sp.affine;
  sl.sgroup = int64_t(kTile) *
              (sl.mode == ScaleMode::kF32   ? 4
               : sl.mode == ScaleMode::kF16 ? 2
                                            : 1) *
              (sp.affine ? 2 : 1);
  sl.wgroup = L->wbytes_group;
  sl.dgroup = kq ? int64_t(kTile) * 4 * (sp.affine ? 2 : 1) : 0;  // a multiple of 64
  while ((int64_t(1) << sl.gpb_log2) < 256 / sp.G) ++sl.gpb_log2;
  if (K <= kChunkedMaxK) {
    // Groups per chunk: a K-quant superblock (256 / G groups: 8 or 16), else as many groups as
    // make the scales a whole 64-byte line (f16 scales: 2; affine or f32: 1). Every region stays
    // a multiple of 64 bytes, so chunks and their scale loads stay aligned.
    const int64_t gpc = kq ? 256 / sp.G : std::max<int64_t>(1, 64 / sl.sgroup);
    while ((int64_t(1) << sl.gpc_log2) < gpc) ++sl.gpc_log2;
    sl.scales_base = gpc * sl.wgroup;
    sl.super_base = gpc * (sl.wgroup + sl.sgroup);
    sl.chunk_bytes = sl.super_base + sl.dgroup;
    L->tile_stride = (L->n_groups + gpc - 1) / gpc * sl.chunk_bytes;
  } else {
    sl.gpc_log2 = ScaleLayout::kSplitGpcLog2;  // one chunk: chunk_off() is 0 for every group
    sl.scales_base = L->n_groups * sl.wgroup;
    sl.super_base = sl.scales_base + (L->n_groups * sl.sgroup + 63) / 64 * 64;
    L->tile_stride = sl.super_base + (kq ? L->n_groups >> sl.gpb_log2 : 0) * sl.dgroup;
    sl.chunk_bytes = L->tile_stride;
  }
  L->wbytes = uint64_t(L->n_tiles * L->tile_stride);
  // The kernel family the CPU runs (fast_linear_isa() without a test cap).
  const int isa = simd::has_avx512_vnni() ? 2 : simd::has_avx2() ? 1 : 0;
  static const char* const kNames[3][5] = {
      {"portable-int8x16", "portable-int4x16", "portable-int4+1x16", "portable-int4+2x16",
       "portable-int4lut16"},
      {"avx2-int8x16", "avx2-int4x16", "avx2-int4+1x16", "avx2-int4+2x16", "avx2-int4lut16"},
      {"avx512vnni-int8x16", "avx512vnni-int4x16", "avx512vnni-int4+1x16", "avx512vnni-int4+2x16",
       "avx512vnni-int4lut16"}};
  L->kname = kNames[isa][sp.lut ? 4 : sp.nib ? 1 + sp.planes : 0];
  return L;
}

std::unique_ptr<PackedLinear::Impl> make_quant_linear(
    TensorType type, const std::vector<PackedLinear::RowBlock>& blocks, int64_t K,
    const PackedLinear::ReleaseFn& release) {
  int64_t N = 0;
  std::vector<int64_t> start{0};  // block b holds rows [start[b], start[b + 1])
  for (const auto& b : blocks) start.push_back(N += b.rows);
  auto L = quant_layout(type, K, N);
  if (!L) return nullptr;
  const QuantSpec sp = L->spec;
  const auto* tr = io::type_traits(type);
  const size_t total = size_t(L->wbytes);
  L->packed = WeightBuffer(total);
  uint8_t* base = L->packed.data();
  const uint64_t rb = row_bytes(type, K);
  const int bs = int(tr->block_size);
  const int gpb = bs / sp.G;  // groups per block
  QuantLinear& Lr = *L;
  // Rows of tiles [t0, t1): tiles are disjoint in the packed buffer, so threads can split them.
  auto pack_tiles = [&, base](int64_t t0, int64_t t1) {
    const int G = sp.G, P = sp.planes;
    const bool nib = sp.nib;
    std::vector<uint8_t> codes(static_cast<size_t>(bs));
    std::vector<float> s(static_cast<size_t>(gpb)), o(static_cast<size_t>(gpb));
    const int64_t n1 = std::min(N, t1 * kTile);
    // Source rows are handed back in chunks of ~1 MiB as soon as they are packed.
    const int64_t release_rows = std::max<int64_t>(1, int64_t((1u << 20) / rb));
    int64_t released = t0 * kTile;
    auto release_packed = [&](int64_t upto) {
      for (size_t b = 0; release && b < blocks.size(); ++b) {
        const int64_t lo = std::max(released, start[b]), hi = std::min(upto, start[b + 1]);
        if (hi > lo) release(blocks[b].data + uint64_t(lo - start[b]) * rb, uint64_t(hi - lo) * rb);
      }
      released = upto;
    };
    size_t cur = 0;  // the block of row n (rows only increase within a thread)
    for (int64_t n = t0 * kTile; n < n1; ++n) {
      if (n - released >= release_rows) release_packed(n);
      const int64_t t = n / kTile, r = n % kTile;
      while (n >= start[cur + 1]) ++cur;
      const uint8_t* row = blocks[cur].data + uint64_t(n - start[cur]) * rb;
      if (pack_row_fast(type, row, K, Lr, base, t, r)) continue;
      for (int64_t blk = 0; blk < K / bs; ++blk) {
        decode_block(type, row + blk * tr->type_size, codes.data(), s.data(), o.data());
        int8_t ksc[16] = {};
        uint8_t km[16] = {};
        float kd = 0.f, knd = 0.f;
        if (Lr.sl.mode == ScaleMode::kKQuant)
          kquant_block_ints(type, row + blk * tr->type_size, ksc, km, &kd, &knd);
        for (int gi = 0; gi < gpb; ++gi) {
          const int64_t g = blk * gpb + gi;
          uint8_t* w = base + t * Lr.tile_stride + Lr.sl.codes_off(g);
          const uint8_t* cg = codes.data() + gi * sp.G;
          if (nib) {
            uint8_t* planes = w + G / 2 * kTile;
            for (int c = 0; c < G / 8; ++c) {
              for (int bb = 0; bb < 4; ++bb)
                w[c * 64 + r * 4 + bb] =
                    uint8_t((cg[8 * c + bb] & 0xF) | ((cg[8 * c + 4 + bb] & 0xF) << 4));
              // Row r owns bits 4r..4r+3 of each plane mask: one nibble of byte r/2.
              for (int h = 0; h < 2; ++h)
                for (int pl = 0; pl < P; ++pl) {
                  unsigned bits = 0;
                  for (int bb = 0; bb < 4; ++bb)
                    bits |= unsigned((cg[8 * c + 4 * h + bb] >> (4 + pl)) & 1) << bb;
                  planes[8 * ((2 * c + h) * P + pl) + r / 2] |= uint8_t(bits << (4 * (r % 2)));
                }
            }
          } else {
            for (int k = 0; k < sp.G; ++k) w[(k / 4) * 64 + r * 4 + (k % 4)] = cg[k];
          }
          uint8_t* sc = base + t * Lr.tile_stride + Lr.sl.group_off(g);
          if (Lr.sl.mode == ScaleMode::kKQuant) {
            if (gi == 0) {  // the superblock's d and -dmin, once per block
              uint8_t* dp = base + t * Lr.tile_stride + Lr.sl.super_off(g);
              std::memcpy(dp + 4 * r, &kd, 4);
              if (sp.affine) std::memcpy(dp + 4 * (kTile + r), &knd, 4);
            }
            sc[r] = uint8_t(ksc[gi]);
            if (sp.affine) sc[kTile + r] = km[gi];
          } else if (Lr.sl.mode ==
                     ScaleMode::kF16) {  // exact: these types' scales come from f16 fields
            const uint16_t hs = f32_to_f16(s[size_t(gi)]), ho = f32_to_f16(o[size_t(gi)]);
            std::memcpy(sc + 2 * r, &hs, 2);
            if (sp.affine) std::memcpy(sc + 2 * (kTile + r), &ho, 2);
          } else {
            std::memcpy(sc + 4 * r, &s[size_t(gi)], 4);
            if (sp.affine) std::memcpy(sc + 4 * (kTile + r), &o[size_t(gi)], 4);
          }
        }
      }
    }
    release_packed(n1);
  };
  // Packing runs once at load; big matrices use a few short-lived threads (not per token).
  const int64_t n_tiles = L->n_tiles;
  int n_threads = int(std::min<unsigned>(8, std::max(1u, std::thread::hardware_concurrency())));
  if (N * K < (int64_t(1) << 20)) n_threads = 1;
  if (n_threads == 1) {
    pack_tiles(0, n_tiles);
  } else {
    std::vector<std::thread> th;
    for (int i = 0; i < n_threads; ++i)
      th.emplace_back(pack_tiles, n_tiles * i / n_threads, n_tiles * (i + 1) / n_threads);
    for (auto& x : th) x.join();
  }
  return L;
}

}  // namespace

void set_fast_linear_portable(bool on) noexcept {
  simd::set_max_isa(on ? simd::Isa::kPortable : simd::Isa::kAvx512);
}

std::unique_ptr<PackedLinear::Impl> make_float_linear(io::TensorType type, const uint8_t* data,
                                                      int64_t K, int64_t N);  // linear_float.cpp
std::unique_ptr<PackedLinear::Impl> float_linear_view(io::TensorType type, int64_t K, int64_t N,
                                                      WeightBuffer& bytes);  // linear_float.cpp

bool fast_linear_supports(io::TensorType type) noexcept {
  QuantSpec sp;
  return quant_spec(type, &sp) || type == TensorType::F32 || type == TensorType::F16 ||
         type == TensorType::BF16;
}

std::unique_ptr<PackedLinear::Impl> make_quant_linear_stacked(
    io::TensorType type, const std::vector<PackedLinear::RowBlock>& blocks, int64_t K,
    const PackedLinear::ReleaseFn& release) {
  return make_quant_linear(type, blocks, K, release);
}

std::unique_ptr<PackedLinear::Impl> make_fast_linear(io::TensorType type, const uint8_t* data,
                                                     int64_t K, int64_t N,
                                                     const PackedLinear::ReleaseFn& release) {
  if (auto q = make_quant_linear(type, {PackedLinear::RowBlock{data, N}}, K, release)) return q;
  return make_float_linear(type, data, K, N);
}

std::unique_ptr<PackedLinear::Impl> make_fast_linear_view(io::TensorType type, int64_t K, int64_t N,
                                                          WeightBuffer& bytes) {
  if (auto q = quant_layout(type, K, N)) {
    if (q->wbytes != bytes.size() || reinterpret_cast<uintptr_t>(bytes.data()) % 64 != 0)
      return nullptr;
    q->packed = std::move(bytes);
    return q;
  }
  return float_linear_view(type, K, N, bytes);
}

}  // namespace llmkit::ops
