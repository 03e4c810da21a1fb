// AMX int8 kernels for the group-quantized linear layers (see linear_amx.hpp for why).
//
// Per tile pair (32 output rows of W) and per block of 16 activation rows, for each weight group
// g (G = 32 or 16 consecutive k):
//   A  (tmm0)      = int8 activation codes  [16 rows, G bytes]        straight from QuantActs::q
//   B  (tmm2,tmm3) = int8 weight codes      [G/4 rows, 16 cols x 4 k] unpacked once per tile
//   C  (tmm4,tmm5) = int32 dot products     [16 rows, 16 cols]        tdpbssd, then stored and
// rescaled with AVX-512 exactly like tile_vnni(): acc = fma(float(I), s*da, acc) (+ fma(o, sa)).
// The B codes are stored signed (code - zp for symmetric types) so that I equals the VNNI
// kernel's I - zp*Σa bit for bit; affine types keep their unsigned codes (all < 64).
#include "ops/linear_amx.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
// GCC 12 flags the undefined-vector idiom inside _mm512_cvtph_ps as maybe-uninitialized once it is
// inlined into the AMX pipeline (a false positive in the intrinsic header, not in this code).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define LLMKIT_AMX 1
#endif

namespace llmkit::ops::amx {

namespace {
std::atomic<bool> g_disabled{false};
}

void set_disabled(bool off) noexcept { g_disabled = off; }

#if LLMKIT_AMX

namespace {

constexpr int kTile = 16;

bool probe() noexcept {
  if (const char* e = std::getenv("LLMKIT_DISABLE_AMX"); e && *e && std::strcmp(e, "0") != 0)
    return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1;
  const bool avx512 = ((b >> 16) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);  // F, BW, VL
  if (!amx_tile || !amx_int8 || !avx512) return false;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return false;  // OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if (((lo >> 17) & 3) != 3) return false;  // XTILECFG + XTILEDATA enabled by the OS
  // Linux >= 5.16: a process must ask for the (large) tile state before using it.
  constexpr long kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatXtiledata) != 0) return false;
  unsigned long bitmask = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &bitmask) != 0) return false;
  return (bitmask >> kXfeatXtiledata) & 1;
}

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

#define AMX_FN __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq,fma")))

AMX_FN void configure(int G) {
  TileConfig cfg;
  for (int t : {0, 1}) {  // A: 16 activation rows x G bytes
    cfg.rows[t] = kTile;
    cfg.colsb[t] = uint16_t(G);
  }
  for (int b : {2, 3}) {  // B: G/4 rows x 64 bytes
    cfg.rows[b] = uint8_t(G / 4);
    cfg.colsb[b] = 64;
  }
  for (int c : {4, 5, 6, 7}) {  // C: 16 x 16 int32
    cfg.rows[c] = kTile;
    cfg.colsb[c] = 64;
  }
  // Not _tile_loadconfig: its asm tells the compiler only 8 bytes of CFG are read.
  __asm__ volatile("ldtilecfg (%0)" ::"r"(&cfg) : "memory");
}

// Tile T of W -> dst[g][G/4][64] signed int8 (the B operand of every group).
AMX_FN void unpack_tile(const PackedTiles& w, int64_t t, int8_t* dst) {
  const int G = w.G, P = w.planes;
  const int64_t nib_bytes = G / 2 * kTile;
  const __m512i low4 = _mm512_set1_epi8(0x0F), c16 = _mm512_set1_epi8(16),
                c32 = _mm512_set1_epi8(32), x80 = _mm512_set1_epi8(char(0x80));
  const __m512i zp = _mm512_set1_epi8(char(w.affine ? 0 : w.zp));
  __m512i lutv = _mm512_setzero_si512();
  if (w.lut)
    lutv = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.lut)));
  const uint8_t* tile = w.base + t * w.tile_stride;
  for (int64_t g = 0; g < w.n_groups; ++g, dst += G * kTile) {
    const uint8_t* src = tile + w.sl.codes_off(g);
    if (!w.nib) {  // one byte per code (Q8_0: code = v + 128)
      for (int c = 0; c < G / 4; ++c)
        _mm512_store_si512(dst + 64 * c, _mm512_xor_si512(_mm512_load_si512(src + 64 * c), x80));
      continue;
    }
    for (int c = 0; c < G / 8; ++c) {
      const __m512i v = _mm512_load_si512(src + 64 * c);
      __m512i lo = _mm512_and_si512(v, low4);
      __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      if (w.lut) {
        lo = _mm512_shuffle_epi8(lutv, lo);
        hi = _mm512_shuffle_epi8(lutv, hi);
      }
      if (P >= 1) {
        const uint64_t* m = reinterpret_cast<const uint64_t*>(src + nib_bytes) + 2 * c * P;
        lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(m[0]), lo, c16);
        hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(m[P]), hi, c16);
        if (P >= 2) {
          lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(m[1]), lo, c32);
          hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(m[P + 1]), hi, c32);
        }
      }
      _mm512_store_si512(dst + 64 * (2 * c), _mm512_sub_epi8(lo, zp));
      _mm512_store_si512(dst + 64 * (2 * c + 1), _mm512_sub_epi8(hi, zp));
    }
  }
}

