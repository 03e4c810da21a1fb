// Internal to src/ops: the packed group-quantized linear layer (QuantLinear) and the pieces its
// kernels share. linear_fast.cpp packs the weights and holds the portable and AVX-512 kernels;
// linear_avx2.cpp holds the AVX2 kernels (CPUs without AVX-512). The packed layout is described
// at the top of linear_fast.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/linear_impl.hpp"
#include "ops/packed_scales.hpp"
#include "ops/weight_buffer.hpp"

namespace llmkit::ops::quant {

constexpr int kTile = 16;  // rows per tile = int32 lanes of a zmm (two ymm halves on AVX2)

enum class ActQ { kQ8_0, kQ8_1, kQ8_K };

// Quantized activations for M rows, in weight-group granularity (G elements per group).
struct Acts {
  int64_t K = 0, n_groups = 0;
  std::vector<int8_t> q;      // [M, K]
  std::vector<float> da;      // [M, n_groups] activation scale of the group
  std::vector<int32_t> corr;  // [M, n_groups] zp * Σa over the group (symmetric types)
  std::vector<float> sa;      // [M, n_groups] da * Σa (affine types; Q8_1: rounded to f16)
};

// The first element of X[0..n) whose |x| is AMAX, with its sign: Q8_K's scale is -127 over it
// (ggml's quantize_row_q8_K picks the first largest magnitude). Shared by the SIMD quantizers.
inline float first_with_abs(const float* x, int n, float amax) {
  for (int j = 0; j < n; ++j)
    if (x[j] == amax || x[j] == -amax) return x[j];
  return 0.f;
}

struct QuantSpec {
  int G;                         // group size (32 or 16)
  bool nib;                      // nibble storage (else 8-bit codes)
  int planes;                    // extra bit planes above the nibble (0..2)
  bool affine;                   // w = s*code + o (else s*(code - zp))
  int zp;                        // zero point (symmetric)
  ActQ act;                      // activation quantization
  const uint8_t* lut = nullptr;  // non-linear 4-bit types: code = lut[nibble] (IQ4_NL, MXFP4)
};

struct QuantLinear final : PackedLinear::Impl {
  QuantSpec spec{};
  int64_t n_tiles = 0, n_groups = 0;
  int64_t wbytes_group = 0;  // code (+ bit plane) bytes per group
  ScaleLayout sl;            // where and how the scales are stored (ops/packed_scales.hpp)
  int64_t tile_stride = 0;
  WeightBuffer packed;  // 64-byte aligned, huge pages when large
  const char* kname = "";

  const uint8_t* base() const { return packed.data(); }
  const uint8_t* tile(int64_t t) const { return base() + t * tile_stride; }
  const uint8_t* codes(int64_t t, int64_t g) const { return tile(t) + sl.codes_off(g); }
  // Scale (j = 0) or offset (j = 1) of row r of group (t, g), as f32.
  float scale_at(int64_t t, int64_t g, int j, int r) const { return sl.value(tile(t), g, j, r); }

  void forward(const float* x, int64_t M, float* y, ThreadPool& pool) const override;
  const char* name() const noexcept override { return kname; }
  const WeightBuffer* storage() const noexcept override { return &packed; }
};

// One kernel call: tile T (16 output rows) against activation rows M0.. (how many is the
// kernel's), writing y [M, N].
using TileFn = void (*)(const QuantLinear&, const Acts&, int64_t t, int64_t m0, float* y,
                        int64_t N);

// Calls KERNEL.operator()<NIB, PL, AFF, G, LUT>() with the kernel template arguments of SP's
// storage: one place maps a QuantSpec to them.
template <class F>
auto dispatch_spec(const QuantSpec& sp, F&& kernel)
    -> decltype(kernel.template operator()<false, 0, false, 32, false>()) {
  if (!sp.nib) return kernel.template operator()<false, 0, false, 32, false>();  // Q8_0
  if (sp.lut) return kernel.template operator()<true, 0, false, 32, true>();     // IQ4_NL, MXFP4
  if (sp.G == 32) {
    if (sp.planes == 0)
      return sp.affine ? kernel.template operator()<true, 0, true, 32, false>()
                       : kernel.template operator()<true, 0, false, 32, false>();
    return sp.affine ? kernel.template operator()<true, 1, true, 32, false>()
                     : kernel.template operator()<true, 1, false, 32, false>();
  }
  if (sp.planes == 2) return kernel.template operator()<true, 2, false, 16, false>();  // Q6_K
  return sp.affine ? kernel.template operator()<true, 0, true, 16, false>()
                   : kernel.template operator()<true, 0, false, 16, false>();
}

// AVX2 + FMA + F16C kernels (linear_avx2.cpp), for CPUs without AVX-512 VNNI. Bit-identical to
// the portable and AVX-512 kernels: the same exact integer group sums, then the same float
// operations in the same order.
//   MB activation rows (1..4) against one tile, codes unpacked from the tile as they are used
//   (decode: every weight byte is read once anyway).
TileFn pick_tile_avx2(const QuantSpec& sp, int mb);
//   All M activation rows against tiles [t0, t1) (prefill): each tile's codes are unpacked once
//   into ready vectors that every row block then reuses.
void panel_avx2(const QuantLinear& L, const Acts& a, int64_t M, int64_t t0, int64_t t1, float* y,
                int64_t N);
//   One activation row quantized as the portable quantizers do (same codes, scales and sums).
void quantize_row_avx2(const QuantSpec& sp, const float* x, int64_t K, int8_t* q, float* da,
                       int32_t* corr, float* sa);

}  // namespace llmkit::ops::quant
