// Attention kernels (see attention.hpp for the semantics and the parity bound).
#include "ops/attention.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/avx2_math.hpp"
#include "ops/avx512_math.hpp"
#include "ops/basic.hpp"
#include "ops/simd.hpp"

#if defined(__x86_64__)
// GCC 12 flags the undefined-vector idiom inside _mm512_cvtps_ph / _mm512_cvtph_ps as
// maybe-uninitialized once inlined here (a false positive in the intrinsic header).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define LLMKIT_X86 1
#endif

namespace llmkit::ops {

namespace {

#if LLMKIT_X86
// F16C and the scalar conversions round identically (tests/test_ops_basic.cpp).
__attribute__((target("f16c"))) float round_to_f16_hw(float x) {
  return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
#endif
inline float round_to_f16(float x) {
#if LLMKIT_X86
  if (simd::has_avx2()) return round_to_f16_hw(x);
#endif
  return f16_to_f32(f32_to_f16(x));
}

// Keys visible to the query at position POS: [lo, POS] as positions.
inline int32_t first_visible(const AttentionArgs& a, int32_t pos) {
  return a.window > 0 ? std::max<int32_t>(a.first, pos - a.window + 1) : a.first;
}

}  // namespace

void attention_reference(const AttentionArgs& a, ThreadPool& pool) {
  const int64_t group = a.H / a.Hkv;
  const int64_t n_tasks = a.M * a.H;
  pool.run_on_threads(
      [&](int t, int n_used) {
        thread_local std::vector<float> scores, qbuf;
        scores.resize(size_t(std::max<int64_t>(a.n_rows, 1)));
        qbuf.resize(size_t(a.hd));
        float* sc = scores.data();
        const int64_t b = n_tasks * t / n_used, e = n_tasks * (t + 1) / n_used;
        for (int64_t task = b; task < e; ++task) {
          const int64_t i = task / a.H, h = task % a.H, kvh = h / group;
          const int32_t pos = a.pos0 + int32_t(i);
          const int32_t j0 = first_visible(a, pos);
          const float* q = a.q + i * a.q_stride + h * a.hd;
          if (a.round_f16) {
            for (int64_t c = 0; c < a.hd; ++c) qbuf[size_t(c)] = round_to_f16(q[c]);
            q = qbuf.data();
          }
          // In-place f16 rows: ring row of key j0, advanced (and wrapped) with j — no division
          // per key.
          const int64_t r0 = a.k16 ? j0 % a.ring : 0;
          float mx = -INFINITY;
          for (int32_t j = j0, r = int32_t(r0); j <= pos; ++j, r = r + 1 == a.ring ? 0 : r + 1) {
            const float dot =
                a.k16
                    ? simd::dot_f32_f16(q, a.k16 + r * a.kv_stride + kvh * a.hd, a.hd)
                    : simd::dot_f32(q, a.k + int64_t(j - a.first) * a.kv_stride + kvh * a.hd, a.hd);
            const float v = dot * a.scale;
            sc[j - j0] = v;
            mx = std::max(mx, v);
          }
          double sum = 0;
          for (int32_t j = j0; j <= pos; ++j) {
            const float p = std::exp(sc[j - j0] - mx);
            sc[j - j0] = p;
            sum += p;
          }
          const float inv = static_cast<float>(1.0 / sum);
          float* out = a.out + i * a.out_stride + h * a.hd;
          std::fill(out, out + a.hd, 0.0f);
          for (int32_t j = j0, r = int32_t(r0); j <= pos; ++j, r = r + 1 == a.ring ? 0 : r + 1) {
            float p = sc[j - j0] * inv;
            if (a.round_f16) p = round_to_f16(p);
            if (a.v16)
              simd::axpy_f16(p, a.v16 + r * a.kv_stride + kvh * a.hd, out, a.hd);
            else
              simd::axpy_f32(p, a.v + int64_t(j - a.first) * a.kv_stride + kvh * a.hd, out, a.hd);
          }
        }
      },
      int(std::min<int64_t>(n_tasks, pool.n_threads())));
}

namespace {

constexpr int kQB = 16;  // queries per task = f32 lanes of a zmm

// Portable body of one task (also the semantics the AVX-512 body implements): head h, queries
// i0..i0+nq-1. st: scratch [n_keys][16].
void task_portable(const AttentionArgs& a, int64_t h, int64_t i0, int nq, float* st) {
  const int64_t kvh = h / (a.H / a.Hkv);
  const int32_t p_first = a.pos0 + int32_t(i0), p_last = p_first + nq - 1;
  const int32_t lo = first_visible(a, p_first);
  const int64_t n_keys = p_last - lo + 1;
  float qt[512][kQB];  // hd <= 512
  for (int c = 0; c < a.hd; ++c)
    for (int i = 0; i < kQB; ++i) {
      const float x = i < nq ? a.q[(i0 + i) * a.q_stride + h * a.hd + c] : 0.f;
      qt[c][i] = a.round_f16 ? round_to_f16(x) : x;
    }
  float mx[kQB];
  std::fill(mx, mx + kQB, -INFINITY);
  for (int64_t j = 0; j < n_keys; ++j) {
    const int32_t kp = lo + int32_t(j);
    const float* kr = a.k + int64_t(kp - a.first) * a.kv_stride + kvh * a.hd;
    float s[kQB] = {};
    for (int c = 0; c < a.hd; ++c)
      for (int i = 0; i < kQB; ++i) s[i] = std::fma(qt[c][i], kr[c], s[i]);
    for (int i = 0; i < kQB; ++i) {
      const int32_t p = p_first + i;
      const bool vis = i < nq && kp <= p && kp >= first_visible(a, p);
      st[j * kQB + i] = vis ? s[i] * a.scale : -INFINITY;
      if (vis) mx[i] = std::max(mx[i], st[j * kQB + i]);
    }
  }
  double sum[kQB] = {};
  for (int64_t j = 0; j < n_keys; ++j)
    for (int i = 0; i < kQB; ++i) {
      const float x = st[j * kQB + i];
      const float e = x == -INFINITY ? 0.f : std::exp(x - mx[i]);
      st[j * kQB + i] = e;
      sum[i] += e;
    }
  for (int i = 0; i < nq; ++i) {
    const float inv = static_cast<float>(1.0 / sum[i]);
    for (int64_t j = 0; j < n_keys; ++j) {
      float p = st[j * kQB + i] * inv;
      st[j * kQB + i] = a.round_f16 ? round_to_f16(p) : p;
    }
    float* out = a.out + (i0 + i) * a.out_stride + h * a.hd;
    std::fill(out, out + a.hd, 0.f);
    for (int64_t j = 0; j < n_keys; ++j) {
      const float p = st[j * kQB + i];
      if (p == 0.f) continue;
      const float* vr = a.v + int64_t(lo + j - a.first) * a.kv_stride + kvh * a.hd;
      for (int c = 0; c < a.hd; ++c) out[c] = std::fma(p, vr[c], out[c]);
    }
  }
}

#if LLMKIT_X86
#define ATT_512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))

ATT_512 inline __m512 round_f16_512(__m512 x) {
  return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// Scales the scores of key JJ (one per query lane), masks invisible (query, key) pairs to -inf,
// stores them to st[JJ][*] and returns the running per-query max.
ATT_512 inline __m512 finish_scores(int64_t jj, __m512 s, int32_t lo, __m512i qpos, __m512i qlo,
                                    __mmask16 live, __m512 scale, __m512 mx, float* st) {
  const __m512i kp = _mm512_set1_epi32(lo + int32_t(jj));
  const __mmask16 vis =
      _mm512_mask_cmple_epi32_mask(live, kp, qpos) & _mm512_cmpge_epi32_mask(kp, qlo);
  s = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), vis, _mm512_mul_ps(s, scale));
  _mm512_store_ps(st + jj * kQB, s);
  return _mm512_max_ps(mx, s);
}

// out[ii][16 cc + l] = sum_j p[j][ii] * v[j][16 cc + l] for NI queries (columns of the S^T block
// ST, stride kQB) and NC 16-wide column groups of V: the P·V of task_512. Compile-time sizes keep
// the NI x NC accumulators in registers.
template <int NI, int NC>
ATT_512 inline void pv_block(const float* st, const float* v, int64_t kv_stride, int64_t jend,
                             float* out, int64_t out_stride) {
  __m512 acc[NI][NC];
#pragma GCC unroll 4
  for (int ii = 0; ii < NI; ++ii)
#pragma GCC unroll 4
    for (int cc = 0; cc < NC; ++cc) acc[ii][cc] = _mm512_setzero_ps();
  for (int64_t j = 0; j < jend; ++j) {
    const float* vr = v + j * kv_stride;
    __m512 vv[NC];
#pragma GCC unroll 4
    for (int cc = 0; cc < NC; ++cc) vv[cc] = _mm512_loadu_ps(vr + 16 * cc);
#pragma GCC unroll 4
    for (int ii = 0; ii < NI; ++ii) {
      const __m512 p = _mm512_set1_ps(st[j * kQB + ii]);
#pragma GCC unroll 4
      for (int cc = 0; cc < NC; ++cc) acc[ii][cc] = _mm512_fmadd_ps(p, vv[cc], acc[ii][cc]);
    }
  }
#pragma GCC unroll 4
  for (int ii = 0; ii < NI; ++ii)
#pragma GCC unroll 4
    for (int cc = 0; cc < NC; ++cc) _mm512_storeu_ps(out + ii * out_stride + 16 * cc, acc[ii][cc]);
}

// pv_block for every (queries, column groups) in 1..4 x 1..4, indexed [ni - 1][nc - 1].
using PvFn = void (*)(const float*, const float*, int64_t, int64_t, float*, int64_t);
template <int NI>
constexpr std::array<PvFn, 4> pv_row = {pv_block<NI, 1>, pv_block<NI, 2>, pv_block<NI, 3>,
                                        pv_block<NI, 4>};
constexpr std::array<std::array<PvFn, 4>, 4> kPvBlock = {pv_row<1>, pv_row<2>, pv_row<3>,
                                                         pv_row<4>};

// QT[c][i] = Q[i * STRIDE + c] for the NQ <= 16 query rows of a block (rows past NQ read as 0),
// 16 columns at a time by an in-register 16 x 16 transpose. vgatherdps, which did this before, is
// slow on AMD Zen 4: task_512's share of a Gemma-3 (head_dim 256) pp512 profile went from 10.5 %
// to 9.8 % with the transpose (end-to-end tok/s within this host's noise).
ATT_512 void transpose_q_512(const float* q, int64_t stride, int nq, int hd, float (*qt)[kQB]) {
  for (int c0 = 0; c0 < hd; c0 += 16) {
    __m512 r[16], t[16], u[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      r[i] = i < nq ? _mm512_loadu_ps(q + i * stride + c0) : _mm512_setzero_ps();
      // Within each 128-bit lane: t[2p], t[2p+1] interleave rows 2p and 2p+1 (elements 0,1 / 2,3).
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
      t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    // u[4b + k]: lane L holds rows 4b..4b+3 of element 4L + k.
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) {
      u[4 * b + 0] = _mm512_shuffle_ps(t[4 * b], t[4 * b + 2], 0x44);
      u[4 * b + 1] = _mm512_shuffle_ps(t[4 * b], t[4 * b + 2], 0xEE);
      u[4 * b + 2] = _mm512_shuffle_ps(t[4 * b + 1], t[4 * b + 3], 0x44);
      u[4 * b + 3] = _mm512_shuffle_ps(t[4 * b + 1], t[4 * b + 3], 0xEE);
    }
    // Gather the four row quarters of columns k, k + 4, k + 8, k + 12.
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);       // cols k, k+8 (rows 0-7)
      const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);       // cols k+4, k+12
      const __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);  // rows 8-15
      const __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
      _mm512_store_ps(qt[c0 + k], _mm512_shuffle_f32x4(v0, v2, 0x88));
      _mm512_store_ps(qt[c0 + k + 8], _mm512_shuffle_f32x4(v0, v2, 0xDD));
      _mm512_store_ps(qt[c0 + k + 4], _mm512_shuffle_f32x4(v1, v3, 0x88));
      _mm512_store_ps(qt[c0 + k + 12], _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
  }
}

