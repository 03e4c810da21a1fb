// Fast linear kernels (placeholder: filled in below the API freeze).
#include "ops/linear_impl.hpp"

namespace llmkit::ops {

bool fast_linear_supports(io::TensorType type) noexcept { return false; }

std::unique_ptr<PackedLinear::Impl> make_fast_linear(io::TensorType type, const uint8_t* data,
                                                     int64_t K, int64_t N) {
  return nullptr;
}

}  // namespace llmkit::ops
