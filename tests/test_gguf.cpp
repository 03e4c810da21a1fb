// GGUF reader against the `gguf` Python package's readings of every fixture
// (tests/golden/loaders.json, tools/gen_loader_goldens.py): metadata values and types, tensor
// names/types/dims/offsets/bytes and data views, per-type totals; plus the read-into-memory
// fallback, split files and SHA-256.
#include <doctest/doctest.h>

#include <chrono>

#include <fstream>

#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "gguf_builder.hpp"
#include "io/gguf.hpp"
#include "io/model_description.hpp"
#include "io/sha256.hpp"
#include "llmkit/model.hpp"
#include "loader_test_util.hpp"

using llmkit::StatusCode;
using namespace llmkit::io;
using namespace llmkit::test;
using nlohmann::json;

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}
bool is_signed(GgufType t) {
  return t == GgufType::INT8 || t == GgufType::INT16 || t == GgufType::INT32 ||
         t == GgufType::INT64;
}
std::string i128_to_string(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u =
      neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u) {
    s += static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  }
  if (neg) s += '-';
  return std::string(s.rbegin(), s.rend());
}

// One golden scalar ({"int": "..."} / {"float": x} / {"bool": b} / {"str": s} / {"hex": h}).
void check_scalar(GgufType t, uint64_t u, int64_t i, double f, const std::string& s, const json& g,
                  const std::string& where) {
  INFO(where);
  if (g.contains("int")) {
    CHECK(g["int"].get<std::string>() == (is_signed(t) ? std::to_string(i) : std::to_string(u)));
  } else if (g.contains("float")) {
    CHECK(g["float"].get<double>() == f);
  } else if (g.contains("bool")) {
    CHECK(g["bool"].get<bool>() == (u != 0));
  } else if (g.contains("str")) {
    CHECK(g["str"].get<std::string>() == s);
  } else if (g.contains("hex")) {
    CHECK(g["hex"].get<std::string>() == hex(s));
  } else {
    FAIL("golden scalar without a value: " << g.dump());
  }
}

void check_array_element(const GgufValue& v, size_t idx, const json& g, const std::string& where) {
  switch (v.elem_type) {
    case GgufType::STRING:
      check_scalar(v.elem_type, 0, 0, 0, v.arr_str[idx], g, where);
      break;
    case GgufType::FLOAT32:
    case GgufType::FLOAT64:
      check_scalar(v.elem_type, 0, 0, v.arr_float[idx], "", g, where);
      break;
    default: {
      int64_t x = v.arr_int[idx];
      check_scalar(v.elem_type, static_cast<uint64_t>(x), x, 0, "", g, where);
    }
  }
}

void check_metadata(const GgufFile& f, const json& golden) {
  const json& meta = golden["metadata"];
  CHECK(f.metadata().size() == meta.size());
  CHECK(f.metadata().size() == golden["kv_count"].get<size_t>());
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    const std::string& key = it.key();
    const json& g = *it;
    INFO("key " << key);
    const GgufValue* v = f.find(key);
    REQUIRE(v != nullptr);
    CHECK(upper(gguf_type_name(v->type)) == g["type"].get<std::string>());
    if (!v->is_array()) {
      check_scalar(v->type, v->u64, v->i64, v->f64, v->str, g, key);
      continue;
    }
    CHECK(upper(gguf_type_name(v->elem_type)) == g["elem_type"].get<std::string>());
    const uint64_t n = v->array_size();
    REQUIRE(n == g["len"].get<uint64_t>());
    if (v->elem_type == GgufType::STRING) {
      uint64_t total = 0;
      Sha256 h;
      for (const auto& s : v->arr_str) {
        total += s.size();
        uint64_t len = s.size();
        uint8_t le[8];
        std::memcpy(le, &len, 8);
        h.update(le, 8);
        h.update(reinterpret_cast<const uint8_t*>(s.data()), s.size());
      }
      CHECK(total == g["total_bytes"].get<uint64_t>());
      CHECK(h.hex_digest() == g["sha256"].get<std::string>());
    } else if (v->elem_type == GgufType::FLOAT32 || v->elem_type == GgufType::FLOAT64) {
      if (n) {
        long double sum = 0, mag = 0;
        for (double x : v->arr_float) {
          sum += x;
          mag += x < 0 ? -x : x;
        }
        // numpy sums pairwise in float64; both are within a few ulps of the exact sum.
        CHECK(
            static_cast<double>(sum) ==
            doctest::Approx(g["sum"].get<double>()).epsilon(1e-12).scale(static_cast<double>(mag)));
      }
    } else if (v->elem_type != GgufType::ARRAY && n) {
      __int128 sum = 0;
      for (int64_t x : v->arr_int)
        sum +=
            v->elem_type == GgufType::UINT64 ? static_cast<__int128>(static_cast<uint64_t>(x)) : x;
      CHECK(i128_to_string(sum) == g["sum"].get<std::string>());
    }
    if (n && g.contains("first")) {
      check_array_element(*v, 0, g["first"], key + "[0]");
      check_array_element(*v, n - 1, g["last"], key + "[last]");
    }
  }
}

