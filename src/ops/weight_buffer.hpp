// Internal: zero-initialised, 64-byte aligned storage for repacked weights.
//
// Why not std::vector: a decode step streams every weight once, and with 4 KiB pages the CPU's
// hardware prefetcher stops at every page boundary (measured: ~35% less read bandwidth on the dev
// VM, see docs/BENCHMARKING.md). Buffers of 2 MiB or more are therefore anonymous mappings
// aligned to 2 MiB with MADV_HUGEPAGE (transparent huge pages; Linux's default THP mode
// "madvise" only gives them to regions that ask). Fresh anonymous pages are already zero, so no
// memset touches the memory before the packer writes it. Smaller buffers use the heap.
// A buffer can also BORROW read-only bytes that live elsewhere (a mapped repack-cache file, see
// runtime/repack_cache.hpp), keeping their owner alive through a shared_ptr; writing to a
// borrowed buffer is a bug (the mapping is read-only).
// Move-only; not thread-safe to mutate, safe to read from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace llmkit::ops {

class WeightBuffer {
 public:
  WeightBuffer() = default;
  // Throws std::bad_alloc when the memory cannot be had (the callers' create() catch it).
  explicit WeightBuffer(size_t bytes);
  // A view of BYTES[0, n) kept valid by OWNER.
  static WeightBuffer borrow(const uint8_t* bytes, size_t n, std::shared_ptr<const void> owner);
  ~WeightBuffer();
  WeightBuffer(WeightBuffer&& o) noexcept;
  WeightBuffer& operator=(WeightBuffer&& o) noexcept;
  WeightBuffer(const WeightBuffer&) = delete;
  WeightBuffer& operator=(const WeightBuffer&) = delete;

  uint8_t* data() noexcept { return data_; }
  const uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  bool borrowed() const noexcept { return owner_ != nullptr; }

 private:
  void release() noexcept;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;  // mapping to munmap (nullptr: data_ is from the heap)
  size_t map_bytes_ = 0;
  std::shared_ptr<const void> owner_;  // set: data_ is borrowed from it
};

}  // namespace llmkit::ops
