// Internal: how the fast quantized kernels store per-group scales s and offsets o inside a packed
// tile (see linear_fast.cpp for the whole layout), and one loader the VNNI, AMX and portable
// kernels share so the three read the same values.
//
// Every mode reproduces dequantize_row()'s float scales exactly:
//  - kF16: s (and o) stored as f16 — the types whose file scales are f16 (Q4_0, Q4_1, Q5_0,
//    Q5_1, Q8_0, IQ4_NL); 2 bytes per row and group.
//  - kKQuant: per group an int8 sub-scale sc (and a uint8 sub-min m), per 256-superblock an f32
//    d (and nd = -dmin) per row; s = d·sc and o = nd·m are computed in the kernel. Exact:
//    d has 11 significant bits, sc and m at most 8, so the f32 product is the one dequantization
//    computes (and -(dmin·m) == (-dmin)·m). Q2_K..Q6_K: 1-2 bytes per row and group instead of 4-8.
//  - kF32: s (and o) stored as f32 (MXFP4: 2^e exceeds f16's range).
// Regions: a tile's groups are stored in chunks of gpc = 2^gpc_log2 consecutive groups: the
// chunk's codes (wgroup bytes per group), then its per-group region (sgroup bytes per group), then
// (kKQuant) its per-superblock region (dgroup bytes per superblock). Two layouts use this:
//  - chunked (short rows, K <= kChunkedMaxK in linear_fast.cpp): a chunk is a few groups (a K-quant
//    superblock, or enough groups for a 64-byte line of scales), so decode reads a tile front to
//    back as one stream;
//  - split: the whole tile is one chunk, all codes, then all scales, then all superblock values.
#pragma once

#include <cstdint>
#include <cstring>

#include "ops/basic.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace llmkit::ops {

enum class ScaleMode : uint8_t { kF32, kF16, kKQuant };

struct ScaleLayout {
  ScaleMode mode = ScaleMode::kF32;
  bool affine = false;
  int64_t wgroup = 0;  // code (+ bit plane) bytes per group, a multiple of 64
  int64_t sgroup = 0;  // per-group region bytes per group
  int64_t dgroup = 0;  // per-superblock region bytes (kKQuant), a multiple of 64
  static constexpr int kSplitGpcLog2 = 40;  // gpc_log2 of the split layout: one chunk per tile
  int gpc_log2 = 0;                         // log2 of groups per chunk
  int gpb_log2 = 0;                         // log2 of groups per superblock (kKQuant)
  int64_t chunk_bytes = 0;                  // a multiple of 64
  int64_t scales_base = 0;                  // chunk start -> per-group region
  int64_t super_base = 0;                   // chunk start -> per-superblock region

  bool chunked() const { return gpc_log2 < kSplitGpcLog2; }
  int64_t gpc() const { return int64_t(1) << gpc_log2; }
  int64_t chunk_off(int64_t g) const { return (g >> gpc_log2) * chunk_bytes; }
  int64_t sub(int64_t g) const { return g & (gpc() - 1); }
  // Byte offsets from the tile's start.
  int64_t codes_off(int64_t g) const { return chunk_off(g) + sub(g) * wgroup; }
  int64_t group_off(int64_t g) const { return chunk_off(g) + scales_base + sub(g) * sgroup; }
  int64_t super_off(int64_t g) const {
    return chunk_off(g) + super_base + (sub(g) >> gpb_log2) * dgroup;
  }
  const uint8_t* group_ptr(const uint8_t* tile, int64_t g) const { return tile + group_off(g); }
  const uint8_t* super_ptr(const uint8_t* tile, int64_t g) const { return tile + super_off(g); }

  // Walks the code regions of a tile's groups in order (a few adds per group, no multiplies).
  struct CodesCursor {
    const uint8_t* p;
    int64_t wgroup, skip, gpc, left;
    void next() {
      p += wgroup;
      if (--left == 0) {
        p += skip;
        left = gpc;
      }
    }
  };
  CodesCursor codes_cursor(const uint8_t* tile) const {
    return {tile, wgroup, chunk_bytes - (wgroup << gpc_log2), gpc(), gpc()};
  }

  // Scale (j = 0) or offset (j = 1) of row r of group g, as f32.
  float value(const uint8_t* tile, int64_t g, int j, int r) const {
    const uint8_t* p = group_ptr(tile, g);
    switch (mode) {
      case ScaleMode::kF16: {
        uint16_t h;
        std::memcpy(&h, p + 2 * (j * 16 + r), 2);
        return f16_to_f32(h);
      }
      case ScaleMode::kKQuant: {
        float d;
        std::memcpy(&d, super_ptr(tile, g) + 4 * (j * 16 + r), 4);
        const float q = j == 0 ? float(int8_t(p[r])) : float(p[16 + r]);
        return d * q;
      }
      default: {
        float f;
        std::memcpy(&f, p + 4 * (j * 16 + r), 4);
        return f;
      }
    }
  }
};

#if defined(__x86_64__)
// The 16 scales (s) and, for affine types, offsets (o) of group G of the tile at TILE.
__attribute__((target("avx512f"), always_inline)) inline void load_scales_512(const ScaleLayout& L,
                                                                              const uint8_t* tile,
                                                                              int64_t g, __m512& s,
                                                                              __m512& o) {
  const uint8_t* p = L.group_ptr(tile, g);
  if (L.mode == ScaleMode::kF16) {
    s = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
    if (L.affine) o = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p + 32)));
  } else if (L.mode == ScaleMode::kKQuant) {
    const float* d = reinterpret_cast<const float*>(L.super_ptr(tile, g));
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    s = _mm512_mul_ps(_mm512_load_ps(d), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc)));
    if (L.affine) {
      const __m128i m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
      o = _mm512_mul_ps(_mm512_load_ps(d + 16), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(m)));
    }
  } else {
    s = _mm512_load_ps(reinterpret_cast<const float*>(p));
    if (L.affine) o = _mm512_load_ps(reinterpret_cast<const float*>(p) + 16);
  }
}
#endif

}  // namespace llmkit::ops