void check_tensors(const GgufFile& f, const json& golden, size_t head_bytes) {
  const json& ts = golden["tensors"];
  REQUIRE(f.tensors().size() == ts.size());
  uint64_t n_params = 0;
  std::map<std::string, std::array<uint64_t, 3>> per_type;
  for (size_t i = 0; i < ts.size(); ++i) {
    const GgufTensorInfo& t = f.tensors()[i];
    const json& g = ts[i];
    INFO("tensor #" << i << " " << g["name"].get<std::string>());
    CHECK(t.name == g["name"].get<std::string>());
    CHECK(t.type == g["type_id"].get<uint32_t>());
    CHECK(type_name(t.type) == g["type"].get<std::string>());
    CHECK(t.dims == g["dims"].get<std::vector<uint64_t>>());
    CHECK(t.n_elements == g["n_elements"].get<uint64_t>());
    CHECK(t.n_bytes == g["n_bytes"].get<uint64_t>());
    CHECK(t.file_offset == g["file_offset"].get<uint64_t>());
    CHECK(f.find_tensor(t.name) == &t);
    const MappedFile* mf = f.split_file(t.split);
    if (mf) CHECK(t.data == mf->data() + t.file_offset);
    CHECK(sha256_hex(t.data, std::min<uint64_t>(t.n_bytes, head_bytes)) ==
          g["head_sha256"].get<std::string>());
    n_params += t.n_elements;
    auto& pt = per_type[type_name(t.type)];
    pt[0] += 1;
    pt[1] += t.n_elements;
    pt[2] += t.n_bytes;
  }
  CHECK(n_params == golden["n_params"].get<uint64_t>());
  const json& bpt = golden["bytes_per_type"];
  CHECK(per_type.size() == bpt.size());
  for (const auto& [name, v] : per_type) {
    INFO("type " << name);
    REQUIRE(bpt.contains(name));
    CHECK(v[0] == bpt[name]["n_tensors"].get<uint64_t>());
    CHECK(v[1] == bpt[name]["n_elements"].get<uint64_t>());
    CHECK(v[2] == bpt[name]["n_bytes"].get<uint64_t>());
  }
}

