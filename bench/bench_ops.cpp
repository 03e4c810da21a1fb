// Linear-layer throughput per weight type and backend on Llama-3.2-1B-like shapes.
//
//   bench_ops [--k 2048] [--n 8192] [--m 1,512] [--threads 2] [--types Q4_0,Q8_0,...]
//             [--min-ms 300] [--pool-mib 1024] [--no-ref] [--portable] [--isa avx2|avx512]
//
// Weights are random blocks with sane scales (speed does not depend on the values). To measure
// DRAM-bound decode honestly, each run rotates through enough copies of the matrix to exceed
// --pool-mib (default 1 GiB: some hosts have L3 caches of hundreds of MiB). GB/s counts the GGUF
// bytes of the matrix (what a token has to stream); "packed" is the size of the repacked weights
// actually read. The reference backend is timed only for M=1 (it is a parity reference, not a
// kernel).
// --isa caps the kernels at that family (e.g. the AVX2 bodies on an AVX-512 CPU); the kernel
// column still names the CPU's widest family.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "io/ggml_types.hpp"
#include "ops/basic.hpp"
#include "ops/linear.hpp"
#include "ops/linear_impl.hpp"
#include "ops/simd.hpp"
#include "ops/thread_pool.hpp"

using llmkit::io::TensorType;
using llmkit::ops::Backend;
using llmkit::ops::PackedLinear;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t q = s.find(',', p);
    if (q == std::string::npos) q = s.size();
    if (q > p) out.push_back(s.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

void put_f16(uint8_t* p, float v) {
  uint16_t h = llmkit::ops::f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

// Random weights of TYPE, [N, K], with plausible scale fields.
std::vector<uint8_t> random_weights(TensorType t, int64_t K, int64_t N, uint32_t seed) {
  const auto* tr = llmkit::io::type_traits(t);
  const uint64_t bytes = uint64_t(K) / tr->block_size * tr->type_size * uint64_t(N);
  std::vector<uint8_t> w(bytes);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 0.02f);
  if (t == TensorType::F32) {
    for (uint64_t i = 0; i < bytes / 4; ++i) {
      float v = nd(rng);
      std::memcpy(&w[i * 4], &v, 4);
    }
    return w;
  }
  if (t == TensorType::F16 || t == TensorType::BF16) {
    for (uint64_t i = 0; i < bytes / 2; ++i) {
      float v = nd(rng);
      uint16_t h = t == TensorType::F16 ? llmkit::ops::f32_to_f16(v) : llmkit::ops::f32_to_bf16(v);
      std::memcpy(&w[i * 2], &h, 2);
    }
    return w;
  }
  uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;  // splitmix64: fast enough for GiBs
  for (uint64_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t z = (st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(&w[i], &z, 8);
  }
  for (uint64_t off = 0; off < bytes; off += tr->type_size) {
    uint8_t* b = &w[off];
    switch (t) {
      case TensorType::Q4_1:
      case TensorType::Q5_1:
      case TensorType::Q4_K:
      case TensorType::Q5_K:
        put_f16(b, 0.001f);
        put_f16(b + 2, 0.002f);
        break;
      case TensorType::Q2_K:
        put_f16(b + 80, 0.001f);
        put_f16(b + 82, 0.002f);
        break;
      case TensorType::Q3_K:
        put_f16(b + 108, 0.001f);
        break;
      case TensorType::Q6_K:
        put_f16(b + 208, 0.001f);
        break;
      case TensorType::MXFP4:
        b[0] = 120;
        break;
      default:
        put_f16(b, 0.001f);
        break;  // Q4_0, Q5_0, Q8_0, IQ4_NL
    }
  }
  return w;
}

// CPU seconds of the whole process: on a shared, oversubscribed machine wall time mostly measures
// the neighbours; CPU time / threads approximates what an idle machine would show (spinning
// workers count too, so it is an upper bound).
double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double now_s() {
  using C = std::chrono::steady_clock;
  return std::chrono::duration<double>(C::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t K = 2048, N = 8192;
  std::vector<int64_t> Ms = {1, 512};
  int threads = 2;
  double min_ms = 300, pool_mib = 1024;
  bool ref = true;
  std::vector<std::string> types = {"Q4_0",   "Q4_1",  "Q5_0", "Q5_1", "Q8_0",
                                    "Q2_K",   "Q3_K",  "Q4_K", "Q5_K", "Q6_K",
                                    "IQ4_NL", "MXFP4", "F16",  "BF16", "F32"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--k")
      K = std::stoll(next());
    else if (a == "--n")
      N = std::stoll(next());
    else if (a == "--m") {
      Ms.clear();
      for (auto& s : split(next())) Ms.push_back(std::stoll(s));
    } else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--types")
      types = split(next());
    else if (a == "--min-ms")
      min_ms = std::stod(next());
    else if (a == "--pool-mib")
      pool_mib = std::stod(next());
    else if (a == "--no-ref")
      ref = false;
    else if (a == "--portable")
      llmkit::ops::set_fast_linear_portable(true);  // non-AVX-512 path
    else if (a == "--isa") {  // cap the kernels, e.g. time the AVX2 bodies on an AVX-512 CPU
      const std::string v = next();
      if (v == "avx2")
        llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx2);
      else if (v == "avx512")
        llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx512);
      else {
        std::fprintf(stderr, "--isa: avx2 or avx512, not %s\n", v.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  llmkit::ops::ThreadPool pool(threads);
  std::printf("# bench_ops K=%lld N=%lld threads=%d (GB/s = GGUF bytes of W per second)\n",
              (long long)K, (long long)N, threads);
  std::printf("%-7s %-10s %-22s %5s %10s %9s %9s %10s %9s %9s\n", "type", "backend", "kernel", "M",
              "ms/call", "GB/s", "GFLOP/s", "packedMB", "cpuGB/s", "cpuGFLOP/s");
  for (const auto& tn : types) {
    auto t = llmkit::io::type_from_name(tn);
    if (!t) {
      std::fprintf(stderr, "unknown type %s\n", tn.c_str());
      return 2;
    }
    const auto* tr = llmkit::io::type_traits(*t);
    const double gguf_bytes = double(K) / tr->block_size * tr->type_size * double(N);
    const int copies = std::max(1, int(std::ceil(pool_mib * 1048576.0 / gguf_bytes)));
    std::vector<std::vector<uint8_t>> raw;
    for (int c = 0; c < copies; ++c) raw.push_back(random_weights(*t, K, N, uint32_t(c + 1)));
    for (Backend be : {Backend::kReference, Backend::kFast}) {
      if (be == Backend::kReference && !ref) continue;
      std::vector<PackedLinear> lins;
      const double t0 = now_s();
      for (int c = 0; c < copies; ++c) {
        auto r = PackedLinear::create(*t, raw[size_t(c)].data(), K, N, be);
        if (!r.is_ok()) {
          std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
          return 1;
        }
        lins.push_back(std::move(r.value()));
      }
      const double pack_ms = (now_s() - t0) * 1e3 / copies;
      for (int64_t M : Ms) {
        if (be == Backend::kReference && M > 1) continue;
        std::vector<float> x(size_t(M * K)), y(size_t(M * N));
        std::mt19937 rng(7);
        std::normal_distribution<float> nd(0.f, 1.f);
        for (auto& v : x) v = nd(rng);
        lins[0].forward(x.data(), M, y.data(), pool);  // warm-up
        int calls = 0;
        const double s0 = now_s(), c0 = cpu_s();
        double el = 0;
        do {
          lins[size_t(calls % copies)].forward(x.data(), M, y.data(), pool);
          ++calls;
          el = now_s() - s0;
        } while (el * 1e3 < min_ms || calls < 3);
        const double per = el / calls;
        const double cpu_per = (cpu_s() - c0) / calls / pool.effective_threads(0, 1 << 30);
        std::printf(
            "%-7s %-10s %-22s %5lld %10.3f %9.1f %9.1f %10.1f %9.1f %9.1f  (pack %.0f ms)\n",
            tn.c_str(), be == Backend::kFast ? "fast" : "reference", lins[0].kernel_name(),
            (long long)M, per * 1e3, gguf_bytes / per / 1e9,
            2.0 * double(M) * double(K) * double(N) / per / 1e9,
            double(lins[0].weight_bytes()) / 1048576.0, gguf_bytes / cpu_per / 1e9,
            2.0 * double(M) * double(K) * double(N) / cpu_per / 1e9, pack_ms);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
