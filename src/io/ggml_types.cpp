#include "io/ggml_types.hpp"

#include <array>

namespace llmkit::io {

namespace {
struct Entry {
  uint32_t id;
  TypeTraits traits;
};
// Block geometry from ggml's type_traits (ggml.c). Q8_1 is 36 bytes there (two f16 + 32 int8);
// the `gguf` Python package lists 40 (an older layout) — it never appears in files.
constexpr std::array<Entry, 36> kTypes = {{
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},
    {3, {"Q4_1", 32, 20}},      {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},
    {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 36}},      {10, {"Q2_K", 256, 84}},
    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}},
    {17, {"IQ2_XS", 256, 74}},  {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
    {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}},  {22, {"IQ2_S", 256, 82}},
    {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},         {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},
    {29, {"IQ1_M", 256, 56}},   {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},
    {35, {"TQ2_0", 256, 66}},   {39, {"MXFP4", 32, 17}},    {40, {"NVFP4", 64, 36}},
    {41, {"Q1_0", 128, 18}},    {1000, {"U8", 1, 1}},       {1001, {"BOOL", 1, 1}},
}};
}  // namespace

const TypeTraits* type_traits(uint32_t id) noexcept {
  for (const auto& e : kTypes)
    if (e.id == id) return &e.traits;
  return nullptr;
}

std::string type_name(uint32_t id) {
  const TypeTraits* t = type_traits(id);
  return t ? std::string(t->name) : "unknown(" + std::to_string(id) + ")";
}

std::optional<TensorType> type_from_name(const std::string& name) {
  for (const auto& e : kTypes)
    if (name == e.traits.name) return static_cast<TensorType>(e.id);
  return std::nullopt;
}

std::optional<uint64_t> tensor_bytes(uint32_t type, uint64_t ne0, uint64_t n_elements) noexcept {
  const TypeTraits* t = type_traits(type);
  if (!t) return std::nullopt;
  if (ne0 % t->block_size != 0 || n_elements % t->block_size != 0) return std::nullopt;
  uint64_t blocks = n_elements / t->block_size;
  if (blocks != 0 && t->type_size > UINT64_MAX / blocks) return std::nullopt;
  return blocks * t->type_size;
}

}  // namespace llmkit::io