void check_gguf_against_golden(const std::string& path, const json& g) {
  auto r = GgufFile::open(path);
  if (g.contains("reference_error")) {
    // The reference refuses this file; so must we, naming the same key and offset.
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kCorruptFile);
    const std::string ref =
        g["reference_error"].get<std::string>();  // "Duplicate KEY already in list at offset N"
    const std::string key = ref.substr(10, ref.find(' ', 10) - 10);
    const std::string off = ref.substr(ref.rfind(' ') + 1);
    CHECK_MESSAGE(r.status().message().find("'" + key + "'") != std::string::npos,
                  r.status().message());
    CHECK_MESSAGE(r.status().message().find("offset " + off) != std::string::npos,
                  r.status().message());
    CHECK_MESSAGE(r.status().message().find(path) != std::string::npos, r.status().message());
    return;
  }
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  const GgufFile& f = **r;
  CHECK(f.version() == g["version"].get<uint32_t>());
  CHECK(f.alignment() == g["alignment"].get<uint64_t>());
  CHECK(f.split_count() == 1);
  CHECK(f.split_file(0)->size() == g["size"].get<uint64_t>());
  check_metadata(f, g);
  check_tensors(f, g, loader_goldens()["head_bytes"].get<size_t>());
}

// Serializes a parsed value back to GGUF bytes (the part after the type id).
Bytes serialize_value(const GgufValue& v) {
  Bytes b;
  auto scalar = [&](GgufType t, uint64_t u, int64_t i, double f, const std::string& s) {
    switch (t) {
      case GgufType::UINT8:
        put_le<uint8_t>(b, static_cast<uint8_t>(u));
        break;
      case GgufType::INT8:
        put_le<int8_t>(b, static_cast<int8_t>(i));
        break;
      case GgufType::UINT16:
        put_le<uint16_t>(b, static_cast<uint16_t>(u));
        break;
      case GgufType::INT16:
        put_le<int16_t>(b, static_cast<int16_t>(i));
        break;
      case GgufType::UINT32:
        put_le<uint32_t>(b, static_cast<uint32_t>(u));
        break;
      case GgufType::INT32:
        put_le<int32_t>(b, static_cast<int32_t>(i));
        break;
      case GgufType::FLOAT32:
        put_le<float>(b, static_cast<float>(f));
        break;
      case GgufType::BOOL:
        put_le<uint8_t>(b, static_cast<uint8_t>(u));
        break;
      case GgufType::STRING:
        put_str(b, s);
        break;
      case GgufType::UINT64:
        put_le<uint64_t>(b, u);
        break;
      case GgufType::INT64:
        put_le<int64_t>(b, i);
        break;
      case GgufType::FLOAT64:
        put_le<double>(b, f);
        break;
      case GgufType::ARRAY:
        break;
    }
  };
  if (!v.is_array()) {
    scalar(v.type, v.u64, v.i64, v.f64, v.str);
    return b;
  }
  put_le<uint32_t>(b, static_cast<uint32_t>(v.elem_type));
  put_le<uint64_t>(b, v.array_size());
  for (uint64_t k = 0; k < v.array_size(); ++k) {
    switch (v.elem_type) {
      case GgufType::STRING:
        put_str(b, v.arr_str[k]);
        break;
      case GgufType::FLOAT32:
      case GgufType::FLOAT64:
        scalar(v.elem_type, 0, 0, v.arr_float[k], "");
        break;
      case GgufType::ARRAY: {
        Bytes inner = serialize_value(v.arr_nested[k]);
        b.insert(b.end(), inner.begin(), inner.end());
        break;
      }
      default:
        scalar(v.elem_type, static_cast<uint64_t>(v.arr_int[k]), v.arr_int[k], 0, "");
        break;
    }
  }
  return b;
}

void add_all_kv(GgufBuilder& b, const GgufFile& f) {
  for (const auto& [k, v] : f.metadata())
    b.kv_raw(k, static_cast<uint32_t>(v.type), serialize_value(v));
}
void add_tensor_copy(GgufBuilder& b, const GgufTensorInfo& t) {
  b.tensor(t.name, t.dims, t.type, Bytes(t.data, t.data + t.n_bytes));
}

std::string fixture_or_skip(const std::string& rel) {
  std::string p = fixture(rel);
  if (!exists(p)) MESSAGE("fixture " << p << " is absent; skipping");
  return exists(p) ? p : std::string();
}

}  // namespace