struct Scratch {
  std::vector<int8_t> b;  // one tile of unpacked B, 64-byte aligned at b_off
  size_t b_off = 0;
  int8_t* bptr(size_t bytes) {
    if (b.size() < bytes + 64) {
      b.assign(bytes + 64, 0);
      b_off = (64 - reinterpret_cast<uintptr_t>(b.data()) % 64) % 64;
    }
    return b.data() + b_off;
  }
};

// acc[i] += float(C[i]) * (s * da[i][g]) (+ o * sa[i][g]): tile_vnni()'s float operations.
template <bool AFF>
AMX_FN __attribute__((always_inline)) inline void rescale16(__m512* acc, const int32_t (*c)[kTile],
                                                            const PackedTiles& w,
                                                            const uint8_t* tile, const float* da,
                                                            const float* sa, int64_t ng,
                                                            int64_t g) {
  __m512 s, o = _mm512_setzero_ps();
  load_scales_512(w.sl, tile, g, s, o);
#pragma GCC unroll 16
  for (int i = 0; i < kTile; ++i) {
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c[i])),
                             _mm512_mul_ps(s, _mm512_set1_ps(da[i * ng + g])), acc[i]);
    if constexpr (AFF) acc[i] = _mm512_fmadd_ps(o, _mm512_set1_ps(sa[i * ng + g]), acc[i]);
  }
}

// One tile T (16 output rows of W) x activation rows m0..m0+15 (rows >= M are zero padding;
// only the first MR are stored). Four C tiles rotate between groups so the tile unit works ahead
// while AVX-512 rescales; the 16 float accumulators stay in registers.
template <bool AFF>
AMX_FN void block(const PackedTiles& w, const QuantActs& a, const int8_t* bt, int64_t t, int64_t m0,
                  int mr, float* y, int64_t N) {
  alignas(64) int32_t cbuf[4][kTile][kTile];
  __m512 acc[kTile];
#pragma GCC unroll 16
  for (int i = 0; i < kTile; ++i) acc[i] = _mm512_setzero_ps();
  const int G = w.G;
  const int64_t ng = w.n_groups;
  const int8_t* aq = a.q + m0 * a.K;
  const float* da = a.da + m0 * ng;
  const float* sa = a.sa + m0 * ng;
  const uint8_t* wt = w.base + t * w.tile_stride;  // the tile (chunks of codes and scales)
  // The 16 output lines this block writes, fetched for writing now: a wide y (e.g. 512 x 4864
  // floats) is not cache-resident, and 16 store misses at the end of the block stall the loop.
  for (int i = 0; i < mr; ++i)
    _mm_prefetch(reinterpret_cast<const char*>(y + (m0 + i) * N + t * kTile), _MM_HINT_ET0);
    // Software pipeline over groups: in step g the tile unit starts group g (C tiles 4..7 by g % 4,
    // A/B tiles by parity), the product of group g-2 is stored (two steps after its TDPBSSD was
    // issued, which covers the op's latency) and AVX-512 rescales group g-3.
#define LLMKIT_AMX_ISSUE(TA, TB, TC)         \
  do {                                       \
    _tile_loadd(TA, aq + g * G, a.K);        \
    _tile_loadd(TB, bt + g * G * kTile, 64); \
    _tile_zero(TC);                          \
    _tile_dpbssd(TC, TA, TB);                \
  } while (0)
  for (int64_t g = 0; g < ng + 3; ++g) {
    if (g < ng) {
      switch (g & 3) {
        case 0:
          LLMKIT_AMX_ISSUE(0, 2, 4);
          break;
        case 1:
          LLMKIT_AMX_ISSUE(1, 3, 5);
          break;
        case 2:
          LLMKIT_AMX_ISSUE(0, 2, 6);
          break;
        default:
          LLMKIT_AMX_ISSUE(1, 3, 7);
          break;
      }
    }
    const int64_t gs = g - 2;  // the group whose product is stored now
    if (gs >= 0 && gs < ng) {
      switch (gs & 3) {
        case 0:
          _tile_stored(4, cbuf[0], 64);
          break;
        case 1:
          _tile_stored(5, cbuf[1], 64);
          break;
        case 2:
          _tile_stored(6, cbuf[2], 64);
          break;
        default:
          _tile_stored(7, cbuf[3], 64);
          break;
      }
    }
    if (g >= 3) rescale16<AFF>(acc, cbuf[(g - 3) & 3], w, wt, da, sa, ng, g - 3);
  }
#undef LLMKIT_AMX_ISSUE
  const int64_t n0 = t * kTile;
  const __mmask16 mask = n0 + kTile <= N ? __mmask16(0xFFFF) : __mmask16((1u << (N - n0)) - 1);
#pragma GCC unroll 16
  for (int i = 0; i < kTile; ++i)
    if (i < mr) _mm512_mask_storeu_ps(y + (m0 + i) * N + n0, mask, acc[i]);
}

}  // namespace

