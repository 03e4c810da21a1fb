// The repack cache file format (see repack_cache_format.hpp).
#include "io/repack_cache_format.hpp"

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "llmkit/version.hpp"

namespace llmkit::io {

namespace {

// Bump when the decoder changes what it feeds the packer for a given tensor (the Q/K row
// permutation, which tensors are stacked): the packing fingerprint cannot see those.
constexpr uint32_t kFormatVersion = 1;
constexpr char kMagic[8] = {'L', 'L', 'M', 'K', 'P', 'A', 'K', '1'};
constexpr uint32_t kEndianCheck = 0x01020304;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t n_entries;
  uint64_t source[4];  // size, mtime (ns), inode, device of the GGUF file
  uint64_t index_offset, index_size;
  uint64_t file_size;
  uint32_t endian_check;
  uint32_t reserved;
  char llmkit_version[32];
};
static_assert(sizeof(Header) <= kRepackHeaderBytes);

uint64_t align_up(uint64_t x) { return (x + kRepackAlign - 1) / kRepackAlign * kRepackAlign; }

// Reads fixed-size fields from [p, end) and fails (returns false) instead of running past it.
struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  template <typename T>
  bool get(T* v) {
    if (uint64_t(end - p) < sizeof(T)) return false;
    std::memcpy(v, p, sizeof(T));
    p += sizeof(T);
    return true;
  }
  bool bytes(std::string* s, uint32_t n) {
    if (uint64_t(end - p) < n) return false;
    s->assign(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }
};

template <typename T>
void put(std::vector<uint8_t>& out, const T& v) {
  const auto* b = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), b, b + sizeof(T));
}

}  // namespace

std::optional<std::vector<RepackCacheEntry>> parse_repack_cache(const uint8_t* data, uint64_t size,
                                                                const uint64_t source_id[4],
                                                                std::string* why) {
  auto fail = [&](const std::string& w) {
    *why = w;
    return std::nullopt;
  };
  if (!data || size < kRepackHeaderBytes) return fail("shorter than its header");
  Header h;
  std::memcpy(&h, data, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return fail("bad magic");
  if (h.endian_check != kEndianCheck) return fail("written with another byte order");
  if (h.version != kFormatVersion)
    return fail("format version " + std::to_string(h.version) + ", expected " +
                std::to_string(kFormatVersion));
  if (h.file_size != size)
    return fail("header says " + std::to_string(h.file_size) + " bytes, file has " +
                std::to_string(size));
  for (int i = 0; i < 4; ++i)
    if (h.source[i] != source_id[i]) return fail("the model file changed since it was written");
  if (h.n_entries > kRepackMaxEntries) return fail("entry count " + std::to_string(h.n_entries));
  if (h.index_offset < kRepackHeaderBytes || h.index_offset > size ||
      h.index_size > size - h.index_offset)
    return fail("index at offset " + std::to_string(h.index_offset) + " is out of bounds");
  const uint64_t index_end = h.index_offset + h.index_size;
  Cursor cur{data + h.index_offset, data + index_end};
  std::vector<RepackCacheEntry> out;
  out.reserve(h.n_entries);
  std::unordered_map<std::string, int> seen;
  for (uint32_t i = 0; i < h.n_entries; ++i) {
    const std::string at = "index entry " + std::to_string(i);
    RepackCacheEntry e;
    uint32_t key_len = 0, pad = 0;
    if (!cur.get(&key_len)) return fail(at + " is truncated");
    if (key_len == 0 || key_len > kRepackMaxKey)
      return fail(at + " has key length " + std::to_string(key_len));
    if (!cur.bytes(&e.key, key_len) || !cur.get(&e.type) || !cur.get(&pad) || !cur.get(&e.K) ||
        !cur.get(&e.N) || !cur.get(&e.fingerprint) || !cur.get(&e.offset) || !cur.get(&e.size))
      return fail(at + " is truncated");
    if (e.K <= 0 || e.N <= 0)
      return fail(at + " has shape " + std::to_string(e.K) + " x " + std::to_string(e.N));
    if (e.offset % kRepackAlign != 0 || e.offset < index_end || e.offset > size ||
        e.size > size - e.offset)
      return fail(at + " ('" + e.key + "'): bytes at offset " + std::to_string(e.offset) + " (+" +
                  std::to_string(e.size) + ") are out of bounds");
    if (!seen.emplace(e.key, 0).second) return fail(at + " repeats key '" + e.key + "'");
    out.push_back(std::move(e));
  }
  return out;
}

RepackCacheImage layout_repack_cache(std::vector<RepackCacheEntry>& entries,
                                     const uint64_t source_id[4]) {
  RepackCacheImage img;
  size_t index_bytes = 0;
  for (const RepackCacheEntry& e : entries) index_bytes += 4 + e.key.size() + 4 + 4 + 8 * 5;
  uint64_t offset = align_up(kRepackHeaderBytes + index_bytes);
  for (RepackCacheEntry& e : entries) {
    e.offset = offset;
    offset = align_up(offset + e.size);
    put(img.index, uint32_t(e.key.size()));
    img.index.insert(img.index.end(), e.key.begin(), e.key.end());
    put(img.index, e.type);
    put(img.index, uint32_t(0));
    put(img.index, e.K);
    put(img.index, e.N);
    put(img.index, e.fingerprint);
    put(img.index, e.offset);
    put(img.index, e.size);
  }
  img.file_size = offset;
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kFormatVersion;
  h.n_entries = uint32_t(entries.size());
  for (int i = 0; i < 4; ++i) h.source[i] = source_id[i];
  h.index_offset = kRepackHeaderBytes;
  h.index_size = img.index.size();
  h.file_size = img.file_size;
  h.endian_check = kEndianCheck;
  std::snprintf(h.llmkit_version, sizeof h.llmkit_version, "%s", LLMKIT_VERSION_STRING);
  img.header.assign(kRepackHeaderBytes, 0);
  std::memcpy(img.header.data(), &h, sizeof h);
  return img;
}

}  // namespace llmkit::io