TEST_CASE("gguf: every fixture matches the gguf Python package's reading") {
  if (!have_fixtures()) {
    MESSAGE("fixtures absent (" << fixtures_dir() << "); skipping");
    return;
  }
  const json& all = loader_goldens()["gguf"];
  REQUIRE(all.size() >= 16);
  std::set<std::string> seen;
  for (const auto& g : all) {
    const std::string rel = g["file"].get<std::string>();
    seen.insert(rel);
    SUBCASE(rel.c_str()) { check_gguf_against_golden(fixture(rel), g); }
  }
  // Every GGUF in the fixture tree has a golden (models/, vocab/, vocab/more/**).
  for (const char* sub : {"models", "vocab"})
    for (const auto& e : std::filesystem::recursive_directory_iterator(fixture(sub)))
      if (e.path().extension() == ".gguf")
        CHECK_MESSAGE(seen.count(std::filesystem::relative(e.path(), fixtures_dir()).string()),
                      "no golden for " << e.path() << ": rerun tools/gen_loader_goldens.py");
}

TEST_CASE("gguf: stories260K facts (real file, checked by hand against the README)") {
  std::string p = fixture_or_skip("models/stories260K.gguf");
  if (p.empty()) return;
  auto r = GgufFile::open(p);
  REQUIRE(r.is_ok());
  const GgufFile& f = **r;
  CHECK(f.version() == 3);
  CHECK(f.get_string("general.architecture") == std::optional<std::string>("llama"));
  CHECK(f.get_int("llama.embedding_length") == 64);
  CHECK(f.get_int("llama.block_count") == 5);
  CHECK(f.get_int("llama.attention.head_count") == 8);
  CHECK(f.get_int("llama.attention.head_count_kv") == 4);
  CHECK(f.get_int("llama.feed_forward_length") == 172);
  CHECK(f.get_float("llama.attention.layer_norm_rms_epsilon").value() == doctest::Approx(1e-5));
  // Typed accessors refuse the wrong type instead of converting silently.
  CHECK_FALSE(f.get_string("llama.block_count").has_value());
  CHECK_FALSE(f.get_bool("llama.block_count").has_value());
  CHECK_FALSE(f.get_int("general.architecture").has_value());
  CHECK_FALSE(f.get_int("no.such.key").has_value());
  CHECK(f.find("tokenizer.ggml.tokens")->array_size() == 512);
  CHECK(f.find("tokenizer.ggml.tokens")->arr_str[3] == "<0x00>");
  // The file carries output.weight (292800 parameters in all): 48 tensors = 3 + 5 × 9.
  CHECK(f.tensors().size() == 48);
  const GgufTensorInfo* out = f.find_tensor("output.weight");
  REQUIRE(out != nullptr);
  CHECK(out->dims == std::vector<uint64_t>{64, 512});
  uint64_t params = 0;
  for (const auto& t : f.tensors()) params += t.n_elements;
  CHECK(params == 292800);
}

// Model::load parses the description with max_kept_array_elems (the tokenizer reads the
// vocabulary itself): long arrays keep only their length, short ones and scalars are unchanged,
// and a truncated long array is still an error.
TEST_CASE("gguf: long arrays can be validated without being kept") {
  std::string p = fixture_or_skip("models/stories260K.gguf");
  if (p.empty()) return;
  llmkit::io::GgufParseOptions po;
  po.max_kept_array_elems = 100;
  auto r = GgufFile::open(p, {}, po);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  auto full = GgufFile::open(p);
  REQUIRE(full.is_ok());
  const auto* toks = (*r)->find("tokenizer.ggml.tokens");
  REQUIRE(toks != nullptr);
  CHECK(toks->array_size() == 512);
  CHECK(toks->arr_str.empty());
  CHECK(toks->to_display().find("not kept") != std::string::npos);
  CHECK((*r)->find("tokenizer.ggml.scores")->arr_float.empty());
  CHECK((*r)->metadata().size() == (*full)->metadata().size());
  CHECK((*r)->get_int("llama.block_count") == 5);
  CHECK((*r)->tensors().size() == (*full)->tensors().size());
  // Cut the file inside the token array: still a clear error, not a silent skip.
  std::ifstream in(p, std::ios::binary);
  std::vector<uint8_t> bytes(std::istreambuf_iterator<char>(in), {});
  bytes.resize(2000);
  auto cut = GgufFile::parse(bytes.data(), bytes.size(), "cut.gguf", po);
  CHECK_FALSE(cut.is_ok());
}