bool available() noexcept {
  static const bool ok = probe();
  return ok && !g_disabled;
}

AMX_FN void quant_forward(const PackedTiles& w, const QuantActs& a, int64_t M, int64_t t0,
                          int64_t t1, float* y, int64_t N) {
  thread_local Scratch scratch;
  const int64_t tile_bytes = w.n_groups * w.G * kTile;
  // Tiles unpacked together (<= ~256 KiB of B, L2-resident): every 16-row activation block is
  // used by all of them while it sits in L1, and the y stores of a block cover TC * 64 contiguous
  // bytes per row instead of 64 (with one tile at a time, a wide y, e.g. 512 x 4864 floats,
  // touched a new page per row per tile and missed the TLB on most stores).
  const int64_t tc =
      std::clamp<int64_t>((int64_t(256) << 10) / std::max<int64_t>(tile_bytes, 1), 1, 8);
  int8_t* bt = scratch.bptr(size_t(tile_bytes * tc));
  // Rows per pass over the tiles: the activation block (Mc x K bytes) stays in L2 while the
  // weight tiles stream past it; each tile is unpacked once per pass.
  const int64_t mc =
      std::clamp<int64_t>((int64_t(512) << 10) / std::max<int64_t>(a.K, 1) / 16 * 16, 32, 256);
  configure(w.G);
  for (int64_t mc0 = 0; mc0 < M; mc0 += mc) {
    const int64_t mc1 = std::min(M, mc0 + mc);
    for (int64_t tg = t0; tg < t1; tg += tc) {
      const int64_t tg1 = std::min(t1, tg + tc);
      for (int64_t t = tg; t < tg1; ++t) unpack_tile(w, t, bt + (t - tg) * tile_bytes);
      __asm__ volatile(
          "" ::
              : "memory");  // tileloadd reads bt through a pointer the compiler cannot see
      for (int64_t m0 = mc0; m0 < mc1; m0 += kTile) {
        const int mr = int(std::min<int64_t>(kTile, mc1 - m0));
        for (int64_t t = tg; t < tg1; ++t) {
          const int8_t* b = bt + (t - tg) * tile_bytes;
          w.affine ? block<true>(w, a, b, t, m0, mr, y, N) : block<false>(w, a, b, t, m0, mr, y, N);
        }
      }
    }
  }
  _tile_release();
}

#else  // no AMX on this platform

bool available() noexcept { return false; }
void quant_forward(const PackedTiles&, const QuantActs&, int64_t, int64_t, int64_t, float*,
                   int64_t) {}

#endif

}  // namespace llmkit::ops::amx
