// Dequantization of GGUF block formats to f32, bit-exact with the `gguf` Python package's
// reference dequantizers (gguf.quants). One row at a time so callers can stream.
#pragma once

#include <cstdint>

#include "io/ggml_types.hpp"
#include "llmkit/status.hpp"

namespace llmkit::ops {

// True when dequantize_row supports TYPE.
bool can_dequantize(io::TensorType type) noexcept;

// Converts N elements (a multiple of the type's block size) starting at SRC to f32 in DST.
Status dequantize_row(io::TensorType type, const void* src, float* dst, int64_t n) noexcept;

}  // namespace llmkit::ops