ATT_512 void task_512(const AttentionArgs& a, int64_t h, int64_t i0, int nq, float* st) {
  const int64_t kvh = h / (a.H / a.Hkv);
  const int32_t p_first = a.pos0 + int32_t(i0), p_last = p_first + nq - 1;
  const int32_t lo = first_visible(a, p_first);
  const int64_t n_keys = p_last - lo + 1;
  const int hd = int(a.hd);
  alignas(64) float qt[512][kQB];  // Q^T of the block: qt[c][i], lane i of row c = query i's c
  transpose_q_512(a.q + i0 * a.q_stride + h * a.hd, a.q_stride, nq, hd, qt);
  if (a.round_f16)
    for (int c = 0; c < hd; ++c) _mm512_store_ps(qt[c], round_f16_512(_mm512_load_ps(qt[c])));
  // Lane i holds query i: its position and first visible key.
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i qpos = _mm512_add_epi32(_mm512_set1_epi32(p_first), lane);
  const __mmask16 live = __mmask16((1u << nq) - 1);
  const __m512i qlo =
      a.window > 0 ? _mm512_max_epi32(_mm512_set1_epi32(a.first),
                                      _mm512_sub_epi32(qpos, _mm512_set1_epi32(a.window - 1)))
                   : _mm512_set1_epi32(a.first);
  const __m512 scale = _mm512_set1_ps(a.scale), ninf = _mm512_set1_ps(-INFINITY);
  __m512 mx = ninf;
  // S^T = K·Q^T, four keys at a time (independent FMA chains).
  const float* kbase = a.k + int64_t(lo - a.first) * a.kv_stride + kvh * a.hd;
  const int64_t ks = a.kv_stride;
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    const float *k0 = kbase + j * ks, *k1 = k0 + ks, *k2 = k1 + ks, *k3 = k2 + ks;
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
    for (int c = 0; c < hd; ++c) {
      const __m512 qc = _mm512_load_ps(qt[c]);
      s[0] = _mm512_fmadd_ps(qc, _mm512_set1_ps(k0[c]), s[0]);
      s[1] = _mm512_fmadd_ps(qc, _mm512_set1_ps(k1[c]), s[1]);
      s[2] = _mm512_fmadd_ps(qc, _mm512_set1_ps(k2[c]), s[2]);
      s[3] = _mm512_fmadd_ps(qc, _mm512_set1_ps(k3[c]), s[3]);
    }
    for (int u = 0; u < 4; ++u) mx = finish_scores(j + u, s[u], lo, qpos, qlo, live, scale, mx, st);
  }
  for (; j < n_keys; ++j) {
    const float* k0 = kbase + j * ks;
    __m512 s0 = _mm512_setzero_ps();
    for (int c = 0; c < hd; ++c)
      s0 = _mm512_fmadd_ps(_mm512_load_ps(qt[c]), _mm512_set1_ps(k0[c]), s0);
    mx = finish_scores(j, s0, lo, qpos, qlo, live, scale, mx, st);
  }
  // Softmax down the key axis, 16 queries at once; the sum in double like the reference.
  __m512d sum_lo = _mm512_setzero_pd(), sum_hi = _mm512_setzero_pd();
  for (j = 0; j < n_keys; ++j) {
    const __m512 s = _mm512_load_ps(st + j * kQB);
    const __mmask16 vis = _mm512_cmp_ps_mask(s, ninf, _CMP_NEQ_OQ);
    const __m512 e = _mm512_maskz_mov_ps(vis, simd::exp512(_mm512_sub_ps(s, mx)));
    _mm512_store_ps(st + j * kQB, e);
    sum_lo = _mm512_add_pd(sum_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    sum_hi = _mm512_add_pd(
        sum_hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512 inv =
      _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_div_pd(one, sum_lo))),
                         _mm512_cvtpd_ps(_mm512_div_pd(one, sum_hi)), 1);
  for (j = 0; j < n_keys; ++j) {
    __m512 p = _mm512_mul_ps(_mm512_load_ps(st + j * kQB), inv);
    if (a.round_f16) p = round_f16_512(p);
    _mm512_store_ps(st + j * kQB, p);
  }
  // O = P·V: per query, hd/16 accumulators; four queries share each V row load.
  for (int c0 = 0; c0 < hd; c0 += 64) {
    const int nc = std::min(4, (hd - c0) / 16);
    for (int ib = 0; ib < nq; ib += 4) {
      const int ni = std::min(4, nq - ib);
      // Keys past the last query of this group are masked for all of it.
      const int64_t jend = std::min<int64_t>(n_keys, p_first + ib + ni - lo);
      const float* vbase = a.v + int64_t(lo - a.first) * a.kv_stride + kvh * a.hd + c0;
      float* out = a.out + (i0 + ib) * a.out_stride + h * a.hd + c0;
      // Compile-time sizes keep every accumulator in a register (nc < 4 only when hd is not a
      // multiple of 64; ni < 4 for the last queries of a block).
      kPvBlock[ni - 1][nc - 1](st + ib, vbase, a.kv_stride, jend, out, a.out_stride);
    }
  }
}

