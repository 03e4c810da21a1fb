// RepackCache: packed weights on disk (see repack_cache.hpp for the format and the trust model).
#include "models/repack_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "llmkit/version.hpp"

namespace llmkit::models {

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
static_assert(sizeof(Header) <= RepackCache::kHeaderBytes);

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

uint64_t align_up(uint64_t x) {
  return (x + RepackCache::kAlign - 1) / RepackCache::kAlign * RepackCache::kAlign;
}

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

// pwrite all of [data, data + n) at OFFSET; false on error (errno set).
bool write_all(int fd, const uint8_t* data, uint64_t n, uint64_t offset) {
  while (n > 0) {
    const size_t chunk = size_t(std::min<uint64_t>(n, uint64_t(1) << 30));
    const ssize_t w = ::pwrite(fd, data, chunk, off_t(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= uint64_t(w);
    offset += uint64_t(w);
  }
  return true;
}

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 19)) >> 20) + " MiB"; }

}  // namespace

std::unique_ptr<RepackCache> RepackCache::open(const std::string& dir,
                                               const std::string& model_path) {
  std::unique_ptr<RepackCache> c(new RepackCache());
  c->dir_ = dir;
  struct stat st {};
  if (::stat(model_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    c->note_ = "repack cache not used: " + model_path + " is not a regular file";
    return c;
  }
  c->source_id_[0] = uint64_t(st.st_size);
  c->source_id_[1] = uint64_t(st.st_mtim.tv_sec) * 1000000000ull + uint64_t(st.st_mtim.tv_nsec);
  c->source_id_[2] = uint64_t(st.st_ino);
  c->source_id_[3] = uint64_t(st.st_dev);
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::weakly_canonical(model_path, ec);
  if (ec) abs = std::filesystem::absolute(model_path, ec);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(abs.string())));
  c->path_ = (std::filesystem::path(dir) /
              (std::filesystem::path(model_path).filename().string() + "-" + hex + ".llmkpack"))
                 .string();
  c->usable_dir_ = true;

  io::MapOptions mo;
  mo.populate = true;  // the first token reads every page anyway; one populate is cheaper
  auto m = io::MappedFile::open(c->path_, mo);
  if (!m) {
    c->note_ = m.status().code() == StatusCode::kNotFound
                   ? "repack cache: no file yet at " + c->path_
                   : "repack cache not read: " + m.status().message();
    return c;
  }
  std::string why;
  auto entries = parse((*m)->data(), (*m)->size(), c->source_id_, &why);
  if (!entries) {
    c->note_ = "repack cache ignored (" + why + "): " + c->path_;
    return c;
  }
  c->map_ = std::shared_ptr<io::MappedFile>(std::move(m).value());
  for (Entry& e : *entries) c->by_key_.emplace(e.key, std::move(e));
  c->note_ = "repack cache: " + std::to_string(c->by_key_.size()) + " layers in " + c->path_;
  return c;
}

std::optional<std::vector<RepackCache::Entry>> RepackCache::parse(const uint8_t* data,
                                                                  uint64_t size,
                                                                  const uint64_t source_id[4],
                                                                  std::string* why) {
  auto fail = [&](const std::string& w) {
    *why = w;
    return std::nullopt;
  };
  if (!data || size < kHeaderBytes) return fail("shorter than its header");
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
  if (h.n_entries > kMaxEntries) return fail("entry count " + std::to_string(h.n_entries));
  if (h.index_offset < kHeaderBytes || h.index_offset > size ||
      h.index_size > size - h.index_offset)
    return fail("index at offset " + std::to_string(h.index_offset) + " is out of bounds");
  const uint64_t index_end = h.index_offset + h.index_size;
  Cursor cur{data + h.index_offset, data + index_end};
  std::vector<Entry> out;
  out.reserve(h.n_entries);
  std::unordered_map<std::string, int> seen;
  for (uint32_t i = 0; i < h.n_entries; ++i) {
    const std::string at = "index entry " + std::to_string(i);
    Entry e;
    uint32_t key_len = 0, pad = 0;
    if (!cur.get(&key_len)) return fail(at + " is truncated");
    if (key_len == 0 || key_len > kMaxKey)
      return fail(at + " has key length " + std::to_string(key_len));
    if (!cur.bytes(&e.key, key_len) || !cur.get(&e.type) || !cur.get(&pad) || !cur.get(&e.K) ||
        !cur.get(&e.N) || !cur.get(&e.fingerprint) || !cur.get(&e.offset) || !cur.get(&e.size))
      return fail(at + " is truncated");
    if (e.K <= 0 || e.N <= 0)
      return fail(at + " has shape " + std::to_string(e.K) + " x " + std::to_string(e.N));
    if (e.offset % kAlign != 0 || e.offset < index_end || e.offset > size ||
        e.size > size - e.offset)
      return fail(at + " ('" + e.key + "'): bytes at offset " + std::to_string(e.offset) + " (+" +
                  std::to_string(e.size) + ") are out of bounds");
    if (!seen.emplace(e.key, 0).second) return fail(at + " repeats key '" + e.key + "'");
    out.push_back(std::move(e));
  }
  return out;
}

