// Internal: Intel AMX (AMX-TILE + AMX-INT8) kernels for the group-quantized linear layers of
// linear_fast.cpp, used for batched input (prefill, M >= kAmxMinRows).
//
// Why: on Sapphire/Granite Rapids a TDPBSSD tile op does 16x16x64 int8 MACs in ~16 cycles, 4-8x
// the vpdpbusd rate; what remains is the per-group float rescale, done with AVX-512. The integer
// dot products are exact and the float rescale performs the same operations in the same order as
// the VNNI kernel, so the AMX path is bit-identical to the VNNI and portable kernels.
//
// Availability is decided once per process: CPUID (AMX-TILE, AMX-INT8), XCR0 tile state, and the
// Linux permission request arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA). The environment variable
// LLMKIT_DISABLE_AMX=1 turns the path off (then VNNI kernels run).
#pragma once

#include <cstdint>

#include "ops/packed_scales.hpp"

namespace llmkit::ops::amx {

// Batches below this many rows run on the VNNI kernels (tile setup does not pay off).
constexpr int64_t kAmxMinRows = 8;

// A view of a QuantLinear's packed weights (layout documented at the top of linear_fast.cpp).
struct PackedTiles {
  const uint8_t* base = nullptr;
  int64_t n_tiles = 0, n_groups = 0;
  int64_t tile_stride = 0;  // bytes per tile (chunks of codes and scales, see sl)
  ScaleLayout sl;           // how the scales are stored (ops/packed_scales.hpp)
  int G = 32;               // k per group: 32 or 16
  bool nib = true;          // nibble storage (else one byte per code)
  int planes = 0;           // bit planes above the nibble (0..2)
  bool affine = false;      // w = s*code + o (else s*(code - zp))
  int zp = 0;
  const uint8_t* lut = nullptr;  // nibble -> code table (IQ4_NL, MXFP4)
};

// Quantized activations: q [M_padded, K] int8, da/sa [M_padded, n_groups]; rows >= M are zero
// up to a multiple of 16 (the kernels always process 16-row tiles).
struct QuantActs {
  const int8_t* q = nullptr;
  const float* da = nullptr;
  const float* sa = nullptr;
  int64_t K = 0, n_groups = 0;
};

// True when the CPU and the OS allow AMX int8 and it is not disabled (checked once).
bool available() noexcept;
// Tests/bench: force the AMX path off (true) or back to auto (false).
void set_disabled(bool off) noexcept;

// y[m][n] for all M rows and the output rows of tiles [t0, t1) (16 per tile; y is [M, N]).
// Called from one pool thread per tile range; uses thread-local scratch.
void quant_forward(const PackedTiles& w, const QuantActs& a, int64_t M, int64_t t0, int64_t t1,
                   float* y, int64_t N);

}  // namespace llmkit::ops::amx
