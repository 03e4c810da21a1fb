// ggml tensor type ids (as stored in GGUF tensor infos) and their block geometry.
// Ids are ggml's; llmkit adds ids >= 1000 for safetensors-only dtypes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace llmkit::io {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  // safetensors-only
  U8 = 1000,
  BOOL = 1001,
};

struct TypeTraits {
  const char* name;
  uint32_t block_size;  // elements per block
  uint32_t type_size;   // bytes per block
};

// nullptr for an id that is not a known type (including ggml's removed ids 4, 5, 31-33, 36-38).
const TypeTraits* type_traits(uint32_t id) noexcept;
inline const TypeTraits* type_traits(TensorType t) noexcept {
  return type_traits(static_cast<uint32_t>(t));
}
std::string type_name(uint32_t id);  // "Q4_K", or "unknown(77)"
std::optional<TensorType> type_from_name(const std::string& name);

// Bytes for a tensor whose innermost dimension is ne0 and total element count n_elements.
// Fails (nullopt) when ne0 is not a multiple of the block size or the product overflows.
std::optional<uint64_t> tensor_bytes(uint32_t type, uint64_t ne0, uint64_t n_elements) noexcept;

}  // namespace llmkit::io
