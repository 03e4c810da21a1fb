// PackedLinear parity: every fast kernel against the reference (dequantize + double dot) on real
// GGUF tensors (the dequant goldens' raw rows; whole layers of the cached models in "bigmodel").
//
// Tolerances (documented in src/ops/linear.hpp):
//  * int8-activation kernels: the only approximation is rounding activations to int8 codes
//    (step amax/127 per 32- or 256-block, error <= half a step), so per output
//      |y_fast - y_ref| <= (0.5/127) * Σ_k |w_k| * amax(block of k)  (+ 1e-5 relative slack)
//    and with activations that are exact int8 codes the kernels are exact up to f32 summation
//    (1e-5 relative to Σ|x·w|), which proves the repacking is lossless.
//  * float weights: F32 1e-5 relative to Σ|x·w|; F16 / BF16 kernels round activations to f16 / bf16
//    (as llama.cpp does), adding 2^-11 / 2^-8 relative to Σ|x·w|.
//  * the portable kernels equal the AVX-512 and AVX2 kernels bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "io/gguf.hpp"
#include "ops/dequant.hpp"
#include "ops/linear.hpp"
#include "ops/linear_amx.hpp"
#include "ops/linear_impl.hpp"
#include "ops/simd.hpp"
#include "ops/thread_pool.hpp"
#include "test_util.hpp"

namespace {

using llmkit::io::TensorType;
using llmkit::ops::Backend;
using llmkit::ops::PackedLinear;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

struct Weights {
  std::string name;
  TensorType type;
  int64_t K, N;
  const uint8_t* data;
};

std::vector<float> random_acts(int64_t M, int64_t K, uint32_t seed, bool int_codes) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(size_t(M * K));
  for (auto& v : x) v = nd(rng);
  if (int_codes) {
    // Integers in [-127, 127] with a 127 (or -127) in every 32-block: every activation
    // quantizer used (Q8_0/Q8_1 per 32, Q8_K per 256) then has scale exactly 1.
    for (int64_t i = 0; i < M * K; ++i)
      x[size_t(i)] = std::round(std::clamp(x[size_t(i)] * 40.f, -126.f, 126.f));
    for (int64_t i = 0; i < M * K; i += 32) x[size_t(i)] = (i / 32) % 2 ? 127.f : -127.f;
  } else {
    // Outliers like real hidden states.
    for (int64_t i = 0; i < M * K; i += 97) x[size_t(i)] *= 8.f;
  }
  return x;
}

// Dequantized weights [N, K].
std::vector<float> dequant_all(const Weights& w) {
  std::vector<float> out(size_t(w.N * w.K));
  const uint64_t rb = llmkit::ops::row_bytes(w.type, w.K);
  for (int64_t n = 0; n < w.N; ++n)
    REQUIRE(
        llmkit::ops::dequantize_row(w.type, w.data + n * rb, out.data() + n * w.K, w.K).is_ok());
  return out;
}

