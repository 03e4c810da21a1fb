// Linear layers (y = x · Wᵀ) over GGUF-typed weight matrices, plus token-embedding row lookup.
//
// Weight layout (ggml): N rows ("n_out") of K elements ("n_in"); each row is K/block_size
// consecutive blocks of the tensor's type (shape[0] = K is the contiguous dimension).
//
// Backends:
//  - kReference: plain C++; dequantizes each weight row on the fly (bit-exact with
//    gguf.quants) and accumulates in double. Slow; this is the parity reference.
//  - kFast: weights are repacked ONCE at creation into 16-row interleaved tiles (lossless for
//    every type: 4-bit nibbles plus 1-2 bit planes for 5/6-bit codes, 8-bit codes for Q8_0 and
//    IQ4_NL, f32 per-group scales/offsets computed exactly as dequantize_row does) and multiplied
//    with int8 VNNI dot products (vpdpbusd) against activations quantized per block the way
//    llama.cpp's x86 path does: Q8_0 (per 32, f16 scale) for Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4, Q8_1
//    (Q8_0 plus an f16 d·Σq) for Q4_1/Q5_1, Q8_K (per 256, f32 scale) for Q2_K..Q6_K. Integer
//    sums are exact; so the only deviation from kReference is the activation rounding.
//    F32/F16/BF16 weights: f32 FMA with activations rounded to f16 / bf16 for F16 / BF16 weights
//    (llama.cpp's vec_dot_type), vdpbf16ps for BF16. AVX-512 kernels are chosen at run time;
//    CPUs without AVX-512 VNNI but with AVX2 run AVX2 kernels for the quantized types
//    (vpmaddubsw; bit-identical), and portable kernels with the same arithmetic for the float
//    types and on CPUs without AVX2 (bit-identical results, much slower). Types without a fast
//    kernel fall back to the reference kernel.
//
// Parity (tests/test_ops_linear.cpp, real GGUF tensors, M = 1, 3, 4, 7):
//  - quantized: |y_fast - y_ref| <= (0.5/127)·Σ_k |w_k|·amax(activation block of k) + 1e-5·Σ|x·w|
//    (half an int8 step per activation); exact up to 1e-5·Σ|x·w| when activations are int8 codes.
//  - F32: 1e-5·Σ|x·w|; F16: (2^-11 + 1e-5)·Σ|x·w|; BF16: (2^-8 + 1e-5)·Σ|x·w|.
//  - portable kernels == AVX-512 kernels == AVX2 kernels bit for bit.
//
// Thread-safety: a PackedLinear is immutable after create(); forward() may be called from several
// threads at once only with different ThreadPools (it uses small thread-local scratch).
#pragma once

#include <cstdint>
#include <functional>
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
  // RELEASE (kFast, optional): called with spans of DATA whose rows are packed, while packing
  // proceeds (possibly from several threads at once), so a mapped source can be given back
  // progressively instead of coexisting whole with its packed copy.
  // Errors: unsupported type, K not a multiple of the block size, non-positive sizes.
  using ReleaseFn = std::function<void(const uint8_t* begin, uint64_t n_bytes)>;
  static Result<PackedLinear> create(io::TensorType type, const uint8_t* data, int64_t n_in,
                                     int64_t n_out, Backend backend, const ReleaseFn& release = {});
  // kFast, group-quantized types only: one matrix whose rows are the rows of BLOCKS in order
  // (e.g. [Wq; Wk; Wv]), packed straight from the sources (no stacked copy). kUnsupported for
  // types without a quantized kernel; the caller then packs the parts separately.
  struct RowBlock {
    const uint8_t* data = nullptr;  // rows × row_bytes(type, n_in) bytes
    int64_t rows = 0;
  };
  static Result<PackedLinear> create_stacked(io::TensorType type,
                                             const std::vector<RowBlock>& blocks, int64_t n_in,
                                             const ReleaseFn& release = {});

  // Re-attaches bytes that packed_data() of a kFast layer with the same (type, n_in, n_out)
  // produced (e.g. read back from a repack cache), without copying: the layer borrows BYTES, and
  // OWNER (may be null) is kept alive as long as the layer. BYTES must be 64-byte aligned. Errors:
  // kInvalidArgument when the type has no fast kernel, or the size or alignment does not match the
  // layout.
  static Result<PackedLinear> from_packed(io::TensorType type, int64_t n_in, int64_t n_out,
                                          const uint8_t* bytes, uint64_t n_bytes,
                                          std::shared_ptr<const void> owner);

  PackedLinear();
  PackedLinear(PackedLinear&&) noexcept;
  PackedLinear& operator=(PackedLinear&&) noexcept;
  ~PackedLinear();

  // x: [M, K] row-major f32; y: [M, N] row-major f32 (overwritten). y = x · Wᵀ. x and y must not
  // overlap. A default-constructed (moved-from) object does nothing.
  void forward(const float* x, int64_t M, float* y, ThreadPool& pool) const;

  int64_t n_in() const noexcept;   // K
  int64_t n_out() const noexcept;  // N
  io::TensorType type() const noexcept;
  Backend backend() const noexcept;
  // Human-readable kernel choice, e.g. "avx512vnni-q4x16" or "reference".
  const char* kernel_name() const noexcept;
  // Bytes of weight data read per forward (for GB/s figures).
  uint64_t weight_bytes() const noexcept;
  // The packed bytes the fast kernels read (nullptr / 0 for the reference kernel and kFast types
  // without a fast kernel). Valid while the layer lives.
  const uint8_t* packed_data() const noexcept;
  uint64_t packed_size() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Bytes of one row of K elements of TYPE (0 when K is not a multiple of the block size or the
// type is unknown).
uint64_t row_bytes(io::TensorType type, int64_t k) noexcept;

// A hash of how the fast path packs TYPE (0: no fast kernel): it packs a small fixed matrix and
// hashes the bytes, so any change to a packing routine changes it. A repack cache stores it and
// refuses entries written by a build that packs differently.
uint64_t packed_format_fingerprint(io::TensorType type);

// get_rows: writes row ROW of the [n_rows, n_embd] tensor DATA (ggml layout) to OUT[n_embd].
// The caller checks row < n_rows. Bit-exact with dequantize_row.
Status embedding_row(io::TensorType type, const uint8_t* data, int64_t row, int64_t n_embd,
                     float* out) noexcept;

}  // namespace llmkit::ops
