// Persistent pool: workers sleep on a C++20 atomic wait (futex) after a short spin, so a token's
// many small ops do not pay thread creation, and an idle session does not burn CPU.
#include "ops/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMKIT_CPU_RELAX() _mm_pause()
#else
#define LLMKIT_CPU_RELAX() ((void)0)
#endif

namespace llmkit::ops {

namespace {
// How long a thread spins before it sleeps, as TIME, not a count of pause instructions: a pause
// takes ~140 cycles on recent Intel cores but only a few on AMD Zen, so a fixed count that spins
// ~0.2 ms on one sleeps after ~10 us on the other. Sleeping between the ops of one token costs a
// futex wake per op, and in a VM waking a halted vCPU takes tens of microseconds (measured on a
// 2-vCPU AMD EPYC guest: 2-thread decode no faster than 1 thread). 300 us covers the gaps
// between the ops of a token (single-threaded attention, norms) without burning a core for long
// once a session goes idle.
constexpr auto kSpinTime = std::chrono::microseconds(300);

// Spins until PRED() holds or kSpinTime passes; returns PRED()'s last value.
template <typename Pred>
bool spin_until(Pred pred) {
  if (pred()) return true;
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      LLMKIT_CPU_RELAX();
      if (pred()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return pred();
  }
}
}  // namespace

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;
  // Job description, published by bumping `generation`.
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};  // workers that still have to finish the current job
  std::atomic<bool> stop{false};
  Trampoline tramp = nullptr;
  void* ctx = nullptr;
  int64_t n = 0, grain = 1;
  int used = 1;

  // Chunk t of `used` chunks, boundaries rounded to `grain`.
  void chunk(int t, int64_t& b, int64_t& e) const {
    int64_t units = (n + grain - 1) / grain;
    int64_t ub = units * t / used, ue = units * (t + 1) / used;
    b = std::min(n, ub * grain);
    e = std::min(n, ue * grain);
  }

  void worker(int idx) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = seen;
      spin_until([&] { return (g = generation.load(std::memory_order_acquire)) != seen; });
      while (g == seen) {
        generation.wait(seen, std::memory_order_acquire);
        g = generation.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop.load(std::memory_order_acquire)) return;
      if (idx < used) {
        int64_t b, e;
        chunk(idx, b, e);
        if (b < e) tramp(ctx, b, e);
      }
      // Every worker reports, also those without a chunk: the caller must not publish the next
      // job while any worker may still read this one's fields.
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) pending.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(std::make_unique<Impl>()) {
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  impl_->n_threads = n_threads;
  impl_->workers.reserve(size_t(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) impl_->workers.emplace_back([this, i] { impl_->worker(i); });
}

ThreadPool::~ThreadPool() {
  impl_->stop.store(true, std::memory_order_release);
  impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  impl_->generation.notify_all();
  for (auto& t : impl_->workers) t.join();
}

int ThreadPool::n_threads() const noexcept { return impl_->n_threads; }

int ThreadPool::effective_threads(int max_threads, int64_t n) const noexcept {
  int t = impl_->n_threads;
  if (max_threads > 0) t = std::min(t, max_threads);
  if (n < t) t = int(std::max<int64_t>(1, n));
  return t;
}

void ThreadPool::run(int64_t n, int64_t grain, int max_threads, Trampoline tramp, void* ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t units = (n + grain - 1) / grain;
  const int used = effective_threads(max_threads, units);
  if (used == 1) {
    tramp(ctx, 0, n);
    return;
  }
  Impl& s = *impl_;
  s.tramp = tramp;
  s.ctx = ctx;
  s.n = n;
  s.grain = grain;
  s.used = used;
  s.pending.store(s.n_threads - 1, std::memory_order_relaxed);
  s.generation.fetch_add(1, std::memory_order_acq_rel);
  s.generation.notify_all();
  int64_t b, e;
  s.chunk(0, b, e);
  if (b < e) tramp(ctx, b, e);
  int p = 0;
  spin_until([&] { return (p = s.pending.load(std::memory_order_acquire)) == 0; });
  while (p != 0) {
    s.pending.wait(p, std::memory_order_acquire);
    p = s.pending.load(std::memory_order_acquire);
  }
}

}  // namespace llmkit::ops
