// Causal (optionally sliding-window) multi-head attention with grouped K/V heads, over K/V rows
// converted to f32 or (attention_reference) read in place from an f16 cache. Two
// implementations with the same semantics:
//  - attention_reference: one (query, head) at a time, dot products then softmax then a weighted
//    sum of V rows; the readable definition, used by the reference backend and for decode.
//  - attention_batched: for prefill. A task is (head, block of 16 consecutive queries); scores
//    are computed transposed, S^T[key][query], so every AVX-512 lane holds one query: Q·K^T,
//    the softmax (max, exp, double-precision sum) and P·V all run 16 queries wide with no
//    horizontal reductions.
// Softmax: exact row max, exp(s - max), sum in double, p = e * (1/sum), as llama.cpp's soft_max.
// With round_f16 (an f16 KV cache) the query and the probabilities are rounded to f16 first, as
// llama.cpp does when it multiplies with an f16 cache.
// Parity (tests/test_ops_attention.cpp): batched vs reference within 2e-6 relative to Σ|p·v|.
#pragma once

#include <cstdint>

#include "ops/thread_pool.hpp"

namespace llmkit::ops {

struct AttentionArgs {
  const float* q = nullptr;  // [M, q_stride]; head h of row i at q + i*q_stride + h*hd
  int64_t q_stride = 0;
  const float* k = nullptr;  // [n_rows, kv_stride]; key row r has position first + r
  const float* v = nullptr;  // [n_rows, kv_stride]
  int64_t kv_stride = 0;
  int64_t n_rows = 0;
  float* out = nullptr;  // [M, out_stride]
  int64_t out_stride = 0;
  int64_t M = 0, H = 0, Hkv = 0, hd = 0;
  int32_t pos0 = 0;    // position of query row 0 (rows are consecutive positions)
  int32_t first = 0;   // position of key row 0
  int32_t window = 0;  // > 0: query at p sees keys in (p - window, p]; else [first, p]
  float scale = 1.f;
  bool round_f16 = false;
  // attention_reference only: when k16 is set, K/V are read in place from an f16 cache instead
  // of k/v (which are then unused): the row of key position p is at
  // k16/v16 + (p % ring) * kv_stride. Decode reads each cached row once this way instead of
  // converting every row of the layer to f32 first; the products are the same (the conversion
  // is exact and the dot products add in the same order).
  const uint16_t* k16 = nullptr;
  const uint16_t* v16 = nullptr;
  int64_t ring = 0;
};

void attention_reference(const AttentionArgs& a, ThreadPool& pool);
void attention_batched(const AttentionArgs& a, ThreadPool& pool);

}  // namespace llmkit::ops
