// Internal: the on-disk format of a repack cache file (*.llmkpack): header, index, layout.
// The cache logic (when to read and write, how layers attach) is models/repack_cache.hpp; this
// file only knows bytes, so the parser can be fuzzed without the compute code.
//
// Layout, little-endian as written by this machine:
//   [0, 4096)   header: magic "LLMKPAK1", format version, entry count, the source GGUF's size,
//               mtime (ns), inode and device, the index's offset/size, the file size, a byte-order
//               check word, the llmkit version
//   index       per entry: u32 key length, key bytes, u32 tensor type, u32 0, i64 K, i64 N,
//               u64 packing fingerprint, u64 offset, u64 size
//   data        each entry's packed bytes at a 4096-aligned offset after the index
// Nothing in a file is trusted: parse() checks every count, offset and size against the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmkit::io {

struct RepackCacheEntry {
  std::string key;
  uint32_t type = 0;  // io::TensorType
  int64_t K = 0, N = 0;
  uint64_t fingerprint = 0;  // ops::packed_format_fingerprint of the type when written
  uint64_t offset = 0, size = 0;
};

constexpr uint64_t kRepackHeaderBytes = 4096;
constexpr uint64_t kRepackAlign = 4096;
constexpr uint32_t kRepackMaxEntries = 1u << 20;
constexpr uint32_t kRepackMaxKey = 4096;

// Parses a cache image. SOURCE_ID is the identity the entries must have been written for (size,
// mtime_ns, inode, device of the GGUF). Returns the entries (all inside the image, 4096-aligned,
// after the index, keys unique), or nullopt with WHY set.
std::optional<std::vector<RepackCacheEntry>> parse_repack_cache(const uint8_t* data, uint64_t size,
                                                                const uint64_t source_id[4],
                                                                std::string* why);

// The header and index for ENTRIES (their offset fields are assigned here, in order) and the
// total file size; the caller writes each entry's bytes at its offset, the index at
// kRepackHeaderBytes and the header at 0 (last, so a file is complete once it has its magic).
struct RepackCacheImage {
  std::vector<uint8_t> header;  // kRepackHeaderBytes bytes
  std::vector<uint8_t> index;
  uint64_t file_size = 0;
};
RepackCacheImage layout_repack_cache(std::vector<RepackCacheEntry>& entries,
                                     const uint64_t source_id[4]);

}  // namespace llmkit::io
