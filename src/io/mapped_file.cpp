#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace llmkit::io {

namespace {
uint64_t page_size() {
  static const uint64_t ps = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return ps;
}
std::string errno_text() { return std::strerror(errno); }

constexpr uint64_t kHugePage = uint64_t(2) << 20;

// Maps SIZE bytes of FD read-only as OPTS asks; MAP_FAILED when mmap fails.
void* map_file(int fd, uint64_t size, const MapOptions& opts) {
  void* p = MAP_FAILED;
  bool huge = false;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (opts.huge_pages && size >= kHugePage) {
    // Reserve SIZE + 2 MiB of address space, map the file over its first 2 MiB-aligned address,
    // give back the unused head and tail. The hint must precede the first touch: the kernel picks
    // the folio size when it reads the file in, and the page size when it maps a folio.
    const uint64_t len = (size + page_size() - 1) / page_size() * page_size();
    void* r = mmap(nullptr, len + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r != MAP_FAILED) {
      const uintptr_t a = reinterpret_cast<uintptr_t>(r);
      const uintptr_t aligned = (a + kHugePage - 1) / kHugePage * kHugePage;
      p = mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
      if (p == MAP_FAILED) {
        munmap(r, len + kHugePage);
      } else {
        if (aligned > a) munmap(r, aligned - a);
        const uintptr_t end = aligned + len, reserved_end = a + len + kHugePage;
        if (reserved_end > end) munmap(reinterpret_cast<void*>(end), reserved_end - end);
        (void)madvise(p, size, MADV_HUGEPAGE);
        huge = true;
      }
    }
  }
#endif
  if (p == MAP_FAILED) {
    int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    if (opts.populate) flags |= MAP_POPULATE;
#endif
    p = mmap(nullptr, size, PROT_READ, flags, fd, 0);
    if (p == MAP_FAILED) return p;
  }
  (void)madvise(p, size, opts.sequential ? MADV_SEQUENTIAL : MADV_NORMAL);
#if defined(MADV_NOHUGEPAGE)
  if (opts.small_pages && !huge) (void)madvise(p, size, MADV_NOHUGEPAGE);
#endif
  if (opts.populate) {
#if defined(MADV_POPULATE_READ)
    if (huge) (void)madvise(p, size, MADV_POPULATE_READ);  // Linux >= 5.14; else WILLNEED below
#endif
    (void)madvise(p, size, MADV_WILLNEED);
  }
  (void)huge;
  return p;
}
}  // namespace

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path,
                                                     const MapOptions& opts) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    StatusCode code = (errno == ENOENT) ? StatusCode::kNotFound : StatusCode::kIoError;
    return Status(code, path + ": cannot open: " + errno_text());
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    std::string msg = path + ": fstat failed: " + errno_text();
    ::close(fd);
    return Status(StatusCode::kIoError, msg);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status(StatusCode::kInvalidArgument, path + ": is a directory, expected a file");
  }
  std::unique_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<uint64_t>(st.st_size);
  if (file->size_ == 0) {
    ::close(fd);
    static const uint8_t kEmpty = 0;
    file->data_ = &kEmpty;
    return file;
  }
  if (opts.use_mmap) {
    void* p = map_file(fd, file->size_, opts);
    if (p != MAP_FAILED) {
      file->data_ = static_cast<const uint8_t*>(p);
      file->mapped_ = true;
      if (opts.lock && mlock(p, file->size_) == 0) file->locked_ = true;
      ::close(fd);
      return file;
    }
    // fall through to reading into memory (e.g. filesystems without mmap support)
  }
  if (file->size_ > SIZE_MAX / 2) {
    ::close(fd);
    return Status(StatusCode::kOutOfMemory, path + ": file too large to read into memory");
  }
  try {
    file->heap_.resize(static_cast<size_t>(file->size_));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    return Status(StatusCode::kOutOfMemory,
                  path + ": cannot allocate " + std::to_string(file->size_) + " bytes");
  }
  uint64_t done = 0;
  while (done < file->size_) {
    ssize_t n =
        ::pread(fd, file->heap_.data() + done, file->size_ - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string msg = path + ": read failed at offset " + std::to_string(done) + ": " +
                        (n == 0 ? std::string("unexpected end of file") : errno_text());
      ::close(fd);
      return Status(StatusCode::kIoError, msg);
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  file->data_ = file->heap_.data();
  return file;
}

MappedFile::~MappedFile() {
  if (mapped_) {
    if (locked_) munlock(const_cast<uint8_t*>(data_), size_);
    munmap(const_cast<uint8_t*>(data_), size_);
  }
}

void MappedFile::release_range(uint64_t offset, uint64_t length) const noexcept {
  if (!mapped_ || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  // Only whole pages inside the range may be dropped.
  uint64_t ps = page_size();
  uint64_t begin = (offset + ps - 1) / ps * ps;
  uint64_t end = (offset + length) / ps * ps;
  if (end <= begin) return;
  (void)madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_DONTNEED);
}

void MappedFile::release_blocks_around(uint64_t offset, uint64_t length) const noexcept {
  if (!mapped_ || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  // Block boundaries in address space (where the kernel places huge folios), clamped to the map.
  const uintptr_t base = reinterpret_cast<uintptr_t>(data_);
  const uintptr_t lo = std::max(base, (base + offset) / kHugePage * kHugePage);
  const uintptr_t hi =
      std::min<uintptr_t>((base + size_ + page_size() - 1) / page_size() * page_size(),
                          (base + offset + length + kHugePage - 1) / kHugePage * kHugePage);
  if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

void MappedFile::prefetch_range(uint64_t offset, uint64_t length) const noexcept {
  if (!mapped_ || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  uint64_t ps = page_size();
  uint64_t begin = offset / ps * ps;
  (void)madvise(const_cast<uint8_t*>(data_) + begin, offset + length - begin, MADV_WILLNEED);
}

}  // namespace llmkit::io
