// Scalar dequantizers. Each formula mirrors gguf.quants (numpy, f32 arithmetic, no fused
// multiply-add) operation by operation so results are bit-identical: e.g. Q4_1 is (d * q) + m,
// K-quants compute the sub-block scale d * sc first and then (d*sc) * q - (dmin*m).
// This file must not be compiled with FMA contraction (GCC's ISO mode default is
// -ffp-contract=off; the pragma below makes that explicit).
#include "ops/dequant.hpp"

#include <cstring>
#include <string>

#include "ops/basic.hpp"

#pragma GCC optimize("fp-contract=off")

namespace llmkit::ops {

namespace {

using io::TensorType;

inline float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

constexpr int QK_K = 256;

void deq_q4_0(const uint8_t* b, float* y) {  // 18 bytes: f16 d, 16 bytes nibbles
  const float d = h2f(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(int(qs[j] & 0x0F) - 8);
    y[j + 16] = d * float(int(qs[j] >> 4) - 8);
  }
}

void deq_q4_1(const uint8_t* b, float* y) {  // f16 d, f16 m, 16 bytes
  const float d = h2f(b), m = h2f(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(qs[j] & 0x0F) + m;
    y[j + 16] = d * float(qs[j] >> 4) + m;
  }
}

void deq_q5_0(const uint8_t* b, float* y) {  // f16 d, u32 qh, 16 bytes
  const float d = h2f(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    int lo = (qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
    int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = d * float(lo - 16);
    y[j + 16] = d * float(hi - 16);
  }
}

void deq_q5_1(const uint8_t* b, float* y) {  // f16 d, f16 m, u32 qh, 16 bytes
  const float d = h2f(b), m = h2f(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    int lo = (qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
    int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = d * float(lo) + m;
    y[j + 16] = d * float(hi) + m;
  }
}

void deq_q8_0(const uint8_t* b, float* y) {  // f16 d, 32 int8
  const float d = h2f(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = float(qs[j]) * d;
}

void deq_q2_k(const uint8_t* b, float* y) {  // scales[16], qs[64], f16 d, f16 dmin
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = h2f(b + 80), dmin = h2f(b + 82);
  // Element e = 128*h + 32*s + l (h: half, s: shift index, l: 0..31) reads qs[32h + l] >> 2s;
  // sub-block (16 elements) index e / 16.
  for (int h = 0; h < 2; ++h)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l) {
        int e = 128 * h + 32 * s + l;
        int sb = e / 16;
        float dl = d * float(scales[sb] & 0xF);
        float ml = dmin * float(scales[sb] >> 4);
        float q = float((qs[32 * h + l] >> (2 * s)) & 3);
        y[e] = dl * q - ml;
      }
}

void deq_q3_k(const uint8_t* b, float* y) {  // hmask[32], qs[64], scales[12], f16 d
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sc = b + 96;
  const float d = h2f(b + 108);
  int scales[16];
  for (int i = 0; i < 16; ++i) {
    int lo = (sc[i % 8] >> (4 * (i / 8))) & 0x0F;
    int hi = (sc[8 + i % 4] >> (2 * (i / 4))) & 0x03;
    scales[i] = (lo | (hi << 4)) - 32;
  }
  for (int h = 0; h < 2; ++h)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l) {
        int e = 128 * h + 32 * s + l;
        float dl = d * float(scales[e / 16]);
        int ql = (qs[32 * h + l] >> (2 * s)) & 3;
        int hbit = (hmask[l] >> (4 * h + s)) & 1;
        int q = ql - ((hbit ^ 1) << 2);
        y[e] = dl * float(q);
      }
}

// 12 packed bytes -> 8 six-bit scales and mins (Q4_K / Q5_K).
void get_scale_min_k4(const uint8_t* s, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 0x3F;
    mn[j] = s[j + 4] & 0x3F;
    sc[j + 4] = (s[j + 8] & 0x0F) | ((s[j] >> 2) & 0x30);
    mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30);
  }
}

void deq_q4_k(const uint8_t* b, float* y) {  // f16 d, f16 dmin, scales[12], qs[128]
  const float d = h2f(b), dmin = h2f(b + 2);
  uint8_t sc[8], mn[8];
  get_scale_min_k4(b + 4, sc, mn);
  const uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {  // sub-block of 32: bytes qs[32*(j/2)..], nibble j%2
    const float dl = d * float(sc[j]);
    const float ml = dmin * float(mn[j]);
    for (int l = 0; l < 32; ++l) {
      int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0x0F;
      y[32 * j + l] = dl * float(q) - ml;
    }
  }
}

void deq_q5_k(const uint8_t* b, float* y) {  // f16 d, f16 dmin, scales[12], qh[32], qs[128]
  const float d = h2f(b), dmin = h2f(b + 2);
  uint8_t sc[8], mn[8];
  get_scale_min_k4(b + 4, sc, mn);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int j = 0; j < 8; ++j) {
    const float dl = d * float(sc[j]);
    const float ml = dmin * float(mn[j]);
    for (int l = 0; l < 32; ++l) {
      int q = ((qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0x0F) | (((qh[l] >> j) & 1) << 4);
      y[32 * j + l] = dl * float(q) - ml;
    }
  }
}

void deq_q6_k(const uint8_t* b, float* y) {  // ql[128], qh[64], int8 scales[16], f16 d
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = h2f(b + 208);
  // Element e = 128*h + 32*s + l: low nibble from ql[64h + 32*(s%2) + l] >> 4*(s/2),
  // high bits from qh[32h + l] >> 2s.
  for (int h = 0; h < 2; ++h)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l) {
        int e = 128 * h + 32 * s + l;
        int lo = (ql[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 0x0F;
        int hi = (qh[32 * h + l] >> (2 * s)) & 3;
        int q = (lo | (hi << 4)) - 32;
        float dl = d * float(scales[e / 16]);
        y[e] = dl * float(q);
      }
}

void deq_q8_k(const uint8_t* b, float* y) {  // f32 d, int8 qs[256], int16 bsums[16]
  float d;
  std::memcpy(&d, b, 4);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 4);
  for (int j = 0; j < QK_K; ++j) y[j] = d * float(qs[j]);
}

constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

void deq_iq4_nl(const uint8_t* b, float* y) {  // f16 d, 16 bytes of table indices
  const float d = h2f(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(kIq4nlValues[qs[j] & 0x0F]);
    y[j + 16] = d * float(kIq4nlValues[qs[j] >> 4]);
  }
}

constexpr int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// e8m0 exponent -> 0.5 * 2^(e-127) as f32 bits (ggml_e8m0_to_fp32_half).
float e8m0_half(uint8_t e) {
  uint32_t bits = e < 2 ? (0x00200000u << e) : (uint32_t(e - 1) << 23);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void deq_mxfp4(const uint8_t* b, float* y) {  // u8 e, 16 bytes
  const float d = e8m0_half(b[0]);
  const uint8_t* qs = b + 1;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(kMxfp4Values[qs[j] & 0x0F]);
    y[j + 16] = d * float(kMxfp4Values[qs[j] >> 4]);
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(TensorType t) {
  switch (t) {
    case TensorType::Q4_0:
      return deq_q4_0;
    case TensorType::Q4_1:
      return deq_q4_1;
    case TensorType::Q5_0:
      return deq_q5_0;
    case TensorType::Q5_1:
      return deq_q5_1;
    case TensorType::Q8_0:
      return deq_q8_0;
    case TensorType::Q2_K:
      return deq_q2_k;
    case TensorType::Q3_K:
      return deq_q3_k;
    case TensorType::Q4_K:
      return deq_q4_k;
    case TensorType::Q5_K:
      return deq_q5_k;
    case TensorType::Q6_K:
      return deq_q6_k;
    case TensorType::Q8_K:
      return deq_q8_k;
    case TensorType::IQ4_NL:
      return deq_iq4_nl;
    case TensorType::MXFP4:
      return deq_mxfp4;
    default:
      return nullptr;
  }
}

}  // namespace

bool can_dequantize(io::TensorType type) noexcept {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16 ||
         block_fn(type) != nullptr;
}

Status dequantize_row(io::TensorType type, const void* src, float* dst, int64_t n) noexcept {
  const auto* tr = io::type_traits(type);
  if (!tr || !can_dequantize(type))
    return {StatusCode::kUnsupported,
            "dequantize: unsupported tensor type " + io::type_name(uint32_t(type))};
  if (n < 0 || n % tr->block_size != 0)
    return {StatusCode::kInvalidArgument, "dequantize: " + std::to_string(n) +
                                              " elements is not a multiple of the " + tr->name +
                                              " block size " + std::to_string(tr->block_size)};
  if (n > 0 && (src == nullptr || dst == nullptr))
    return {StatusCode::kInvalidArgument, "dequantize: null buffer"};
  const auto* s = static_cast<const uint8_t*>(src);
  switch (type) {
    case TensorType::F32:
      std::memcpy(dst, s, size_t(n) * 4);
      return Status::ok();
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = h2f(s + 2 * i);
      return Status::ok();
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        uint32_t bits = uint32_t(h) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
      return Status::ok();
    default:
      break;
  }
  BlockFn fn = block_fn(type);
  const int64_t nb = n / tr->block_size;
  for (int64_t i = 0; i < nb; ++i) fn(s + i * tr->type_size, dst + i * tr->block_size);
  return Status::ok();
}

}  // namespace llmkit::ops
