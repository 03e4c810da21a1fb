// WeightBuffer: huge-page friendly storage for repacked weights (see weight_buffer.hpp).
#include "ops/weight_buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace llmkit::ops {

namespace {
constexpr size_t kHuge = size_t(2) << 20;
}

WeightBuffer::WeightBuffer(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= kHuge) {
    // Over-allocate by 2 MiB, then trim the unaligned head and the tail.
    const size_t len = (bytes + 4095) / 4096 * 4096;
    void* p =
        mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      const uintptr_t a = reinterpret_cast<uintptr_t>(p);
      const uintptr_t aligned = (a + kHuge - 1) / kHuge * kHuge;
      if (aligned > a) munmap(p, aligned - a);
      const size_t tail = (a + len + kHuge) - (aligned + len);
      if (tail > 0) munmap(reinterpret_cast<void*>(aligned + len), tail);
      (void)madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
      map_ = reinterpret_cast<void*>(aligned);
      map_bytes_ = len;
      data_ = static_cast<uint8_t*>(map_);
      return;
    }
  }
#endif
  void* p = nullptr;
  if (posix_memalign(&p, 64, bytes) != 0 || !p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_ = static_cast<uint8_t*>(p);
}

WeightBuffer WeightBuffer::borrow(const uint8_t* bytes, size_t n,
                                  std::shared_ptr<const void> owner) {
  WeightBuffer b;
  b.data_ = const_cast<uint8_t*>(bytes);  // never written: see the header
  b.size_ = n;
  b.owner_ = owner ? std::move(owner) : std::make_shared<int>(0);
  return b;
}

void WeightBuffer::release() noexcept {
  if (owner_) {
    owner_.reset();  // borrowed: the owner frees the bytes
  } else if (map_) {
#if defined(__linux__)
    munmap(map_, map_bytes_);
#endif
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  map_ = nullptr;
  size_ = map_bytes_ = 0;
}

WeightBuffer::~WeightBuffer() { release(); }

WeightBuffer::WeightBuffer(WeightBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      map_(std::exchange(o.map_, nullptr)),
      map_bytes_(std::exchange(o.map_bytes_, 0)),
      owner_(std::move(o.owner_)) {}

WeightBuffer& WeightBuffer::operator=(WeightBuffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    map_ = std::exchange(o.map_, nullptr);
    map_bytes_ = std::exchange(o.map_bytes_, 0);
    owner_ = std::move(o.owner_);
  }
  return *this;
}

}  // namespace llmkit::ops
