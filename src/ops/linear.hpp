// Linear layers (y = x · Wᵀ) over GGUF-typed weight matrices, plus token-embedding row lookup.
//
// Weight layout (ggml): N rows ("n_out") of K elements ("n_in"); each row is K/block_size
// consecutive blocks of the tensor's type (shape[0] = K is the contiguous dimension).
//
// Backends:
//  - kReference: plain C++; dequantizes each weight row on the fly (bit-exact with
//    gguf.quants) and accumulates in double. Slow; this is the parity reference.
//  - kFast: weights are repacked ONCE at creation into a row-interleaved integer layout
//    (lossless for every quantized type) and multiplied with int8 VNNI dot products against
//    activations quantized per block like llama.cpp does (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4,
//    Q8_1 for Q4_1/Q5_1, Q8_K for K-quants), so numerics stay close to llama.cpp. F16/BF16/F32
//    weights: F16/BF16 activations with f32 accumulation (again llama.cpp's choice). AVX-512
//    kernels are picked at run time (one binary still runs on AVX2-only CPUs through a portable
//    fallback with the same arithmetic).
//
// Thread-safety: a PackedLinear is immutable after create(); forward() may be called from several
// threads at once only with different ThreadPools (it uses small thread-local scratch).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/ggml_types.hpp"
#include "llmkit/status.hpp"
#include "ops/thread_pool.hpp"

namespace llmkit::ops {

enum class Backend { kReference, kFast };

class PackedLinear {
 public:
  // True when create() accepts TYPE for BACKEND.
  static bool supports(io::TensorType type, Backend backend) noexcept;

  // DATA: N rows × row_bytes(type, K) bytes. kReference BORROWS data (it must outlive the object,
  // e.g. the model's mmap); kFast never borrows: it repacks (or, for a type without a fast kernel,
  // copies) what it needs, so data may be released right after create().
  // Errors: unsupported type, K not a multiple of the block size, non-positive sizes.
  static Result<PackedLinear> create(io::TensorType type, const uint8_t* data, int64_t n_in,
                                     int64_t n_out, Backend backend);

  PackedLinear();
  PackedLinear(PackedLinear&&) noexcept;
  PackedLinear& operator=(PackedLinear&&) noexcept;
  ~PackedLinear();

  // x: [M, K] row-major f32; y: [M, N] row-major f32 (overwritten). y = x · Wᵀ.
  void forward(const float* x, int64_t M, float* y, ThreadPool& pool) const;

  int64_t n_in() const noexcept;   // K
  int64_t n_out() const noexcept;  // N
  io::TensorType type() const noexcept;
  Backend backend() const noexcept;
  // Human-readable kernel choice, e.g. "avx512vnni-q4x16" or "reference".
  const char* kernel_name() const noexcept;
  // Bytes of weight data read per forward (for GB/s figures).
  uint64_t weight_bytes() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Bytes of one row of K elements of TYPE (0 when K is not a multiple of the block size or the
// type is unknown).
uint64_t row_bytes(io::TensorType type, int64_t k) noexcept;

// get_rows: writes row ROW of the [n_rows, n_embd] tensor DATA (ggml layout) to OUT[n_embd].
// The caller checks row < n_rows. Bit-exact with dequantize_row.
Status embedding_row(io::TensorType type, const uint8_t* data, int64_t row, int64_t n_embd,
                     float* out) noexcept;

}  // namespace llmkit::ops