void check_parity(const Weights& w, llmkit::ops::ThreadPool& pool) {
  CAPTURE(w.name);
  auto ref = PackedLinear::create(w.type, w.data, w.K, w.N, Backend::kReference);
  REQUIRE_MESSAGE(ref.is_ok(), ref.status().to_string());
  auto fast = PackedLinear::create(w.type, w.data, w.K, w.N, Backend::kFast);
  REQUIRE_MESSAGE(fast.is_ok(), fast.status().to_string());
  CHECK(std::string(ref->kernel_name()) == "reference");
  const bool has_fast = llmkit::ops::fast_linear_supports(w.type);
  if (has_fast) CHECK(std::string(fast->kernel_name()) != "reference");
  const auto wf = dequant_all(w);
  const int block = w.type == TensorType::Q2_K || w.type == TensorType::Q3_K ||
                            w.type == TensorType::Q4_K || w.type == TensorType::Q5_K ||
                            w.type == TensorType::Q6_K
                        ? 256
                        : 32;
  // M >= 8 takes the AMX kernels where the CPU has them (9, 33: partial 16-row tiles).
  for (int64_t M : {1, 3, 4, 7, 9, 16, 33}) {
    CAPTURE(M);
    for (bool int_codes : {false, true}) {
      CAPTURE(int_codes);
      auto x = random_acts(M, w.K, uint32_t(M * 7 + int_codes), int_codes);
      std::vector<float> yr(size_t(M * w.N)), yf(size_t(M * w.N), NAN), yp(size_t(M * w.N), NAN);
      ref->forward(x.data(), M, yr.data(), pool);
      fast->forward(x.data(), M, yf.data(), pool);
      llmkit::ops::set_fast_linear_portable(true);
      fast->forward(x.data(), M, yp.data(), pool);
      llmkit::ops::set_fast_linear_portable(false);
      CHECK(std::memcmp(yf.data(), yp.data(), yf.size() * 4) == 0);
      if (llmkit::ops::simd::has_avx2()) {  // the AVX2 kernels (also on AVX-512 CPUs) == portable
        std::vector<float> y2(size_t(M * w.N), NAN);
        llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx2);
        fast->forward(x.data(), M, y2.data(), pool);
        llmkit::ops::simd::set_max_isa(llmkit::ops::simd::Isa::kAvx512);
        CHECK(std::memcmp(y2.data(), yp.data(), y2.size() * 4) == 0);
      }
      if (M >= llmkit::ops::amx::kAmxMinRows) {  // AMX (when present) == VNNI, bit for bit
        std::vector<float> yv(size_t(M * w.N), NAN);
        llmkit::ops::amx::set_disabled(true);
        fast->forward(x.data(), M, yv.data(), pool);
        llmkit::ops::amx::set_disabled(false);
        CHECK(std::memcmp(yf.data(), yv.data(), yf.size() * 4) == 0);
      }
      int bad = 0, bad_portable = 0;
      double worst = 0;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < w.N; ++n) {
          const float* xm = x.data() + m * w.K;
          const float* wn = wf.data() + n * w.K;
          double l1 = 0, bound = 0;
          for (int64_t k0 = 0; k0 < w.K; k0 += block) {
            double amax = 0;
            for (int64_t k = k0; k < k0 + block; ++k)
              amax = std::max(amax, double(std::fabs(xm[k])));
            for (int64_t k = k0; k < k0 + block; ++k) {
              l1 += std::fabs(double(xm[k]) * wn[k]);
              bound += std::fabs(double(wn[k])) * amax;
            }
          }
          double tol = 1e-5 * l1 + 1e-30;
          if (has_fast && !int_codes) {
            if (w.type == TensorType::F16)
              tol += std::ldexp(1.0, -11) * l1;  // activations rounded to f16
            else if (w.type == TensorType::BF16)
              tol += std::ldexp(1.0, -8) * l1;  // activations rounded to bf16
            else if (w.type != TensorType::F32)
              tol += 0.5 / 127 * bound;  // activations rounded to int8 codes
          }
          const double err = std::fabs(double(yf[size_t(m * w.N + n)]) - yr[size_t(m * w.N + n)]);
          const double errp = std::fabs(double(yp[size_t(m * w.N + n)]) - yr[size_t(m * w.N + n)]);
          worst = std::max(worst, err / tol);
          if (!(err <= tol)) ++bad;
          if (!(errp <= tol)) ++bad_portable;
        }
      CHECK_MESSAGE(bad == 0, bad << " outputs beyond tolerance; worst err/tol " << worst);
      CHECK_MESSAGE(bad_portable == 0, bad_portable << " portable-kernel outputs beyond tolerance");
    }
  }
}

std::vector<Weights> golden_weights(std::vector<std::vector<uint8_t>>& storage) {
  const std::string dir = std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/dequant";
  std::ifstream f(dir + "/cases.json");
  REQUIRE(f.good());
  auto cases = nlohmann::json::parse(f)["cases"];
  std::vector<Weights> out;
  storage.reserve(cases.size());
  for (const auto& c : cases) {
    const std::string name = c["name"];
    storage.push_back(read_file(dir + "/" + name + ".raw"));
    out.push_back({name, *llmkit::io::type_from_name(c["type"].get<std::string>()), c["k"],
                   c["rows_stored"], storage.back().data()});
  }
  return out;
}

}  // namespace

