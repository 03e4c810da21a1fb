// The on-disk repack cache (models/repack_cache.hpp): a second load maps the packed weights and
// computes bit-identical logits; stale, damaged or unwritable caches are ignored, never fatal.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "io/repack_cache_format.hpp"
#include "llmkit/model.hpp"
#include "llmkit/session.hpp"
#include "ops/linear.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using llmkit::Model;
using llmkit::ModelOptions;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("llmkit-" + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::shared_ptr<const Model> load(const std::string& path, const std::string& cache_dir) {
  ModelOptions mo;
  mo.n_threads = 2;
  mo.repack_cache_dir = cache_dir;
  auto m = Model::load(path, mo);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  return *m;
}

// Logits after a short prompt (several positions) from MODEL.
std::vector<float> logits(const std::shared_ptr<const Model>& model) {
  llmkit::SessionOptions so;
  so.n_ctx = 64;
  so.n_threads = 2;
  auto s = llmkit::Session::create(model, so);
  REQUIRE(s.is_ok());
  const std::vector<int32_t> toks{1, 15, 42, 7, 99, 3};
  REQUIRE((*s)->evaluate(toks).is_ok());
  auto l = (*s)->logits();
  return {l.begin(), l.end()};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write_all(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

fs::path only_cache_file(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  CHECK(files[0].extension() == ".llmkpack");
  return files[0];
}

// Loads COPY of a real GGUF with and without a cache, and through every way a cache can go bad.
void check_round_trip(const std::string& source) {
  TempDir tmp("repack");
  const fs::path model = tmp.path / fs::path(source).filename();
  fs::copy_file(source, model);
  const std::string cache_dir = (tmp.path / "cache").string();
  const std::vector<float> want = logits(load(model.string(), ""));

  auto first = load(model.string(), cache_dir);
  INFO(first->info().repack_cache);
  CHECK(contains(first->info().repack_cache, "wrote"));
  CHECK(logits(first) == want);
  const fs::path file = only_cache_file(cache_dir);

  auto second = load(model.string(), cache_dir);
  INFO(second->info().repack_cache);
  CHECK(contains(second->info().repack_cache, "mapped from"));
  CHECK(logits(second) == want);
  CHECK(second->info().weight_bytes_per_token == first->info().weight_bytes_per_token);
  first.reset();

  SUBCASE("a changed model file makes the cache stale: it is rewritten") {
    fs::last_write_time(model, fs::last_write_time(model) + std::chrono::seconds(5));
    auto m = load(model.string(), cache_dir);
    INFO(m->info().repack_cache);
    CHECK(contains(m->info().repack_cache, "wrote"));
    CHECK(logits(m) == want);
    CHECK(contains(load(model.string(), cache_dir)->info().repack_cache, "mapped from"));
  }
  SUBCASE("damaged cache files are ignored and rewritten") {
    const std::vector<uint8_t> good = read_all(file);
    const std::vector<std::pair<const char*, std::function<void(std::vector<uint8_t>&)>>> damage = {
        {"bad magic", [](auto& b) { b[0] ^= 0xFF; }},
        {"truncated", [](auto& b) { b.resize(b.size() / 2); }},
        {"shorter than a header", [](auto& b) { b.resize(100); }},
        {"empty", [](auto& b) { b.clear(); }},
        {"entry count", [](auto& b) { b[12] ^= 0x40; }},
        {"index offset", [](auto& b) { b[48 + 7] = 0x7F; }},
        {"first entry's key length", [](auto& b) { b[4096 + 3] = 0x7F; }},
    };
    for (const auto& [what, fn] : damage) {
      CAPTURE(what);
      std::vector<uint8_t> bad = good;
      fn(bad);
      write_all(file, bad);
      auto m = load(model.string(), cache_dir);
      INFO(m->info().repack_cache);
      CHECK(contains(m->info().repack_cache, "wrote"));
      CHECK(logits(m) == want);
    }
  }
  SUBCASE("an unwritable cache directory only leaves a note") {
    const fs::path blocked = tmp.path / "not-a-dir";
    write_all(blocked, {1, 2, 3});
    auto m = load(model.string(), blocked.string());
    INFO(m->info().repack_cache);
    CHECK(contains(m->info().repack_cache, "not written"));
    CHECK(logits(m) == want);
  }
}

}  // namespace

TEST_CASE("repack cache: TinyStories-656K Q8_0 reloads from the cache, bit-identical") {
  if (!llmkit::test::have_fixtures()) return;
  check_round_trip(llmkit::test::fixture("models/TinyStories-656K-Q8_0.gguf"));
}

TEST_CASE("repack cache: stories260K (F32) reloads from the cache, bit-identical") {
  if (!llmkit::test::have_fixtures()) return;
  check_round_trip(llmkit::test::fixture("models/stories260K.gguf"));
}

TEST_SUITE("bigmodel") {
  TEST_CASE("repack cache: SmolLM2-135M Q4_1 (stacked QKV / gate-up) reloads bit-identical") {
    const std::string p = llmkit::test::cached_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!llmkit::test::exists(p)) return;
    check_round_trip(p);
  }
}

TEST_CASE("repack cache: the index parser rejects out-of-bounds entries") {
  if (!llmkit::test::have_fixtures()) return;
  TempDir tmp("repack-parse");
  const fs::path model = tmp.path / "m.gguf";
  fs::copy_file(llmkit::test::fixture("models/TinyStories-656K-Q8_0.gguf"), model);
  (void)load(model.string(), (tmp.path / "cache").string());
  const std::vector<uint8_t> good = read_all(only_cache_file(tmp.path / "cache"));
  uint64_t id[4];
  std::memcpy(id, good.data() + 16, sizeof id);
  std::string why;
  auto entries = llmkit::io::parse_repack_cache(good.data(), good.size(), id, &why);
  REQUIRE_MESSAGE(entries, why);
  REQUIRE(!entries->empty());
  for (const auto& e : *entries) {
    CHECK(e.offset % llmkit::io::kRepackAlign == 0);
    CHECK(e.offset + e.size <= good.size());
  }
  uint64_t other[4] = {id[0] + 1, id[1], id[2], id[3]};
  CHECK(!llmkit::io::parse_repack_cache(good.data(), good.size(), other, &why));
  CHECK(contains(why, "changed"));
  // The first entry's offset field: key length (4) + key + type, pad (8) + K, N, fingerprint (24).
  uint32_t key_len;
  std::memcpy(&key_len, good.data() + 4096, 4);
  const size_t off_field = 4096 + 4 + key_len + 8 + 24;
  for (uint64_t bad_offset : {uint64_t(good.size()), uint64_t(4097), ~uint64_t(0) - 4095}) {
    std::vector<uint8_t> b = good;
    std::memcpy(b.data() + off_field, &bad_offset, 8);
    CHECK(!llmkit::io::parse_repack_cache(b.data(), b.size(), id, &why));
    CHECK(contains(why, "out of bounds"));
  }
  std::vector<uint8_t> b = good;
  const uint64_t huge = ~uint64_t(0);
  std::memcpy(b.data() + off_field + 8, &huge, 8);  // size
  CHECK(!llmkit::io::parse_repack_cache(b.data(), b.size(), id, &why));
}

TEST_CASE("PackedLinear::from_packed accepts only the exact layout") {
  using llmkit::io::TensorType;
  using llmkit::ops::PackedLinear;
  std::vector<uint8_t> src(size_t(llmkit::ops::row_bytes(TensorType::Q8_0, 64) * 20), 0);
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 31 + 7);
  for (size_t b = 0; b < src.size(); b += 34) src[b + 1] = 0x1C;  // finite f16 scales
  auto packed =
      PackedLinear::create(TensorType::Q8_0, src.data(), 64, 20, llmkit::ops::Backend::kFast);
  REQUIRE(packed.is_ok());
  REQUIRE(packed->packed_data() != nullptr);
  auto view = PackedLinear::from_packed(TensorType::Q8_0, 64, 20, packed->packed_data(),
                                        packed->packed_size(), nullptr);
  REQUIRE(view.is_ok());
  llmkit::ops::ThreadPool pool(1);
  std::vector<float> x(64 * 2), y1(40), y2(40);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 13) - 6) * 0.25f;
  packed->forward(x.data(), 2, y1.data(), pool);
  view->forward(x.data(), 2, y2.data(), pool);
  CHECK(y1 == y2);
  CHECK(!PackedLinear::from_packed(TensorType::Q8_0, 64, 20, packed->packed_data(),
                                   packed->packed_size() - 64, nullptr));
  CHECK(!PackedLinear::from_packed(TensorType::Q8_0, 64, 36, packed->packed_data(),
                                   packed->packed_size(), nullptr));
  CHECK(!PackedLinear::from_packed(TensorType::Q8_0, 64, 20, packed->packed_data() + 1,
                                   packed->packed_size(), nullptr));
  CHECK(llmkit::ops::packed_format_fingerprint(TensorType::Q8_0) != 0);
  CHECK(llmkit::ops::packed_format_fingerprint(TensorType::Q8_0) !=
        llmkit::ops::packed_format_fingerprint(TensorType::Q4_0));
}

TEST_CASE("repack cache: the fuzz seeds (written by fuzz/make_corpus.py) parse") {
  // Python writes the format independently of layout_repack_cache: the two must agree.
  const fs::path seed =
      fs::path(LLMKIT_SOURCE_DIR) / "fuzz/corpus/fuzz_repack_cache/two-entries.llmkpack";
  const std::vector<uint8_t> b = read_all(seed);
  REQUIRE(!b.empty());
  const uint64_t id[4] = {1000, 2000, 3000, 4000};
  std::string why;
  auto entries = llmkit::io::parse_repack_cache(b.data(), b.size(), id, &why);
  REQUIRE_MESSAGE(entries, why);
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].key == "blk.0.attn_q.weight+blk.0.attn_k.weight");
  CHECK((*entries)[1].size == 64);
  // The same entries laid out by the C++ writer give the same header and index bytes.
  std::vector<llmkit::io::RepackCacheEntry> again = *entries;
  const auto img = llmkit::io::layout_repack_cache(again, id);
  CHECK(img.file_size == b.size());
  CHECK(std::equal(img.header.begin(), img.header.end(), b.begin()));
  CHECK(std::equal(img.index.begin(), img.index.end(), b.begin() + 4096));
}