// ---- AVX2 body (CPUs without AVX-512): task_512 with each 16-query row as two ymm halves ----
#define ATT_256 __attribute__((target("avx2,fma,f16c")))

ATT_256 inline __m256 round_f16_256(__m256 x) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// Per ymm half: lane l holds query 8·half + l.
struct QueryLanes256 {
  __m256i qpos[2], qlo[2], live[2];
};

// finish_scores for half HH of key JJ's scores.
ATT_256 inline __m256 finish_scores_256(int64_t jj, int hh, __m256 s, int32_t lo,
                                        const QueryLanes256& ql, __m256 scale, __m256 mx,
                                        float* st) {
  const __m256i kp = _mm256_set1_epi32(lo + int32_t(jj));
  const __m256i hidden =
      _mm256_or_si256(_mm256_cmpgt_epi32(kp, ql.qpos[hh]), _mm256_cmpgt_epi32(ql.qlo[hh], kp));
  const __m256 vis = _mm256_castsi256_ps(_mm256_andnot_si256(hidden, ql.live[hh]));
  s = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(s, scale), vis);
  _mm256_store_ps(st + jj * kQB + 8 * hh, s);
  return _mm256_max_ps(mx, s);
}

// pv_block with 8-wide column groups: NI queries x NC groups of 8 columns.
template <int NI, int NC>
ATT_256 inline void pv_block_256(const float* st, const float* v, int64_t kv_stride, int64_t jend,
                                 float* out, int64_t out_stride) {
  __m256 acc[NI][NC];
#pragma GCC unroll 4
  for (int ii = 0; ii < NI; ++ii)
#pragma GCC unroll 2
    for (int cc = 0; cc < NC; ++cc) acc[ii][cc] = _mm256_setzero_ps();
  for (int64_t j = 0; j < jend; ++j) {
    const float* vr = v + j * kv_stride;
    __m256 vv[NC];
#pragma GCC unroll 2
    for (int cc = 0; cc < NC; ++cc) vv[cc] = _mm256_loadu_ps(vr + 8 * cc);
#pragma GCC unroll 4
    for (int ii = 0; ii < NI; ++ii) {
      const __m256 p = _mm256_broadcast_ss(st + j * kQB + ii);
#pragma GCC unroll 2
      for (int cc = 0; cc < NC; ++cc) acc[ii][cc] = _mm256_fmadd_ps(p, vv[cc], acc[ii][cc]);
    }
  }
#pragma GCC unroll 4
  for (int ii = 0; ii < NI; ++ii)
#pragma GCC unroll 2
    for (int cc = 0; cc < NC; ++cc) _mm256_storeu_ps(out + ii * out_stride + 8 * cc, acc[ii][cc]);
}

