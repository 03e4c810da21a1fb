// Read-only memory-mapped file with a read-into-memory fallback.
//
// Thread-safety: a MappedFile is immutable after open(); views may be read from any thread.
// Ownership: views (`data()`, `span()`) are valid while the MappedFile lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit::io {

struct MapOptions {
  bool use_mmap = true;  // false: read the whole file into heap memory (no mmap available / wanted)
  bool populate = false;  // prefetch pages (MAP_POPULATE / MADV_WILLNEED) for a warm first token
  bool lock = false;  // mlock the mapping so it is never paged out (best effort; warns on failure)
  bool sequential = false;  // MADV_SEQUENTIAL hint for one-pass readers (hashing, repacking)
};

class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path,
                                                  const MapOptions& opts = {});
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const noexcept { return data_; }
  uint64_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }
  bool is_mapped() const noexcept { return mapped_; }
  bool is_locked() const noexcept { return locked_; }

  // Tell the kernel a byte range will not be needed again soon (e.g. after repacking weights into
  // another layout): pages are dropped from this process's resident set; the file stays mapped.
  void release_range(uint64_t offset, uint64_t length) const noexcept;
  // Ask the kernel to read a range ahead (MADV_WILLNEED).
  void prefetch_range(uint64_t offset, uint64_t length) const noexcept;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  bool locked_ = false;
  std::vector<uint8_t> heap_;  // fallback storage when not mapped
};

}  // namespace llmkit::io
