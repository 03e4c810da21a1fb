// SHA-256 (FIPS 180-4) of a byte range or a whole file, for `llmkit inspect --sha256` and model
// cache verification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "llmkit/status.hpp"

namespace llmkit::io {

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t n);
  std::string hex_digest();  // finalizes; the object is spent afterwards

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

Result<std::string> sha256_file(const std::string& path);

}  // namespace llmkit::io
