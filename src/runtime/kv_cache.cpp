#include "runtime/kv_cache.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace llmkit::runtime {

namespace {
void f32_to_f16_rows(const float* src, uint16_t* dst, uint64_t n);
}  // namespace

Status KvCache::allocate(uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim, KvType type,
                         const std::vector<uint32_t>& window, uint32_t max_batch) {
  n_layer_ = n_layer;
  n_ctx_ = n_ctx;
  kv_dim_ = kv_dim;
  type_ = type;
  written_hi_ = -1;
  layer_rows_.assign(n_layer, n_ctx);
  layer_window_.assign(n_layer, 0);
  layer_base_.assign(n_layer, 0);
  uint64_t n = 0;
  for (uint32_t l = 0; l < n_layer; ++l) {
    const uint32_t w = l < window.size() ? window[l] : 0;
    // A batch of max_batch queries starting at p0 reads positions p0 - w + 1 .. p0 + max_batch - 1.
    if (w > 0 && max_batch > 0 && uint64_t(w) + max_batch < n_ctx) {
      layer_rows_[l] = w + max_batch;
      layer_window_[l] = w;
    }
    layer_base_[l] = n;
    n += 2ull * layer_rows_[l] * kv_dim;
  }
  try {
    f32_.clear();
    u16_.clear();
    if (type == KvType::kF32) {
      f32_.assign(n, 0.0f);
    } else {
      u16_.assign(n, 0);
    }
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "KV cache: cannot allocate " + std::to_string(n) +
                                                " elements (" + std::to_string(n_ctx) +
                                                " tokens); use a smaller context");
  }
  return Status::ok();
}

bool KvCache::window_history_intact(uint32_t pos0) const noexcept {
  for (uint32_t l = 0; l < n_layer_; ++l) {
    const uint32_t w = layer_window_[l];
    if (w == 0 || pos0 == 0) continue;
    const int64_t oldest_needed = std::max<int64_t>(0, int64_t(pos0) - w + 1);
    // Position q overwrote the row of q - rows(l); the oldest needed row is intact iff no position
    // at or past oldest_needed + rows(l) has been written.
    if (written_hi_ >= oldest_needed + layer_rows_[l]) return false;
  }
  return true;
}

void KvCache::store(uint32_t layer, uint32_t pos, const float* k, const float* v) noexcept {
  for (int which = 0; which < 2; ++which) {
    const float* src = which ? v : k;
    const uint64_t off = offset(which == 1, layer, pos);
    switch (type_) {
      case KvType::kF32:
        std::memcpy(&f32_[off], src, kv_dim_ * sizeof(float));
        break;
      case KvType::kF16:
        f32_to_f16_rows(src, &u16_[off], kv_dim_);
        break;
      case KvType::kBF16:
        for (uint32_t i = 0; i < kv_dim_; ++i) u16_[off + i] = f32_to_bf16(src[i]);
        break;
    }
  }
}

void KvCache::load(bool is_v, uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim,
                   float* dst) const noexcept {
  const uint64_t off = offset(is_v, layer, pos) + col;
  switch (type_) {
    case KvType::kF32:
      std::memcpy(dst, &f32_[off], dim * sizeof(float));
      break;
    case KvType::kF16:
      for (uint32_t i = 0; i < dim; ++i) dst[i] = f16_to_f32(u16_[off + i]);
      break;
    case KvType::kBF16:
      for (uint32_t i = 0; i < dim; ++i) dst[i] = bf16_to_f32(u16_[off + i]);
      break;
  }
}

namespace {

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) void f16_rows_f16c(const uint16_t* src, float* dst,
                                                        uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
bool have_f16c() {
  static const bool ok = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2");
  return ok;
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) void f32_to_f16_rows_f16c(const float* src, uint16_t* dst,
                                                               uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}
#endif

// Hardware and scalar conversions agree (round to nearest even; tests/test_ops_basic.cpp checks).
void f32_to_f16_rows(const float* src, uint16_t* dst, uint64_t n) {
#if defined(__x86_64__)
  if (have_f16c()) return f32_to_f16_rows_f16c(src, dst, n);
#endif
  for (uint64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

void f16_rows(const uint16_t* src, float* dst, uint64_t n) {
#if defined(__x86_64__)
  if (have_f16c()) return f16_rows_f16c(src, dst, n);
#endif
  for (uint64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

}  // namespace

void KvCache::convert(uint64_t off, uint64_t n, float* dst) const noexcept {
  switch (type_) {
    case KvType::kF32:
      std::memcpy(dst, &f32_[off], n * sizeof(float));
      break;
    case KvType::kF16:
      f16_rows(&u16_[off], dst, n);
      break;
    case KvType::kBF16:
      for (uint64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(u16_[off + i]);
      break;
  }
}

const float* KvCache::rows_f32(bool is_v, uint32_t layer, uint32_t p_begin, uint32_t p_end,
                               float* scratch) const noexcept {
  const uint32_t r = layer_rows_[layer];
  const uint32_t row0 = p_begin % r;
  const uint32_t n_rows = p_end - p_begin;
  const uint32_t first_part = std::min(n_rows, r - row0);  // rows before the ring wraps
  const uint64_t off = offset(is_v, layer, p_begin);
  if (type_ == KvType::kF32 && first_part == n_rows) return &f32_[off];
  convert(off, uint64_t(first_part) * kv_dim_, scratch);
  if (first_part < n_rows)
    convert(offset(is_v, layer, p_begin + first_part), uint64_t(n_rows - first_part) * kv_dim_,
            scratch + uint64_t(first_part) * kv_dim_);
  return scratch;
}

void KvCache::load_k(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim,
                     float* dst) const noexcept {
  load(false, layer, pos, col, dim, dst);
}
void KvCache::load_v(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim,
                     float* dst) const noexcept {
  load(true, layer, pos, col, dim, dst);
}

}  // namespace llmkit::runtime
