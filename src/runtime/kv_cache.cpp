#include "runtime/kv_cache.hpp"

#include <cstring>
#include <new>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace llmkit::runtime {

uint16_t f32_to_f16(float f) noexcept {
  // IEEE half, round to nearest even (same result as F16C's _cvtss_sh with rounding mode 0).
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) return static_cast<uint16_t>(sign | (abs > 0x7F800000u ? 0x7E00u : 0x7C00u));
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14 + (112 - e) ... gives mantissa for 2^-24 units
    uint32_t h = m >> (shift);
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);
  const uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1F;
  uint32_t m = h & 0x3FF;
  uint32_t x;
  if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {  // subnormal: normalise
      e = 113;
      while (!(m & 0x400)) {
        m <<= 1;
        --e;
      }
      m &= 0x3FF;
      x = sign | (e << 23) | (m << 13);
    }
  } else if (e == 31) {
    x = sign | 0x7F800000u | (m << 13);
  } else {
    x = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t f32_to_bf16(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  x += 0x7FFFu + ((x >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(x >> 16);
}

Status KvCache::allocate(uint32_t n_layer, uint32_t n_ctx, uint32_t kv_dim, KvType type) {
  n_layer_ = n_layer;
  n_ctx_ = n_ctx;
  kv_dim_ = kv_dim;
  type_ = type;
  const uint64_t n = 2ull * n_layer * n_ctx * kv_dim;
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

void KvCache::store(uint32_t layer, uint32_t pos, const float* k, const float* v) noexcept {
  for (int which = 0; which < 2; ++which) {
    const float* src = which ? v : k;
    const uint64_t off = offset(which == 1, layer, pos);
    switch (type_) {
      case KvType::kF32:
        std::memcpy(&f32_[off], src, kv_dim_ * sizeof(float));
        break;
      case KvType::kF16:
        for (uint32_t i = 0; i < kv_dim_; ++i) u16_[off + i] = f32_to_f16(src[i]);
        break;
      case KvType::kBF16:
        for (uint32_t i = 0; i < kv_dim_; ++i) u16_[off + i] = f32_to_bf16(src[i]);
        break;
    }
  }
}

void KvCache::load(bool is_v, uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept {
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
__attribute__((target("avx2,f16c"))) void f16_rows_f16c(const uint16_t* src, float* dst, uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}
bool have_f16c() {
  static const bool ok = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2");
  return ok;
}
#endif

void f16_rows(const uint16_t* src, float* dst, uint64_t n) {
#if defined(__x86_64__)
  if (have_f16c()) return f16_rows_f16c(src, dst, n);
#endif
  for (uint64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

}  // namespace

const float* KvCache::rows_f32(bool is_v, uint32_t layer, uint32_t p_begin, uint32_t p_end,
                               float* scratch) const noexcept {
  const uint64_t off = offset(is_v, layer, p_begin);
  const uint64_t n = static_cast<uint64_t>(p_end - p_begin) * kv_dim_;
  switch (type_) {
    case KvType::kF32:
      return &f32_[off];
    case KvType::kF16:
      f16_rows(&u16_[off], scratch, n);
      return scratch;
    case KvType::kBF16:
      for (uint64_t i = 0; i < n; ++i) scratch[i] = bf16_to_f32(u16_[off + i]);
      return scratch;
  }
  return scratch;
}

void KvCache::load_k(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept {
  load(false, layer, pos, col, dim, dst);
}
void KvCache::load_v(uint32_t layer, uint32_t pos, uint32_t col, uint32_t dim, float* dst) const noexcept {
  load(true, layer, pos, col, dim, dst);
}

}  // namespace llmkit::runtime