TEST_CASE("gguf: read-into-memory fallback gives identical bytes and values") {
  for (const char* rel : {"models/stories260K.gguf", "models/TinyStories-656K-Q8_0.gguf"}) {
    std::string p = fixture_or_skip(rel);
    if (p.empty()) continue;
    INFO(std::string(rel));
    MapOptions heap;
    heap.use_mmap = false;
    auto a = GgufFile::open(p);
    auto b = GgufFile::open(p, heap);
    REQUIRE(a.is_ok());
    REQUIRE(b.is_ok());
    CHECK((*a)->split_file(0)->is_mapped());
    CHECK_FALSE((*b)->split_file(0)->is_mapped());
    REQUIRE((*a)->split_file(0)->size() == (*b)->split_file(0)->size());
    CHECK(std::memcmp((*a)->split_file(0)->data(), (*b)->split_file(0)->data(),
                      (*a)->split_file(0)->size()) == 0);
    REQUIRE((*a)->tensors().size() == (*b)->tensors().size());
    for (size_t i = 0; i < (*a)->tensors().size(); ++i) {
      const auto& ta = (*a)->tensors()[i];
      const auto& tb = (*b)->tensors()[i];
      CHECK(ta.name == tb.name);
      CHECK(ta.file_offset == tb.file_offset);
      CHECK(tb.data == (*b)->split_file(0)->data() + tb.file_offset);
      CHECK(std::memcmp(ta.data, tb.data, ta.n_bytes) == 0);
    }
    REQUIRE((*a)->metadata().size() == (*b)->metadata().size());
    for (size_t i = 0; i < (*a)->metadata().size(); ++i)
      CHECK((*a)->metadata()[i].second.to_display(1 << 20) ==
            (*b)->metadata()[i].second.to_display(1 << 20));
    // Populate/sequential hints change nothing observable.
    MapOptions hinted;
    hinted.populate = true;
    hinted.sequential = true;
    auto c = GgufFile::open(p, hinted);
    REQUIRE(c.is_ok());
    CHECK(std::memcmp((*a)->split_file(0)->data(), (*c)->split_file(0)->data(),
                      (*a)->split_file(0)->size()) == 0);
  }
}

TEST_CASE("gguf: the test builder re-serializes real files byte for byte") {
  // Validates tests/gguf_builder.hpp (used by the malformed-file and split tests) against files
  // written by the real converters.
  for (const char* rel : {"models/stories260K.gguf", "models/TinyStories-656K-Q8_0.gguf",
                          "models/llama-2-tiny-random.gguf", "vocab/ggml-vocab-llama-spm.gguf"}) {
    std::string p = fixture_or_skip(rel);
    if (p.empty()) continue;
    INFO(std::string(rel));
    auto r = GgufFile::open(p);
    REQUIRE(r.is_ok());
    GgufBuilder b;
    b.alignment = static_cast<uint32_t>((*r)->alignment());
    add_all_kv(b, **r);
    for (const auto& t : (*r)->tensors()) add_tensor_copy(b, t);
    Bytes built = b.build();
    Bytes orig = read_file(p);
    REQUIRE(built.size() == orig.size());
    CHECK(built == orig);
    if (!(*r)->tensors().empty()) CHECK(b.layout().data_begin == (*r)->tensors()[0].file_offset);
  }
}

