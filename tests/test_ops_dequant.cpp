// Dequantizers vs the `gguf` Python package (goldens from tools/gen_dequant_goldens.py): every
// float must be bit-identical. Cases come from real GGUF tensors; whole-tensor checks against
// the cached models run in the "bigmodel" suite (skipped with a message when absent).
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/gguf.hpp"
#include "io/sha256.hpp"
#include "ops/dequant.hpp"
#include "ops/linear.hpp"
#include "test_util.hpp"

namespace {

using llmkit::io::TensorType;

std::string golden_dir() { return std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/dequant"; }

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

nlohmann::json load_cases() {
  std::ifstream f(golden_dir() + "/cases.json");
  REQUIRE_MESSAGE(f.good(), "missing tests/golden/dequant/cases.json");
  return nlohmann::json::parse(f)["cases"];
}

std::string sha_of(const std::vector<float>& v) {
  llmkit::io::Sha256 h;
  h.update(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4);
  return h.hex_digest();
}

// Dequantizes ROWS rows of K elements from RAW.
std::vector<float> dequant_rows(TensorType t, const uint8_t* raw, int64_t rows, int64_t k) {
  std::vector<float> out(size_t(rows * k));
  const uint64_t rb = llmkit::ops::row_bytes(t, k);
  for (int64_t r = 0; r < rows; ++r) {
    auto st = llmkit::ops::dequantize_row(t, raw + r * rb, out.data() + r * k, k);
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
  return out;
}

}  // namespace

TEST_CASE("dequant: golden rows are bit-exact with gguf.quants for every type") {
  auto cases = load_cases();
  std::set<std::string> types;
  for (const auto& c : cases) {
    const std::string name = c["name"];
    CAPTURE(name);
    auto t = llmkit::io::type_from_name(c["type"].get<std::string>());
    REQUIRE(t.has_value());
    const int64_t k = c["k"], rows = c["rows_stored"], rows_f32 = c["rows_f32"];
    auto raw = read_all(golden_dir() + "/" + name + ".raw");
    REQUIRE(raw.size() == llmkit::ops::row_bytes(*t, k) * uint64_t(rows));
    auto expected = read_all(golden_dir() + "/" + name + ".f32");
    REQUIRE(expected.size() == size_t(rows_f32 * k * 4));
    auto got = dequant_rows(*t, raw.data(), rows, k);
    // First rows: element by element so a failure names the index.
    size_t first_bad = SIZE_MAX;
    for (size_t i = 0; i < expected.size() / 4; ++i)
      if (std::memcmp(&got[i], expected.data() + 4 * i, 4) != 0) {
        first_bad = i;
        break;
      }
    CHECK_MESSAGE(first_bad == SIZE_MAX, "first mismatch at element " << first_bad);
    // All stored rows: by hash.
    CHECK(sha_of(got) == c["stored_sha256"].get<std::string>());
    types.insert(c["type"].get<std::string>());
  }
  // The goldens must keep covering every type the brief requires.
  for (const char* need : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K",
                           "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "MXFP4"})
    CHECK_MESSAGE(types.count(need) == 1, "no golden for " << need);
}

TEST_CASE("dequant: bad input is an error, not a crash") {
  float out[64];
  uint8_t raw[64] = {};
  CHECK(llmkit::ops::dequantize_row(TensorType::Q4_0, raw, out, 31).code() ==
        llmkit::StatusCode::kInvalidArgument);
  CHECK(llmkit::ops::dequantize_row(TensorType::IQ2_XXS, raw, out, 256).code() ==
        llmkit::StatusCode::kUnsupported);
  CHECK(llmkit::ops::dequantize_row(static_cast<TensorType>(77), raw, out, 32).code() ==
        llmkit::StatusCode::kUnsupported);
  CHECK(llmkit::ops::dequantize_row(TensorType::Q8_0, nullptr, out, 32).code() ==
        llmkit::StatusCode::kInvalidArgument);
  CHECK(llmkit::ops::dequantize_row(TensorType::Q8_0, raw, out, 0).is_ok());
  CHECK(llmkit::ops::embedding_row(TensorType::Q4_K, raw, 0, 100, out).code() ==
        llmkit::StatusCode::kInvalidArgument);
}

namespace {

// Whole-tensor check of every case whose model is available: the file's bytes for the stored
// rows must equal the golden's, and the dequantized tensor must hash to full_sha256.
void check_model_cases(const std::string& prefix) {
  auto cases = load_cases();
  std::map<std::string, std::unique_ptr<llmkit::io::GgufFile>> files;
  int checked = 0;
  for (const auto& c : cases) {
    if (!c["model"].is_string() || !c["full_sha256"].is_string()) continue;
    const std::string model = c["model"];
    if (model.rfind(prefix, 0) != 0) continue;
    const std::string rel = model.substr(prefix.size());
    const std::string path =
        prefix == "cache:" ? llmkit::test::cached_model(rel) : llmkit::test::fixture(rel);
    if (!llmkit::test::exists(path)) {
      MESSAGE("skipping " << c["name"].get<std::string>() << ": " << path << " not found");
      continue;
    }
    auto& f = files[path];
    if (!f) {
      auto r = llmkit::io::GgufFile::open(path);
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      f = std::move(r.value());
    }
    const std::string tname = c["tensor"];
    CAPTURE(tname);
    const auto* ti = f->find_tensor(tname);
    REQUIRE(ti != nullptr);
    auto t = llmkit::io::type_from_name(c["type"].get<std::string>());
    REQUIRE(ti->type == uint32_t(*t));
    const int64_t k = c["k"], rows = c["full_rows"];
    REQUIRE(int64_t(ti->dims[0]) == k);
    REQUIRE(int64_t(ti->n_elements) == rows * k);
    auto raw = read_all(golden_dir() + "/" + c["name"].get<std::string>() + ".raw");
    CHECK(std::memcmp(raw.data(), ti->data, raw.size()) == 0);
    auto got = dequant_rows(*t, ti->data, rows, k);
    CHECK(sha_of(got) == c["full_sha256"].get<std::string>());
    ++checked;
  }
  MESSAGE("whole tensors checked: " << checked);
}

}  // namespace

TEST_CASE("dequant: whole fixture tensors hash like gguf.quants") {
  if (!llmkit::test::have_fixtures()) {
    MESSAGE("skipping: fixtures not found at " << llmkit::test::fixtures_dir());
    return;
  }
  check_model_cases("fixture:");
}

TEST_SUITE("bigmodel") {
  TEST_CASE("dequant: whole tensors of the cached models hash like gguf.quants") {
    check_model_cases("cache:");
  }
}