uint64_t RepackCache::fingerprint(io::TensorType type) {
  auto it = fingerprints_.find(uint32_t(type));
  if (it != fingerprints_.end()) return it->second;
  const uint64_t f = ops::packed_format_fingerprint(type);
  fingerprints_.emplace(uint32_t(type), f);
  return f;
}

std::optional<ops::PackedLinear> RepackCache::lookup(const std::string& key, io::TensorType type,
                                                     int64_t K, int64_t N) {
  auto it = by_key_.find(key);
  const uint64_t fp = fingerprint(type);
  if (it == by_key_.end() || fp == 0 || it->second.type != uint32_t(type) || it->second.K != K ||
      it->second.N != N || it->second.fingerprint != fp) {
    ++misses_;
    return std::nullopt;
  }
  const Entry& e = it->second;
  auto lin = ops::PackedLinear::from_packed(type, K, N, map_->data() + e.offset, e.size, map_);
  if (!lin) {
    ++misses_;
    return std::nullopt;
  }
  recorded_.push_back({key, e.type, K, N, fp, lin->packed_data(), lin->packed_size()});
  ++hits_;
  return std::move(lin).value();
}

void RepackCache::record(const std::string& key, const ops::PackedLinear& layer) {
  const uint64_t fp = fingerprint(layer.type());
  if (fp == 0 || !layer.packed_data() || layer.packed_size() == 0) return;
  recorded_.push_back({key, uint32_t(layer.type()), layer.n_in(), layer.n_out(), fp,
                       layer.packed_data(), layer.packed_size()});
  new_entries_ = true;
}

bool RepackCache::save() {
  if (!usable_dir_) return false;
  if (!new_entries_) {
    if (hits_ > 0) {
      uint64_t bytes = 0;
      for (const Recorded& r : recorded_) bytes += r.size;
      note_ = "repack cache: " + std::to_string(hits_) + " layers (" + mib(bytes) +
              ") mapped from " + path_;
    }
    return false;
  }
  std::vector<uint8_t> index;
  for (const Recorded& r : recorded_) {
    put(index, uint32_t(r.key.size()));
    index.insert(index.end(), r.key.begin(), r.key.end());
    put(index, r.type);
    put(index, uint32_t(0));
    put(index, r.K);
    put(index, r.N);
    put(index, r.fingerprint);
    put(index, uint64_t(0));  // offset: patched below
    put(index, r.size);
  }
  uint64_t offset = align_up(kHeaderBytes + index.size());
  std::vector<uint64_t> offsets;
  {
    size_t pos = 0;
    for (const Recorded& r : recorded_) {
      pos += 4 + r.key.size() + 4 + 4 + 8 + 8 + 8;  // up to the offset field
      std::memcpy(index.data() + pos, &offset, 8);
      pos += 8 + 8;
      offsets.push_back(offset);
      offset = align_up(offset + r.size);
    }
  }
  const uint64_t total = offset;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    note_ = "repack cache not written: cannot create " + dir_ + ": " + ec.message();
    return false;
  }
  struct statvfs vfs {};
  constexpr uint64_t kKeepFree = uint64_t(256) << 20;
  if (::statvfs(dir_.c_str(), &vfs) == 0 &&
      uint64_t(vfs.f_bavail) * uint64_t(vfs.f_frsize) < total + kKeepFree) {
    note_ = "repack cache not written: " + dir_ + " has " +
            mib(uint64_t(vfs.f_bavail) * uint64_t(vfs.f_frsize)) + " free, it needs " + mib(total) +
            " (+256 MiB kept free)";
    return false;
  }
  const std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    note_ = "repack cache not written: cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kFormatVersion;
  h.n_entries = uint32_t(recorded_.size());
  for (int i = 0; i < 4; ++i) h.source[i] = source_id_[i];
  h.index_offset = kHeaderBytes;
  h.index_size = index.size();
  h.file_size = total;
  h.endian_check = kEndianCheck;
  std::snprintf(h.llmkit_version, sizeof h.llmkit_version, "%s", LLMKIT_VERSION_STRING);
  bool ok =
      ::ftruncate(fd, off_t(total)) == 0 && write_all(fd, index.data(), index.size(), kHeaderBytes);
  for (size_t i = 0; ok && i < recorded_.size(); ++i)
    ok = write_all(fd, recorded_[i].bytes, recorded_[i].size, offsets[i]);
  // The header last: a file is complete only once its magic is written (and renamed into place).
  ok = ok && write_all(fd, reinterpret_cast<const uint8_t*>(&h), sizeof h, 0);
  const int saved_errno = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    note_ = "repack cache not written: " + tmp + ": " + std::strerror(ok ? errno : saved_errno);
    ::unlink(tmp.c_str());
    return false;
  }
  note_ = "repack cache: wrote " + std::to_string(recorded_.size()) + " layers (" + mib(total) +
          ") to " + path_;
  return true;
}

}  // namespace llmkit::models