TEST_CASE("gguf: split files NAME-0000k-of-0000N.gguf open as one model") {
  std::string p = fixture_or_skip("models/stories260K.gguf");
  if (p.empty()) return;
  auto orig = GgufFile::open(p);
  REQUIRE(orig.is_ok());
  const GgufFile& f = **orig;
  TempDir dir;
  const std::string prefix = dir.file("stories260K");
  const size_t n = f.tensors().size(), half = n / 2;

  // llama.cpp's gguf-split layout: split.no (u16), split.count (u16), split.tensors.count (i32);
  // the first split carries all other metadata.
  auto write_split = [&](uint16_t no, uint16_t count, size_t from, size_t to, bool all_kv,
                         const std::string& path) {
    GgufBuilder b;
    if (all_kv)
      add_all_kv(b, f);
    else
      b.kv_str("general.architecture", "llama");
    b.kv_raw("split.no", kU16, GgufBuilder::le<uint16_t>(no));
    b.kv_raw("split.count", kU16, GgufBuilder::le<uint16_t>(count));
    b.kv_i32("split.tensors.count", static_cast<int32_t>(n));
    for (size_t i = from; i < to; ++i) add_tensor_copy(b, f.tensors()[i]);
    REQUIRE(write_file(path, b.build()));
  };
  const std::string s1 = make_split_name(prefix, 1, 2), s2 = make_split_name(prefix, 2, 2);
  CHECK(s1 == prefix + "-00001-of-00002.gguf");
  write_split(0, 2, 0, half, true, s1);
  write_split(1, 2, half, n, false, s2);

  SUBCASE("both splits present: same tensors, same bytes, split index recorded") {
    auto r = GgufFile::open(s1);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    const GgufFile& g = **r;
    CHECK(g.split_count() == 2);
    CHECK(g.split_file(1)->path() == s2);
    REQUIRE(g.tensors().size() == n);
    for (size_t i = 0; i < n; ++i) {
      const auto& a = f.tensors()[i];
      const GgufTensorInfo* b = g.find_tensor(a.name);
      REQUIRE(b != nullptr);
      CHECK(b->split == (i < half ? 0u : 1u));
      CHECK(b->dims == a.dims);
      CHECK(b->data == g.split_file(b->split)->data() + b->file_offset);
      CHECK(std::memcmp(b->data, a.data, a.n_bytes) == 0);
    }
    CHECK(g.get_int("llama.block_count") == 5);  // metadata from the first split
    auto d = load_model_description(s1);
    REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
    CHECK((*d)->files == std::vector<std::string>{s1, s2});
    CHECK((*d)->parameter_count() == 292800);
    CHECK((*d)->find("blk.4.ffn_down.weight")->source_file == s2);
  }
  SUBCASE("repack cache: a change to any split makes it stale") {
    llmkit::ModelOptions mo;
    mo.n_threads = 1;
    mo.repack_cache_dir = dir.file("repack");
    auto note = [&] {
      auto m = llmkit::Model::load(s1, mo);
      REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
      return (*m)->info().repack_cache;
    };
    CHECK(note().find("wrote") != std::string::npos);
    CHECK(note().find("mapped from") != std::string::npos);
    std::filesystem::last_write_time(
        s2, std::filesystem::last_write_time(s2) + std::chrono::seconds(5));
    CHECK(note().find("wrote") != std::string::npos);
  }
  SUBCASE("missing split: NotFound naming the missing file") {
    std::filesystem::remove(s2);
    auto r = GgufFile::open(s1);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
    CHECK_MESSAGE(r.status().message().find("missing split 2 of 2") != std::string::npos,
                  r.status().message());
    CHECK_MESSAGE(r.status().message().find(s2) != std::string::npos, r.status().message());
  }
  SUBCASE("opening a later split asks for the first") {
    auto r = GgufFile::open(s2);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find("-00001-of-00002.gguf") != std::string::npos);
  }
  SUBCASE("split.no disagreeing with the file name") {
    write_split(5, 2, half, n, false, s2);
    auto r = GgufFile::open(s1);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kCorruptFile);
    CHECK(r.status().message().find("split.no") != std::string::npos);
  }
  SUBCASE("split.count disagreeing with the file name") {
    write_split(0, 3, 0, half, true, s1);
    auto r = GgufFile::open(s1);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kCorruptFile);
    CHECK(r.status().message().find("split.count") != std::string::npos);
  }
  SUBCASE("the same tensor in two splits") {
    write_split(1, 2, half - 1, n, false, s2);
    auto r = GgufFile::open(s1);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kCorruptFile);
    CHECK(r.status().message().find("'" + f.tensors()[half - 1].name + "'") != std::string::npos);
    CHECK(r.status().message().find(s2) != std::string::npos);
  }
  SUBCASE("split metadata under a name without the split pattern") {
    std::string plain = dir.file("plain.gguf");
    write_split(0, 2, 0, half, true, plain);
    auto r = GgufFile::open(plain);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find(plain) != std::string::npos);
  }
}

