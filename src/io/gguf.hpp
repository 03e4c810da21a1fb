// GGUF reader (versions 2 and 3, little-endian), zero-copy: tensor data are views into the mapping.
//
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
// Nothing read from the file is trusted: every count, length and offset is checked against the
// bytes that remain before anything is allocated, so a lying count cannot make us allocate
// memory proportional to it.
//
// Thread-safety: a parsed GgufFile is immutable; all const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/ggml_types.hpp"
#include "io/mapped_file.hpp"
#include "llmkit/status.hpp"

namespace llmkit::io {

enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
const char* gguf_type_name(GgufType t) noexcept;

// One metadata value. Scalars use one of u64/i64/f64/str by type; arrays keep their elements in the
// vector that matches the element type (integers and bools in arr_int, floats in arr_float,
// strings in arr_str, nested arrays in arr_nested).
struct GgufValue {
  GgufType type = GgufType::UINT8;
  uint64_t u64 = 0;  // UINT8/16/32/64, BOOL
  int64_t i64 = 0;   // INT8/16/32/64
  double f64 = 0;    // FLOAT32/64
  std::string str;   // STRING (raw bytes as stored)

  GgufType elem_type = GgufType::UINT8;  // ARRAY only
  std::vector<int64_t> arr_int;          // integer/bool elements (UINT64 stored bit-cast)
  std::vector<double> arr_float;
  std::vector<std::string> arr_str;
  std::vector<GgufValue> arr_nested;
  uint64_t elided_size = 0;  // > 0: an array whose elements were not kept (GgufParseOptions)

  bool is_array() const noexcept { return type == GgufType::ARRAY; }
  uint64_t array_size() const noexcept;
  std::optional<int64_t> as_int() const noexcept;   // any integer or bool scalar
  std::optional<double> as_float() const noexcept;  // any numeric scalar
  std::optional<bool> as_bool() const noexcept;
  // Short human-readable rendering (arrays abbreviated), for `llmkit inspect`.
  std::string to_display(size_t max_items = 8) const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the innermost (contiguous) dimension
  uint32_t type = 0;           // TensorType id
  uint64_t offset = 0;         // relative to the data section of its split
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint32_t split = 0;             // index of the split file holding the data
  uint64_t file_offset = 0;       // absolute offset in that file
  const uint8_t* data = nullptr;  // view into the mapping
};

struct GgufParseOptions {
  // Upper bound on any single string (keys, values, names). Real vocabularies have short pieces;
  // chat templates are a few KB. 64 MiB keeps hostile lengths from ballooning.
  uint64_t max_string_bytes = 64ull << 20;
  uint32_t max_array_depth = 4;
  // Arrays with more elements are parsed and validated but not kept: only their length is
  // (GgufValue::elided_size). Model::load sets it: the vocabulary arrays (hundreds of thousands of
  // strings, ~20 MiB parsed) are read by the tokenizer on its own, and nothing else needs them.
  uint64_t max_kept_array_elems = UINT64_MAX;
};

class GgufFile {
 public:
  // Opens PATH. If PATH looks like `NAME-00001-of-0000N.gguf`, opens and merges all N splits
  // (metadata from the first; tensors from all; `split.count`/`split.no` are checked).
  static Result<std::unique_ptr<GgufFile>> open(const std::string& path,
                                                const MapOptions& opts = {},
                                                const GgufParseOptions& popts = {});
  // Parses a buffer the caller keeps alive (fuzzing, tests). `name` is used in messages.
  static Result<std::unique_ptr<GgufFile>> parse(const uint8_t* data, uint64_t size,
                                                 const std::string& name,
                                                 const GgufParseOptions& popts = {});

  uint32_t version() const noexcept { return version_; }
  uint64_t alignment() const noexcept { return alignment_; }
  const std::string& path() const noexcept { return path_; }
  size_t split_count() const noexcept { return files_.empty() ? 1 : files_.size(); }
  const MappedFile* split_file(size_t i) const noexcept {
    return i < files_.size() ? files_[i].get() : nullptr;
  }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const noexcept { return kv_; }
  const GgufValue* find(const std::string& key) const noexcept;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const noexcept { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const noexcept;

 private:
  friend class GgufParser;
  GgufFile() = default;
  Status merge_split(std::unique_ptr<GgufFile> other, uint32_t split_index);

  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::vector<std::unique_ptr<MappedFile>> files_;
};

// `NAME-00001-of-00003.gguf` → {prefix "NAME", index 1, count 3}.
struct SplitName {
  std::string prefix;
  uint32_t index = 0;
  uint32_t count = 0;
};
std::optional<SplitName> parse_split_name(const std::string& path);
std::string make_split_name(const std::string& prefix, uint32_t index, uint32_t count);

}  // namespace llmkit::io
