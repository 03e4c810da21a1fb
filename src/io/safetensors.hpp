// safetensors reader: https://huggingface.co/docs/safetensors — 8-byte little-endian header
// length N, N bytes of JSON header, then the byte buffer. Zero-copy views into the mapping.
//
// Nothing is trusted: the header size is bounded, every tensor's [begin, end) must lie inside the
// buffer, match shape × dtype, and not overlap another tensor; duplicate names are rejected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/ggml_types.hpp"
#include "io/mapped_file.hpp"
#include "llmkit/status.hpp"

namespace llmkit::io {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // as written: "F32", "BF16", ...
  TensorType type = TensorType::F32;
  std::vector<uint64_t> shape;  // as written (PyTorch order, outermost first)
  uint64_t begin = 0, end = 0;  // relative to the byte buffer
  uint64_t file_offset = 0;     // absolute
  uint64_t n_elements = 0;
  const uint8_t* data = nullptr;
};

struct SafetensorsOptions {
  uint64_t max_header_bytes = 100ull << 20;  // the format's own recommended bound is 100 MB
};

class SafetensorsFile {
 public:
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path,
                                                       const MapOptions& opts = {},
                                                       const SafetensorsOptions& sopts = {});
  // Parses a buffer the caller keeps alive (fuzzing, tests).
  static Result<std::unique_ptr<SafetensorsFile>> parse(const uint8_t* data, uint64_t size,
                                                        const std::string& name,
                                                        const SafetensorsOptions& sopts = {});

  const std::string& path() const noexcept { return path_; }
  const std::vector<SafetensorsTensor>& tensors() const noexcept { return tensors_; }
  const SafetensorsTensor* find(const std::string& name) const noexcept;
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  std::shared_ptr<const MappedFile> mapping() const noexcept { return file_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::shared_ptr<const MappedFile> file_;
};

// dtype string → type and element size; kUnsupported with a clear message for F8 and others.
Result<TensorType> safetensors_dtype(const std::string& dtype, const std::string& where);

}  // namespace llmkit::io