TEST_CASE("thread pool: parallel_for covers every index once") {
  for (int threads : {1, 2, 3}) {
    llmkit::ops::ThreadPool pool(threads);
    CHECK(pool.n_threads() == threads);
    for (int64_t n : {0, 1, 2, 5, 17, 1000}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        for (int rep = 0; rep < 3; ++rep)
          pool.parallel_for(
              n,
              [&](int64_t b, int64_t e) {
                CHECK(b < e);
                if (e != n) CHECK(b % grain == 0);
                for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
              },
              0, grain);
        for (int64_t i = 0; i < n; ++i) CHECK(hits[size_t(i)] == 3);
      }
    }
    std::atomic<int> sum{0};
    pool.run_on_threads([&](int idx, int used) { sum += idx + 100 * used; });
    CHECK(sum == (threads * (threads - 1)) / 2 + 100 * threads * threads);
  }
}

TEST_CASE("linear: fast kernels match the reference on the golden tensors of every type") {
  std::vector<std::vector<uint8_t>> storage;
  auto ws = golden_weights(storage);
  llmkit::ops::ThreadPool pool(2);
  for (const auto& w : ws) check_parity(w, pool);
}

// create_stacked([A; B]) must give exactly the rows create(A) and create(B) give: the stacked
// [Wq; Wk; Wv] and [Wgate; Wup] products of the decoder rely on it. Blocks of 16 - 5 and 5 + 16
// rows put a block boundary inside a 16-row tile; the release callback must see every source byte
// exactly once and nothing outside the sources.
TEST_CASE("linear: stacked matrices equal their parts, bit for bit") {
  std::vector<std::vector<uint8_t>> storage;
  auto ws = golden_weights(storage);
  llmkit::ops::ThreadPool pool(2);
  int tested = 0;
  for (const auto& w : ws) {
    if (!PackedLinear::supports(w.type, Backend::kFast) || w.N < 24) continue;
    auto solo = PackedLinear::create(w.type, w.data, w.K, w.N, Backend::kFast);
    REQUIRE(solo.is_ok());
    const uint64_t rb = llmkit::ops::row_bytes(w.type, w.K);
    const int64_t n0 = 11, n1 = 5, n2 = w.N - n0 - n1;
    std::vector<std::atomic<uint64_t>> released(3);
    const uint8_t* starts[3] = {w.data, w.data + n0 * rb, w.data + (n0 + n1) * rb};
    const int64_t rows[3] = {n0, n1, n2};
    auto stacked =
        PackedLinear::create_stacked(w.type, {{starts[0], n0}, {starts[1], n1}, {starts[2], n2}},
                                     w.K, [&](const uint8_t* p, uint64_t n) {
                                       for (int b = 0; b < 3; ++b)
                                         if (p >= starts[b] && p + n <= starts[b] + rows[b] * rb)
                                           released[b] += n;
                                     });
    if (stacked.status().code() == llmkit::StatusCode::kUnsupported) continue;  // float types
    REQUIRE_MESSAGE(stacked.is_ok(), stacked.status().to_string());
    CAPTURE(w.name);
    CHECK(stacked->n_out() == w.N);
    for (int b = 0; b < 3; ++b) CHECK(released[b].load() == uint64_t(rows[b]) * rb);
    for (int64_t M : {1, 9}) {
      auto x = random_acts(M, w.K, uint32_t(M), false);
      std::vector<float> ya(size_t(M * w.N), NAN), yb(size_t(M * w.N), NAN);
      solo->forward(x.data(), M, ya.data(), pool);
      stacked->forward(x.data(), M, yb.data(), pool);
      CHECK(std::memcmp(ya.data(), yb.data(), ya.size() * 4) == 0);
    }
    ++tested;
  }
  CHECK(tested >= 9);  // the quantized golden tensors with >= 24 rows
}

