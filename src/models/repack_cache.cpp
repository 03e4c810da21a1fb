// RepackCache: packed weights on disk (see repack_cache.hpp for the format and the trust model).
#include "models/repack_cache.hpp"

#include "io/repack_cache_format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>
#include <vector>

namespace llmkit::models {

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
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

// A run of bytes of the cache image: [offset, offset + size) of the file comes from DATA.
struct Segment {
  uint64_t offset;
  const uint8_t* data;
  uint64_t size;
};

constexpr uint64_t kWriteBlock = uint64_t(2) << 20;

// Writes bytes [START, START + N) of the image made of SEGMENTS (zeros between them) to OUT.
void fill_block(const std::vector<Segment>& segments, uint64_t start, uint64_t n, uint8_t* out) {
  std::memset(out, 0, size_t(n));
  for (const Segment& s : segments) {
    const uint64_t lo = std::max(start, s.offset), hi = std::min(start + n, s.offset + s.size);
    if (lo < hi) std::memcpy(out + (lo - start), s.data + (lo - s.offset), size_t(hi - lo));
  }
}

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 19)) >> 20) + " MiB"; }

}  // namespace

std::unique_ptr<RepackCache> RepackCache::open(const std::string& dir,
                                               const std::string& model_path,
                                               const std::vector<std::string>& files) {
  std::unique_ptr<RepackCache> c(new RepackCache());
  c->dir_ = dir;
  struct stat st {};
  if (::stat(model_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    c->note_ = "repack cache not used: " + model_path + " is not a regular file";
    return c;
  }
  // The identity of every file the weights come from (all splits of a split GGUF): one file's
  // size, mtime (ns), inode and device as they are, several files' folded together per field.
  for (size_t i = 0; i < std::max<size_t>(1, files.size()); ++i) {
    const std::string& f = files.empty() ? model_path : files[i];
    if (::stat(f.c_str(), &st) != 0) {
      c->note_ = "repack cache not used: cannot stat " + f;
      return c;
    }
    const uint64_t id[4] = {
        uint64_t(st.st_size),
        uint64_t(st.st_mtim.tv_sec) * 1000000000ull + uint64_t(st.st_mtim.tv_nsec),
        uint64_t(st.st_ino), uint64_t(st.st_dev)};
    for (int k = 0; k < 4; ++k)
      c->source_id_[k] = i == 0 ? id[k] : (c->source_id_[k] ^ id[k]) * 0x100000001b3ull + i;
  }
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
  mo.populate = true;    // the first token reads every page anyway; one populate is cheaper
  mo.huge_pages = true;  // decode streams these bytes: 2 MiB pages where the page cache has them
  auto m = io::MappedFile::open(c->path_, mo);
  if (!m) {
    c->note_ = m.status().code() == StatusCode::kNotFound
                   ? "repack cache: no file yet at " + c->path_
                   : "repack cache not read: " + m.status().message();
    return c;
  }
  std::string why;
  auto entries = io::parse_repack_cache((*m)->data(), (*m)->size(), c->source_id_, &why);
  if (!entries) {
    c->note_ = "repack cache ignored (" + why + "): " + c->path_;
    return c;
  }
  c->map_ = std::shared_ptr<io::MappedFile>(std::move(m).value());
  for (io::RepackCacheEntry& e : *entries) c->by_key_.emplace(e.key, std::move(e));
  c->note_ = "repack cache: " + std::to_string(c->by_key_.size()) + " layers in " + c->path_;
  return c;
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
  const io::RepackCacheEntry& e = it->second;
  auto lin = ops::PackedLinear::from_packed(type, K, N, map_->data() + e.offset, e.size, map_);
  if (!lin) {
    ++misses_;
    return std::nullopt;
  }
  recorded_.push_back({key, e.type, K, N, fp, 0, lin->packed_size()});
  recorded_bytes_.push_back(lin->packed_data());
  ++hits_;
  return std::move(lin).value();
}

void RepackCache::record(const std::string& key, const ops::PackedLinear& layer) {
  const uint64_t fp = fingerprint(layer.type());
  if (fp == 0 || !layer.packed_data() || layer.packed_size() == 0) return;
  recorded_.push_back(
      {key, uint32_t(layer.type()), layer.n_in(), layer.n_out(), fp, 0, layer.packed_size()});
  recorded_bytes_.push_back(layer.packed_data());
  new_entries_ = true;
}

bool RepackCache::save() {
  if (!usable_dir_) return false;
  if (!new_entries_) {
    if (hits_ > 0) {
      uint64_t bytes = 0;
      for (const io::RepackCacheEntry& r : recorded_) bytes += r.size;
      note_ = "repack cache: " + std::to_string(hits_) + " layers (" + mib(bytes) +
              ") mapped from " + path_;
    }
    return false;
  }
  std::vector<io::RepackCacheEntry>& entries = recorded_;  // offsets assigned here
  const io::RepackCacheImage img = io::layout_repack_cache(entries, source_id_);
  const uint64_t total = img.file_size;
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
  // The image is written in whole, aligned 2 MiB blocks: a filesystem with large folios (e.g. ext4
  // on Linux 6.18) then caches each block as one 2 MiB folio, which the next load maps with one
  // huge-page entry (io::MapOptions::huge_pages); writes of one layer at a time leave 4 KiB
  // folios wherever a block holds the end of one layer and the start of the next.
  std::vector<Segment> segments;
  segments.push_back({io::kRepackHeaderBytes, img.index.data(), img.index.size()});
  for (size_t i = 0; i < recorded_.size(); ++i)
    segments.push_back({entries[i].offset, recorded_bytes_[i], entries[i].size});
  bool ok = ::ftruncate(fd, off_t(total)) == 0;
  std::vector<uint8_t> block;
  try {
    block.resize(size_t(std::min<uint64_t>(total, kWriteBlock)));
  } catch (const std::bad_alloc&) {
    ok = false;
    errno = ENOMEM;
  }
  const uint64_t n_blocks = (total + kWriteBlock - 1) / kWriteBlock;
  // Block 0 last, with the header: a file is complete only once its magic is written (and
  // renamed into place).
  for (uint64_t b = 1; ok && b <= n_blocks; ++b) {
    const uint64_t start = (b % n_blocks) * kWriteBlock;
    const uint64_t n = std::min<uint64_t>(kWriteBlock, total - start);
    fill_block(segments, start, n, block.data());
    if (start == 0) std::memcpy(block.data(), img.header.data(), img.header.size());
    ok = write_all(fd, block.data(), n, start);
  }
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
