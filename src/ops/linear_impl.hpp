// Internal: the polymorphic body behind PackedLinear (one subclass per kernel family).
#pragma once

#include <memory>

#include "ops/linear.hpp"
#include "ops/weight_buffer.hpp"

namespace llmkit::ops {

struct PackedLinear::Impl {
  io::TensorType type = io::TensorType::F32;
  int64_t K = 0, N = 0;
  Backend backend = Backend::kReference;
  uint64_t wbytes = 0;
  virtual ~Impl() = default;
  // x [M, K] -> y [M, N]
  virtual void forward(const float* x, int64_t M, float* y, ThreadPool& pool) const = 0;
  virtual const char* name() const noexcept = 0;
  // The packed bytes the kernels read (nullptr: the reference kernel's borrowed/copied rows).
  virtual const WeightBuffer* storage() const noexcept { return nullptr; }
};

// The fast path for TYPE (nullptr when none applies: the caller falls back to reference).
// Defined in linear_fast.cpp.
std::unique_ptr<PackedLinear::Impl> make_fast_linear(io::TensorType type, const uint8_t* data,
                                                     int64_t K, int64_t N,
                                                     const PackedLinear::ReleaseFn& release);
// Group-quantized types only (nullptr otherwise): rows of BLOCKS stacked.
std::unique_ptr<PackedLinear::Impl> make_quant_linear_stacked(
    io::TensorType type, const std::vector<PackedLinear::RowBlock>& blocks, int64_t K,
    const PackedLinear::ReleaseFn& release);
bool fast_linear_supports(io::TensorType type) noexcept;
// A kFast layer over already-packed BYTES (moved in when accepted), or nullptr when TYPE has no
// fast kernel, BYTES is not exactly the layout's size, or not 64-byte aligned.
// Defined in linear_fast.cpp.
std::unique_ptr<PackedLinear::Impl> make_fast_linear_view(io::TensorType type, int64_t K, int64_t N,
                                                          WeightBuffer& bytes);

}  // namespace llmkit::ops

namespace llmkit::ops {
// Tests only: run kFast layers (and the other fast kernels) through the portable code even on
// SIMD machines (true), or lift that cap (false). Same as simd::set_max_isa.
void set_fast_linear_portable(bool on) noexcept;
}  // namespace llmkit::ops
