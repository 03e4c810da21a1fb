// The per-session key/value cache: for every layer, K and V rows [rows(l), n_head_kv * head_dim]
// stored as f32, f16 or bf16. A full-attention layer has rows(l) = n_ctx and position p lives at
// row p. A sliding-window layer (window w, batches of at most B tokens) only ever reads positions
// (p - w, p] for the queries p of one batch, so it keeps a ring of rows(l) = min(n_ctx, w + B) rows
// and position p lives at row p % rows(l): for Gemma 3 at n_ctx 2048 that is 768 instead of 2048
// rows in 15 of 18 layers. A session's valid prefix is tracked by the session (rows past it are
// garbage and never read); because a ring row is reused, rewinding the session (truncate, or a
// failed/cancelled call that wrote rows past it) may lose rows a later batch needs —
// window_history_intact() says whether they are all still there.
//
// Thread-safety: owned by one Session; store() of distinct rows and loads may run concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "llmkit/status.hpp"
#include "ops/basic.hpp"

namespace llmkit::runtime {

enum class KvType { kF32, kF16, kBF16 };

// The element conversions are the ops ones (IEEE round to nearest even, NaN stays NaN); the
// row converters in kv_cache.cpp use F16C where present, which rounds the same way.
using ops::f16_to_f32;
using ops::f32_to_bf16;
using ops::f32_to_f16;
inline float bf16_to_f32(uint16_t h) noexcept {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

class KvCache {
 public:
  // WINDOW: per layer, 0 (full attention) or the sliding window; empty = all full. MAX_BATCH: the
  // most tokens one forward pass writes (sizes the rings).
  Status allocate(uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim, KvType type,
                  const std::vector<uint32_t>& window = {}, uint32_t max_batch = 0);

  uint32_t n_ctx() const noexcept { return n_ctx_; }
  uint32_t rows(uint32_t layer) const noexcept { return layer_rows_[layer]; }
  // Call before a forward pass writes positions up to LAST (bookkeeping for the rings).
  void note_written(int64_t last) noexcept {
    written_hi_ = last > written_hi_ ? last : written_hi_;
  }
  // Forget every row (the session restarts at position 0).
  void clear() noexcept { written_hi_ = -1; }
  // Mark every ring as lost (window_history_intact() is false for any pos0 > 0 until clear()).
  void invalidate_windows() noexcept { written_hi_ = INT64_MAX; }
  // True when every ring layer still holds the rows a batch starting at POS0 reads, i.e. no
  // position written since clear() has overwritten one of positions [pos0 - window + 1, pos0).
  bool window_history_intact(uint32_t pos0) const noexcept;
  uint32_t kv_dim() const noexcept { return kv_dim_; }
  KvType type() const noexcept { return type_; }
  uint64_t bytes() const noexcept { return f32_.size() * 4 + u16_.size() * 2; }

  // K and V rows (kv_dim floats each) for LAYER at position POS.
  void store(uint32_t layer, uint32_t pos, const float* k, const float* v) noexcept;
  // Reads DIM elements starting at column COL of row POS into DST (f32).
  void load_k(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept;
  void load_v(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept;
  // Positions [p_begin, p_end) of K (or V) of LAYER as f32: a pointer into the cache for kF32 when
  // the rows are contiguous, else the rows converted (or, for a wrapped ring, copied) into SCRATCH,
  // which must hold (p_end - p_begin) * kv_dim floats. Position p of the result is at
  // ptr + (p - p_begin) * kv_dim. p_end - p_begin must not exceed rows(layer).
  const float* rows_f32(bool is_v, uint32_t layer, uint32_t p_begin, uint32_t p_end,
                        float* scratch) const noexcept;
  // The f16 storage of K (or V) of LAYER, read in place: position p is row p % rows(layer), at
  // ptr + (p % rows(layer)) * kv_dim. nullptr unless type() == kF16.
  const uint16_t* f16_data(bool is_v, uint32_t layer) const noexcept {
    return type_ == KvType::kF16 ? &u16_[offset(is_v, layer, 0)] : nullptr;
  }

 private:
  void load(bool is_v, uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim,
            float* dst) const noexcept;
  // Element offset of position POS (mapped onto the layer's ring) of K or V of LAYER.
  uint64_t offset(bool is_v, uint32_t layer, uint32_t pos) const noexcept {
    const uint32_t r = layer_rows_[layer];
    return layer_base_[layer] + ((is_v ? uint64_t(r) : 0) + pos % r) * kv_dim_;
  }
  void convert(uint64_t off, uint64_t n, float* dst) const noexcept;
  uint32_t n_layer_ = 0, n_ctx_ = 0, kv_dim_ = 0;
  std::vector<uint32_t> layer_rows_, layer_window_;  // per layer: rows held, window (0 = full)
  std::vector<uint64_t> layer_base_;                 // per layer: element offset of its K rows
  int64_t written_hi_ = -1;                          // highest position written since clear()
  KvType type_ = KvType::kF32;
  std::vector<float> f32_;
  std::vector<uint16_t> u16_;
};

}  // namespace llmkit::runtime