TEST_CASE("linear: bad arguments are errors") {
  uint8_t raw[64] = {};
  CHECK(PackedLinear::create(TensorType::Q4_0, raw, 33, 1, Backend::kFast).status().code() ==
        llmkit::StatusCode::kInvalidArgument);
  CHECK(PackedLinear::create(TensorType::IQ2_XXS, raw, 256, 1, Backend::kFast).status().code() ==
        llmkit::StatusCode::kUnsupported);
  CHECK(PackedLinear::create(TensorType::Q8_0, nullptr, 32, 1, Backend::kFast).status().code() ==
        llmkit::StatusCode::kInvalidArgument);
  CHECK(PackedLinear::create(TensorType::Q8_0, raw, 32, 0, Backend::kFast).status().code() ==
        llmkit::StatusCode::kInvalidArgument);
}

TEST_CASE("linear: embedding_row equals dequantize_row") {
  std::vector<std::vector<uint8_t>> storage;
  auto ws = golden_weights(storage);
  for (const auto& w : ws) {
    std::vector<float> a(size_t(w.K)), b(size_t(w.K));
    const int64_t row = w.N - 1;
    REQUIRE(llmkit::ops::embedding_row(w.type, w.data, row, w.K, a.data()).is_ok());
    REQUIRE(llmkit::ops::dequantize_row(w.type, w.data + row * llmkit::ops::row_bytes(w.type, w.K),
                                        b.data(), w.K)
                .is_ok());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
  }
}

TEST_CASE("linear: short rows (chunked layout) and long rows (split layout) match the reference") {
  // Rows with K <= 2048 are packed with codes and scales interleaved every few groups and decoded
  // one tile at a time; longer rows keep all codes, then all scales. K = 608 has 19 groups (a
  // partial last chunk), 2048 is the last chunked K, 2080 the first split one; N = 40 ends in a
  // partial tile.
  llmkit::ops::ThreadPool pool(2);
  for (TensorType type : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_1, TensorType::Q5_0}) {
    const auto* tr = llmkit::io::type_traits(type);
    for (int64_t K : {608, 2048, 2080}) {
      const int64_t N = 40;
      const uint64_t rb = llmkit::ops::row_bytes(type, K);
      std::vector<uint8_t> data(size_t(rb * N));
      uint64_t state = uint64_t(K) * 0x9E3779B97F4A7C15ull + uint64_t(type);
      for (auto& b : data) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        b = uint8_t(state >> 56);
      }
      // f16 scale (and Q4_1's f16 min) of every block: small finite values.
      for (size_t b = 0; b + tr->type_size <= data.size(); b += tr->type_size) {
        data[b + 1] &= 0x1B;
        if (type == TensorType::Q4_1) data[b + 3] &= 0x1B;
      }
      check_parity({std::string(tr->name) + " K=" + std::to_string(K), type, K, N, data.data()},
                   pool);
    }
  }
}

TEST_SUITE("bigmodel") {
  TEST_CASE("linear: fast kernels match the reference on whole layers of the cached models") {
    llmkit::ops::ThreadPool pool(2);
    const std::pair<const char*, std::vector<const char*>> models[] = {
        {"SmolLM2-135M-Instruct.Q4_1.gguf", {"blk.0.attn_k.weight", "blk.0.ffn_down.weight"}},
        {"gemma-3-270m-q4_k_m.gguf",
         {"blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight",
          "blk.0.ffn_down.weight"}},
    };
    for (const auto& [file, tensors] : models) {
      const std::string path = llmkit::test::cached_model(file);
      if (!llmkit::test::exists(path)) {
        MESSAGE("skipping: " << path << " not found (run tools/fetch_models.sh)");
        continue;
      }
      auto g = llmkit::io::GgufFile::open(path);
      REQUIRE(g.is_ok());
      for (const char* tn : tensors) {
        const auto* ti = (*g)->find_tensor(tn);
        REQUIRE(ti != nullptr);
        check_parity({std::string(file) + ":" + tn, TensorType(ti->type), int64_t(ti->dims[0]),
                      int64_t(ti->dims[1]), ti->data},
                     pool);
      }
    }
  }
}
