// The per-session key/value cache: for every layer, K and V rows [n_ctx, n_head_kv * head_dim]
// stored as f32, f16 or bf16. Position p of layer l lives at row p; a session's valid prefix is
// tracked by the session (rows past it are garbage and never read).
//
// Thread-safety: owned by one Session; store() of distinct rows and loads may run concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit::runtime {

enum class KvType { kF32, kF16, kBF16 };

uint16_t f32_to_f16(float f) noexcept;
float f16_to_f32(uint16_t h) noexcept;
uint16_t f32_to_bf16(float f) noexcept;
inline float bf16_to_f32(uint16_t h) noexcept {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

class KvCache {
 public:
  Status allocate(uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim, KvType type);

  uint32_t n_ctx() const noexcept { return n_ctx_; }
  uint32_t kv_dim() const noexcept { return kv_dim_; }
  KvType type() const noexcept { return type_; }
  uint64_t bytes() const noexcept { return f32_.size() * 4 + u16_.size() * 2; }

  // K and V rows (kv_dim floats each) for LAYER at position POS.
  void store(uint32_t layer, uint32_t pos, const float* k, const float* v) noexcept;
  // Reads DIM elements starting at column COL of row POS into DST (f32).
  void load_k(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept;
  void load_v(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept;
  // Rows [p_begin, p_end) of K (or V) of LAYER as f32: a pointer into the cache for kF32, else the
  // rows converted into SCRATCH (which must hold (p_end - p_begin) * kv_dim floats). Row p of the
  // result is at ptr + (p - p_begin) * kv_dim.
  const float* rows_f32(bool is_v, uint32_t layer, uint32_t p_begin, uint32_t p_end,
                        float* scratch) const noexcept;

 private:
  void load(bool is_v, uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept;
  uint64_t offset(bool is_v, uint32_t layer, uint32_t pos) const noexcept {
    return ((static_cast<uint64_t>(layer) * 2 + (is_v ? 1 : 0)) * n_ctx_ + pos) * kv_dim_;
  }
  uint32_t n_layer_ = 0, n_ctx_ = 0, kv_dim_ = 0;
  KvType type_ = KvType::kF32;
  std::vector<float> f32_;
  std::vector<uint16_t> u16_;
};

}  // namespace llmkit::runtime