template <int NI>
constexpr std::array<PvFn, 2> pv_row_256 = {pv_block_256<NI, 1>, pv_block_256<NI, 2>};
constexpr std::array<std::array<PvFn, 2>, 4> kPvBlock256 = {pv_row_256<1>, pv_row_256<2>,
                                                            pv_row_256<3>, pv_row_256<4>};

// Needs hd % 8 == 0.
ATT_256 void task_256(const AttentionArgs& a, int64_t h, int64_t i0, int nq, float* st) {
  const int64_t kvh = h / (a.H / a.Hkv);
  const int32_t p_first = a.pos0 + int32_t(i0), p_last = p_first + nq - 1;
  const int32_t lo = first_visible(a, p_first);
  const int64_t n_keys = p_last - lo + 1;
  const int hd = int(a.hd);
  alignas(32) float qt[512][kQB];  // Q^T of the block: qt[c][i]
  const float* qbase = a.q + i0 * a.q_stride + h * a.hd;
  for (int c = 0; c < hd; ++c)
    for (int i = 0; i < kQB; ++i) qt[c][i] = i < nq ? qbase[i * a.q_stride + c] : 0.f;
  if (a.round_f16)
    for (int c = 0; c < hd; ++c)
      for (int hh = 0; hh < 2; ++hh)
        _mm256_store_ps(qt[c] + 8 * hh, round_f16_256(_mm256_load_ps(qt[c] + 8 * hh)));
  QueryLanes256 ql;
  for (int hh = 0; hh < 2; ++hh) {
    const __m256i lane =
        _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * hh));
    ql.qpos[hh] = _mm256_add_epi32(_mm256_set1_epi32(p_first), lane);
    ql.live[hh] = _mm256_cmpgt_epi32(_mm256_set1_epi32(nq), lane);
    ql.qlo[hh] = a.window > 0 ? _mm256_max_epi32(
                                    _mm256_set1_epi32(a.first),
                                    _mm256_sub_epi32(ql.qpos[hh], _mm256_set1_epi32(a.window - 1)))
                              : _mm256_set1_epi32(a.first);
  }
  const __m256 scale = _mm256_set1_ps(a.scale), ninf = _mm256_set1_ps(-INFINITY);
  __m256 mx[2] = {ninf, ninf};
  // S^T = K·Q^T, four keys at a time (independent FMA chains).
  const float* kbase = a.k + int64_t(lo - a.first) * a.kv_stride + kvh * a.hd;
  const int64_t ks = a.kv_stride;
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    const float* k0 = kbase + j * ks;
    __m256 s[4][2];
    for (int u = 0; u < 4; ++u) s[u][0] = s[u][1] = _mm256_setzero_ps();
    for (int c = 0; c < hd; ++c) {
      const __m256 q0 = _mm256_load_ps(qt[c]), q1 = _mm256_load_ps(qt[c] + 8);
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        const __m256 kc = _mm256_broadcast_ss(k0 + u * ks + c);
        s[u][0] = _mm256_fmadd_ps(q0, kc, s[u][0]);
        s[u][1] = _mm256_fmadd_ps(q1, kc, s[u][1]);
      }
    }
    for (int u = 0; u < 4; ++u)
      for (int hh = 0; hh < 2; ++hh)
        mx[hh] = finish_scores_256(j + u, hh, s[u][hh], lo, ql, scale, mx[hh], st);
  }
  for (; j < n_keys; ++j) {
    const float* k0 = kbase + j * ks;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int c = 0; c < hd; ++c) {
      const __m256 kc = _mm256_broadcast_ss(k0 + c);
      s0 = _mm256_fmadd_ps(_mm256_load_ps(qt[c]), kc, s0);
      s1 = _mm256_fmadd_ps(_mm256_load_ps(qt[c] + 8), kc, s1);
    }
    mx[0] = finish_scores_256(j, 0, s0, lo, ql, scale, mx[0], st);
    mx[1] = finish_scores_256(j, 1, s1, lo, ql, scale, mx[1], st);
  }
  // Softmax down the key axis, 16 queries at once; the sum in double like the reference.
  __m256d sum[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  for (j = 0; j < n_keys; ++j)
    for (int hh = 0; hh < 2; ++hh) {
      const __m256 s = _mm256_load_ps(st + j * kQB + 8 * hh);
      const __m256 vis = _mm256_cmp_ps(s, ninf, _CMP_NEQ_OQ);
      const __m256 e = _mm256_and_ps(vis, simd::exp256(_mm256_sub_ps(s, mx[hh])));
      _mm256_store_ps(st + j * kQB + 8 * hh, e);
      sum[2 * hh] = _mm256_add_pd(sum[2 * hh], _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
      sum[2 * hh + 1] =
          _mm256_add_pd(sum[2 * hh + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
  const __m256d one = _mm256_set1_pd(1.0);
  __m256 inv[2];
  for (int hh = 0; hh < 2; ++hh)
    inv[hh] = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_div_pd(one, sum[2 * hh + 1])),
                              _mm256_cvtpd_ps(_mm256_div_pd(one, sum[2 * hh])));
  for (j = 0; j < n_keys; ++j)
    for (int hh = 0; hh < 2; ++hh) {
      __m256 p = _mm256_mul_ps(_mm256_load_ps(st + j * kQB + 8 * hh), inv[hh]);
      if (a.round_f16) p = round_f16_256(p);
      _mm256_store_ps(st + j * kQB + 8 * hh, p);
    }
  // O = P·V: four queries share each V row load.
  for (int c0 = 0; c0 < hd; c0 += 16) {
    const int nc = std::min(2, (hd - c0) / 8);
    for (int ib = 0; ib < nq; ib += 4) {
      const int ni = std::min(4, nq - ib);
      const int64_t jend = std::min<int64_t>(n_keys, p_first + ib + ni - lo);
      const float* vbase = a.v + int64_t(lo - a.first) * a.kv_stride + kvh * a.hd + c0;
      float* out = a.out + (i0 + ib) * a.out_stride + h * a.hd + c0;
      kPvBlock256[ni - 1][nc - 1](st + ib, vbase, a.kv_stride, jend, out, a.out_stride);
    }
  }
}
#endif

}  // namespace

void attention_batched(const AttentionArgs& a, ThreadPool& pool) {
#if LLMKIT_X86
  const simd::Isa isa = simd::isa();
  const bool v512 = isa == simd::Isa::kAvx512 && a.hd % 16 == 0 && a.hd <= 512;
  const bool v256 = isa == simd::Isa::kAvx2 && a.hd % 8 == 0 && a.hd <= 512;
#endif
  if (a.hd > 512) {
    attention_reference(a, pool);
    return;
  }
  const int64_t n_blocks = (a.M + kQB - 1) / kQB;
  const int64_t n_tasks = n_blocks * a.H;
  // Causal blocks grow with their position: tasks are dealt round-robin so threads get equal work.
  pool.run_on_threads(
      [&](int t, int n_used) {
        thread_local std::vector<float> st_buf;
        const size_t need = size_t(a.n_rows + kQB) * kQB + 16;
        if (st_buf.size() < need) st_buf.assign(need, 0.f);
        float* st = st_buf.data() + (16 - reinterpret_cast<uintptr_t>(st_buf.data()) / 4 % 16) % 16;
        for (int64_t task = t; task < n_tasks; task += n_used) {
          // Heads vary fastest: neighbouring tasks share K/V rows of the same KV head.
          const int64_t blk = task / a.H, h = task % a.H;
          const int64_t i0 = blk * kQB;
          const int nq = int(std::min<int64_t>(kQB, a.M - i0));
#if LLMKIT_X86
          if (v512) {
            task_512(a, h, i0, nq, st);
            continue;
          }
          if (v256) {
            task_256(a, h, i0, nq, st);
            continue;
          }
#endif
          task_portable(a, h, i0, nq, st);
        }
      },
      int(std::min<int64_t>(n_tasks, pool.n_threads())));
}

}  // namespace llmkit::ops
