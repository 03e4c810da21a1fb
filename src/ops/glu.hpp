// Gated activations of the fast backend, vectorized (AVX-512 or AVX2 where available, same results
// from the portable loop otherwise up to exp's last bit):
//  - swiglu_fast: out = silu(gate) * up = gate / (1 + exp(-gate)) * up; |rel err| < 4 ulp
//    against the std::exp formula (an AVX-512 exp, as llama.cpp's ggml_v_silu uses one).
//  - geglu_ggml_fast: llama.cpp's CPU GeGLU (ggml defines GGML_GELU_FP16): gelu is looked up
//    from a table over all f16 inputs, y = f16(gelu(f16(x))) * up for -10 < x < 10, x * up
//    above, 0 below. Bit-identical to ops::geglu_ggml.
// out may alias gate or up. Thread-safe (the table is built once, on first use).
#pragma once

#include <cstdint>

namespace llmkit::ops {

void swiglu_fast(const float* gate, const float* up, float* out, int64_t n) noexcept;
void geglu_ggml_fast(const float* gate, const float* up, float* out, int64_t n) noexcept;

}  // namespace llmkit::ops
