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
  // Map at a 2 MiB-aligned address with MADV_HUGEPAGE (Linux; files of 2 MiB or more), so the
  // kernel can map page-cache folios that are 2 MiB large with one entry each, and reads the file
  // from disk into such folios. Why: a decode step streams every weight once, and with 4 KiB
  // pages the hardware prefetcher stops at every page boundary (ops/weight_buffer.hpp); measured
  // on a repack-cache mapping: +14 % decode tok/s on Gemma-3-270M at 1 thread. Harmless where
  // the filesystem has no large folios (the mapping stays 4 KiB-paged).
  bool huge_pages = false;
  // The opposite: map 4 KiB pages only (MADV_NOHUGEPAGE), for a file of which a process reads
  // little and scattered (a GGUF whose matrices the fast backend reads from a repack cache, or
  // packs once): where the page cache holds the file in 2 MiB folios, a fault would otherwise
  // map a whole folio, and each 4 KiB norm vector read would add 2 MiB to the RSS.
  bool small_pages = false;
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
  // The same for every 2 MiB-aligned block of the mapping that the range touches, partly covered
  // ones included. For small reads (a norm vector, an embedding row): where the page cache holds
  // the file in large folios, Linux maps a whole folio (up to 2 MiB) when one page of it is read,
  // so the range's own pages are not all a read added to the RSS. Other threads reading there
  // only fault the pages back in.
  void release_blocks_around(uint64_t offset, uint64_t length) const noexcept;
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
