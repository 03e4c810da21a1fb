// A persistent worker pool for the compute kernels: threads are created once (at session load),
// never per token or per op.
//
// Thread-safety: one caller at a time. parallel_for() must not be called concurrently from two
// threads on the same pool, and the work function must not call back into the same pool. The
// caller thread takes part in the work (a pool of N threads has N-1 workers + the caller).
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace llmkit::ops {

class ThreadPool {
 public:
  // n_threads <= 0 picks std::thread::hardware_concurrency(). n_threads includes the caller.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const noexcept;

  // Splits [0, n) into at most `max_threads` (<= 0: all) contiguous chunks and runs
  // fn(begin, end) on each; returns when all chunks are done. Chunk boundaries are multiples of
  // `grain` (except the last end) so kernels can keep row tiles whole. Small ops should pass a
  // small max_threads: waking a thread costs microseconds.
  template <typename Fn>
  void parallel_for(int64_t n, Fn&& fn, int max_threads = 0, int64_t grain = 1) {
    using F = std::remove_reference_t<Fn>;
    run(
        n, grain, max_threads,
        [](void* ctx, int64_t b, int64_t e) { (*static_cast<F*>(ctx))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Runs fn(thread_index, n_used) once on each of n_used = min(max_threads, n_threads()) threads.
  template <typename Fn>
  void run_on_threads(Fn&& fn, int max_threads = 0) {
    int used = effective_threads(max_threads, INT32_MAX);
    parallel_for(
        used,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) fn(int(i), used);
        },
        used, 1);
  }

  // Threads parallel_for would use for n items and max_threads.
  int effective_threads(int max_threads, int64_t n) const noexcept;

 private:
  using Trampoline = void (*)(void*, int64_t, int64_t);
  void run(int64_t n, int64_t grain, int max_threads, Trampoline tramp, void* ctx);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmkit::ops
