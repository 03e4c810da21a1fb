// Small vector helpers with run-time ISA dispatch (AVX-512 when the CPU has it, else AVX2 + FMA +
// F16C, else portable C++), so one binary runs on any x86-64. Internal to src/ops.
#pragma once

#include <cstdint>

namespace llmkit::ops::simd {

// True when the CPU supports AVX-512F/BW/VL/VNNI (checked once).
bool has_avx512_vnni() noexcept;
// True when the CPU supports AVX-512 BF16 (vdpbf16ps).
bool has_avx512_bf16() noexcept;
// True when the CPU supports AVX2 + FMA + F16C.
bool has_avx2() noexcept;
// True on AMD CPUs (tuning only: e.g. decode prefetch distance and cache level, see
// linear_fast.cpp).
bool is_amd() noexcept;

// The instruction sets the kernels are written for, narrowest first.
enum class Isa : int { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };
// What the kernels dispatch on: the CPU's widest (kAvx512 = has_avx512_vnni(), kAvx2 =
// has_avx2()), capped by set_max_isa.
Isa isa() noexcept;
// Tests/bench only: cap every kernel at ISA (process-wide; atomic), e.g. to run the AVX2 kernels
// on an AVX-512 machine, or kPortable for the portable ones.
void set_max_isa(Isa cap) noexcept;

float dot_f32(const float* a, const float* b, int64_t n) noexcept;
// b holds IEEE halves.
float dot_f32_f16(const float* a, const uint16_t* b, int64_t n) noexcept;
// y += a * x
void axpy_f32(float a, const float* x, float* y, int64_t n) noexcept;
void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) noexcept;

}  // namespace llmkit::ops::simd
