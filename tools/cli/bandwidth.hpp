// A small memory read-bandwidth probe for `llmkit bench`'s decode roofline.
//
// Decode speed of a weight-streaming LLM is bounded by (bytes of weights read per token) ÷ (DRAM
// read bandwidth). To say how close a run comes to that roof we measure the bandwidth of THIS
// machine in THIS run (shared VMs vary ±10–15% between runs): N threads each sum a contiguous slice
// of a 1 GiB array, best of a few passes. The array is far larger than any cache, so every pass
// streams from DRAM, like a decode step streams the weights.
//
// The probe runs in a forked child process so its 1 GiB never shows up in the parent's peak RSS
// (getrusage(RUSAGE_SELF) ru_maxrss, reported by `llmkit bench`). Call it before the process
// starts other threads (fork copies only the calling thread).
#pragma once

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace llmkit::cli {

// Sums N 64-bit words with 8 independent accumulators (integer adds vectorize without
// -ffast-math and never become the bottleneck: the loop is bound by loads from DRAM).
inline uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += p[i + k];
  for (; i < n; ++i) a[0] += p[i];
  uint64_t s = 0;
  for (int k = 0; k < 8; ++k) s += a[k];
  return s;
}

// Read bandwidth in GB/s (1e9 bytes/s) over BYTES with N_THREADS threads, best of PASSES passes,
// measured in this process. Returns 0 when the buffer cannot be allocated.
inline double measure_read_bandwidth_inproc(size_t bytes, int n_threads, int passes) {
  n_threads = std::max(1, n_threads);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 0.0;
#ifdef MADV_HUGEPAGE
  // Weights are usually in large mappings too; 4 KiB pages stop the hardware prefetcher at every
  // page boundary and understate streaming bandwidth.
  madvise(mem, bytes, MADV_HUGEPAGE);
#endif
  auto* words = static_cast<uint64_t*>(mem);
  const size_t n = bytes / sizeof(uint64_t);
  const size_t per = (n + static_cast<size_t>(n_threads) - 1) / static_cast<size_t>(n_threads);
  auto run = [&](bool fill, std::vector<uint64_t>& sums) {
    std::vector<std::thread> pool;
    for (int t = 0; t < n_threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t lo = std::min(n, per * static_cast<size_t>(t));
        const size_t hi = std::min(n, lo + per);
        if (fill) {  // first touch by the thread that reads it (NUMA-friendly), non-zero data
          for (size_t i = lo; i < hi; ++i) words[i] = i * 0x9E3779B97F4A7C15ull;
        } else {
          sums[static_cast<size_t>(t)] = sum_words(words + lo, hi - lo);
        }
      });
    }
    for (auto& th : pool) th.join();
  };
  std::vector<uint64_t> sums(static_cast<size_t>(n_threads), 0);
  run(true, sums);
  double best = 0.0;
  uint64_t sink = 0;
  for (int p = 0; p < std::max(1, passes); ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    run(false, sums);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (uint64_t v : sums) sink += v;
    if (s > 0) best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / s / 1e9);
  }
  munmap(mem, bytes);
  // Keep the sums observable so the compiler cannot drop the reads.
  return sink == 0x12345 ? best * (1 + 1e-12) : best;
}

// The same, measured in a forked child so the parent's peak RSS is unaffected. Returns 0 on
// failure.
inline double measure_read_bandwidth(int n_threads, size_t bytes = size_t{1} << 30,
                                     int passes = 5) {
  int fds[2];
  if (pipe(fds) != 0) return 0.0;
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return 0.0;
  }
  if (pid == 0) {
    close(fds[0]);
    const double gbs = measure_read_bandwidth_inproc(bytes, n_threads, passes);
    ssize_t w = write(fds[1], &gbs, sizeof gbs);
    (void)w;
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  double gbs = 0.0;
  size_t got = 0;
  while (got < sizeof gbs) {
    ssize_t r = read(fds[0], reinterpret_cast<char*>(&gbs) + got, sizeof gbs - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got == sizeof gbs ? gbs : 0.0;
}

}  // namespace llmkit::cli