TEST_CASE("gguf: split file names") {
  auto s = parse_split_name("/m/Qwen2.5-7B-Q4_K_M-00002-of-00005.gguf");
  REQUIRE(s.has_value());
  CHECK(s->prefix == "/m/Qwen2.5-7B-Q4_K_M");
  CHECK(s->index == 2);
  CHECK(s->count == 5);
  CHECK(make_split_name(s->prefix, 3, 5) == "/m/Qwen2.5-7B-Q4_K_M-00003-of-00005.gguf");
  CHECK_FALSE(parse_split_name("model.gguf").has_value());
  CHECK_FALSE(parse_split_name("m-00000-of-00002.gguf").has_value());  // index 0
  CHECK_FALSE(parse_split_name("m-00003-of-00002.gguf").has_value());  // index > count
  CHECK_FALSE(parse_split_name("m-0000a-of-00002.gguf").has_value());
  CHECK_FALSE(parse_split_name("m-00001-of-00002.bin").has_value());
  CHECK_FALSE(parse_split_name("-00001-of-00002").has_value());
}

TEST_CASE("sha256: FIPS 180-4 vectors and every fixture against Python hashlib") {
  auto h = [](const std::string& s) {
    return sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  CHECK(h("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(h("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(h("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  {
    // One million 'a' fed in uneven chunks (exercises the partial-block buffer).
    Sha256 s;
    std::string chunk(997, 'a');
    size_t left = 1000000;
    while (left) {
      size_t k = std::min(left, chunk.size() - (left % 7));
      s.update(reinterpret_cast<const uint8_t*>(chunk.data()), k);
      left -= k;
    }
    CHECK(s.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  if (!have_fixtures()) return;
  const json& g = loader_goldens();
  int n = 0;
  for (const char* section : {"gguf", "safetensors"})
    for (const auto& e : g[section]) {
      std::string p = fixture(e["file"].get<std::string>());
      auto r = sha256_file(p);
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      CHECK_MESSAGE(*r == e["sha256"].get<std::string>(), p);
      ++n;
    }
  CHECK(n >= 18);
  auto missing = sha256_file(fixture("models/no-such-file.gguf"));
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
}

TEST_SUITE("bigmodel") {
  TEST_CASE("gguf: the cached real models match the gguf Python package's reading") {
    for (const auto& g : loader_goldens()["bigmodel"]) {
      const std::string name = g["file"].get<std::string>();
      const std::string p = cached_model(name);
      if (!exists(p)) {
        MESSAGE(p << " absent (run tools/fetch_models.sh); skipping");
        continue;
      }
      if (std::filesystem::file_size(p) != g["size"].get<uint64_t>()) {
        MESSAGE(p << " differs in size from the golden's file; skipping (rerun "
                     "tools/gen_loader_goldens.py)");
        continue;
      }
      SUBCASE(name.c_str()) { check_gguf_against_golden(p, g); }
    }
  }
}

namespace {
// A 5.3 MiB file made of the real fixture GGUFs back to back, with an odd tail, so a mapping has
// whole 2 MiB blocks and a partial last page. Returns its bytes.
std::string write_concatenated_fixtures(const std::string& path) {
  std::string bytes;
  for (const char* f : {"models/llama-2-tiny-random.gguf", "models/stories260K.gguf",
                        "models/llama-2-tiny-random.gguf", "models/TinyStories-656K-Q8_0.gguf"}) {
    std::ifstream in(llmkit::test::fixture(f), std::ios::binary);
    bytes += std::string(std::istreambuf_iterator<char>(in), {});
  }
  bytes += "tail";
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return bytes;
}

// Resident kB of the mapping that starts at P (/proc/self/smaps); -1 when not found.
long mapping_rss_kb(const void* p) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool in_map = false;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's header line
      in_map = lo == reinterpret_cast<uintptr_t>(p);
    } else if (in_map && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}
}  // namespace

TEST_CASE("MappedFile: huge_pages maps a multi-MiB file 2 MiB-aligned with the same bytes") {
  if (!llmkit::test::have_fixtures()) return;
  TempDir dir;
  const std::string path = dir.file("concat.bin");
  const std::string bytes = write_concatenated_fixtures(path);
  REQUIRE(bytes.size() > (size_t(5) << 20));
  for (bool populate : {false, true}) {
    MapOptions mo;
    mo.huge_pages = true;
    mo.populate = populate;
    auto m = MappedFile::open(path, mo);
    REQUIRE(m);
    REQUIRE((*m)->size() == bytes.size());
    CHECK(std::memcmp((*m)->data(), bytes.data(), bytes.size()) == 0);
#if defined(__linux__)
    CHECK((*m)->is_mapped());
    CHECK(reinterpret_cast<uintptr_t>((*m)->data()) % (uintptr_t(2) << 20) == 0);
#endif
  }
}

TEST_CASE("MappedFile: release_blocks_around drops the whole 2 MiB block around a small read") {
  if (!llmkit::test::have_fixtures()) return;
  TempDir dir;
  const std::string path = dir.file("concat.bin");
  const std::string bytes = write_concatenated_fixtures(path);
  MapOptions mo;
  mo.huge_pages = true;  // 2 MiB-aligned, so block k is [k, k + 1) MiB·2 of the file
  mo.populate = true;
  auto m = MappedFile::open(path, mo);
  REQUIRE(m);
  const MappedFile& f = **m;
#if defined(__linux__)
  unsigned sum = 0;  // touch every page (populate is only a hint on kernels before 5.14)
  for (size_t i = 0; i < f.size(); i += 4096) sum += f.data()[i];
  CHECK(sum == [&] {
    unsigned s = 0;
    for (size_t i = 0; i < bytes.size(); i += 4096) s += uint8_t(bytes[i]);
    return s;
  }());
  const long before = mapping_rss_kb(f.data());
  REQUIRE(before >= long(bytes.size() / 1024) - 4);  // all of it resident
  // A 100-byte "norm vector" at 3 MiB: its block [2, 4) MiB goes, the rest stays.
  f.release_blocks_around(uint64_t(3) << 20, 100);
  CHECK(mapping_rss_kb(f.data()) == before - 2048);
  // A range across the end clamps to the mapping: the last, partial block [4, 5.3) MiB goes.
  f.release_blocks_around(bytes.size() - 10, 1000);
  CHECK(mapping_rss_kb(f.data()) ==
        before - 2048 - long((bytes.size() - (size_t(4) << 20) + 4095) / 4096 * 4));
  f.release_blocks_around(bytes.size() + 10, 10);  // past the end: nothing
#endif
  // Released pages read back the same bytes (from the page cache).
  CHECK(std::memcmp(f.data(), bytes.data(), bytes.size()) == 0);
}
