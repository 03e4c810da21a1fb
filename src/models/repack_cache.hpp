// Internal: an on-disk cache of a model's repacked weights, for fast second loads.
//
// Why: the fast kernels read weights in a repacked layout (ops/linear.hpp), so a load writes a
// packed copy of every matrix into fresh anonymous memory. On the machines we measured, most of
// that time is the kernel zeroing new pages, and in VMs whose host backs guest memory lazily a
// first touch is several times slower still (BENCHMARKS.md). A cache file holds the packed
// bytes; a later load maps it read-only (pages come straight from the page cache, like
// llama.cpp's mmap of the GGUF) and attaches every layer to the mapping without copying. The file
// is written in aligned 2 MiB blocks and mapped with io::MapOptions::huge_pages, so where the
// filesystem caches it in 2 MiB folios the decode stream reads it through 2 MiB pages.
//
// File: <dir>/<model file name>-<16 hex digits of a hash of its absolute path>.llmkpack
// (one file per model path; a stale one is replaced). Its bytes (header, index, 4096-aligned
// data) are io/repack_cache_format.hpp.
// Trust: the file is validated like any input (magic, version, sizes, every offset and size in
// bounds, entry sizes equal to what the layout of (type, K, N) needs); any mismatch makes the
// cache miss, never an error or a crash. The data bytes are only ever used as numbers.
// Staleness: an entry is used only if the source files' size, mtime, inode and device are those
// recorded (every split of a split GGUF), and its type's packing fingerprint equals this build's.
// Writing: after a load that missed, to "<file>.tmp.<pid>", renamed over the old file when
// complete, so readers never see a partial file. Failures (no space, read-only dir) are noted and
// ignored: the model still loads.
//
// Not thread-safe: one load uses one RepackCache.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/ggml_types.hpp"
#include "io/mapped_file.hpp"
#include "io/repack_cache_format.hpp"
#include "ops/linear.hpp"

namespace llmkit::models {

class RepackCache {
 public:
  // The cache file for the GGUF file MODEL_PATH under DIR (created on save() if need be). FILES:
  // every file the weights come from (the splits of a split GGUF; empty: MODEL_PATH alone), all
  // part of the staleness check. Never fails: an unreadable, stale or malformed file means every
  // lookup misses (see note()).
  static std::unique_ptr<RepackCache> open(const std::string& dir, const std::string& model_path,
                                           const std::vector<std::string>& files = {});

  // The cached layer for KEY when an entry with that key, type and shape is valid; nullopt
  // otherwise. A hit is remembered for save() (its bytes stay in the mapping).
  std::optional<ops::PackedLinear> lookup(const std::string& key, io::TensorType type, int64_t K,
                                          int64_t N);
  // Remembers the packed bytes of LAYER (packed after a miss) under KEY, for save(). The bytes
  // must stay valid until save() (moving a PackedLinear keeps them in place). Layers without
  // packed bytes (types without a fast kernel) are not cached: they are packed on every load.
  void record(const std::string& key, const ops::PackedLinear& layer);

  // Writes the cache file when a layer was recorded after a miss. Returns false with a note when
  // it did not write (nothing new, or a failure); never throws.
  bool save();

  // One line for logs: what the cache did ("12 layers mapped from ...", "wrote ...", why not).
  const std::string& note() const noexcept { return note_; }
  const std::string& path() const noexcept { return path_; }
  int hits() const noexcept { return hits_; }
  int misses() const noexcept { return misses_; }

 private:
  RepackCache() = default;
  std::string dir_, path_, note_;
  uint64_t source_id_[4] = {0, 0, 0, 0};
  bool usable_dir_ = false;  // a source identity was read and the path built
  std::shared_ptr<io::MappedFile> map_;
  std::unordered_map<std::string, io::RepackCacheEntry> by_key_;
  // Every layer for save(), in build order: its index entry (offset assigned when written) and
  // where its packed bytes are now.
  std::vector<io::RepackCacheEntry> recorded_;
  std::vector<const uint8_t*> recorded_bytes_;
  std::unordered_map<uint32_t, uint64_t> fingerprints_;  // per type, memoized
  int hits_ = 0, misses_ = 0;
  bool new_entries_ = false;  // record() stored a layer packed after a miss
  uint64_t fingerprint(io::TensorType type);
};

}  // namespace llmkit::models
