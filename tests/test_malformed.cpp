// Bad input, clear errors: a table of malformed GGUF files, safetensors files and Hugging Face
// folders, each of which must be refused with a specific StatusCode and a message naming the file,
// the field and (where the format has byte positions) the offset — never a crash, never an
// allocation proportional to a lying count. The files are built programmatically
// (tests/gguf_builder.hpp) or cut/mutated from the real fixtures.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>

#include "gguf_builder.hpp"
#include "io/gguf.hpp"
#include "io/hf_config.hpp"
#include "io/model_description.hpp"
#include "io/safetensors.hpp"
#include "loader_test_util.hpp"

using llmkit::status_code_name;
using llmkit::StatusCode;
using namespace llmkit::io;
using namespace llmkit::test;
namespace fs = std::filesystem;

namespace {

long peak_rss_kb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// A small valid model: 3 KV pairs and two F32 tensors (w: [8, 2], b: [8]).
GgufBuilder base_gguf() {
  GgufBuilder b;
  b.kv_str("general.architecture", "llama");
  b.kv_u32("llama.block_count", 1);
  b.kv_arr_str("tokenizer.ggml.tokens", {"<unk>", "<s>", "a"});
  b.tensor_f32("w", {8, 2});
  b.tensor_f32("b", {8});
  return b;
}
Bytes build(GgufBuilder b) { return b.build(); }

Bytes tensor_info(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                  uint64_t offset, std::optional<uint32_t> n_dims = std::nullopt) {
  Bytes b;
  put_str(b, name);
  put_le<uint32_t>(b, n_dims.value_or(static_cast<uint32_t>(dims.size())));
  for (uint64_t d : dims) put_le<uint64_t>(b, d);
  put_le<uint32_t>(b, type);
  put_le<uint64_t>(b, offset);
  return b;
}
// GGUF with one KV and ONE raw tensor info (no data), for tensor-info field cases.
Bytes gguf_with_info(const Bytes& info, size_t data_bytes = 64) {
  GgufBuilder b;
  b.kv_str("general.architecture", "llama");
  b.tensor_info_raw(info);
  Bytes out = b.build();
  out.resize((out.size() + 31) / 32 * 32 + data_bytes, 0);
  return out;
}
// First KV's string-length field and value position in a base_gguf() build.
constexpr size_t kKv0 = 24;                    // key length of KV #0
constexpr size_t kKv0Value = 24 + 8 + 20 + 4;  // "general.architecture" (20 bytes) + type

struct GgufCase {
  const char* name;
  std::function<Bytes()> make;
  StatusCode code;
  std::vector<std::string> expect;  // substrings of the message (besides the file name)
};

std::vector<GgufCase> gguf_cases() {
  const uint64_t kHuge = 1ull << 40;
  return {
      {"empty file",
       [] { return Bytes{}; },
       StatusCode::kCorruptFile,
       {"magic at offset 0", "truncated"}},
      {"three bytes",
       [] {
         return Bytes{'G', 'G', 'U'};
       },
       StatusCode::kCorruptFile,
       {"magic at offset 0", "truncated"}},
      {"bad magic",
       [] {
         auto b = base_gguf();
         b.magic = "GGML";
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"magic at offset 0", "not a GGUF file", "47474d4c"}},
      {"safetensors file given as GGUF",
       [] { return make_safetensors("{}", {}); },
       StatusCode::kCorruptFile,
       {"magic at offset 0"}},
      {"version 1",
       [] {
         auto b = base_gguf();
         b.version = 1;
         return build(b);
       },
       StatusCode::kUnsupported,
       {"version at offset 4", "GGUF version 1 is not supported"}},
      {"version 4",
       [] {
         auto b = base_gguf();
         b.version = 4;
         return build(b);
       },
       StatusCode::kUnsupported,
       {"version at offset 4", "GGUF version 4"}},
      {"big-endian file",
       [] {
         auto b = base_gguf();
         b.version = 0x03000000;
         return build(b);
       },
       StatusCode::kUnsupported,
       {"version at offset 4", "big-endian"}},
      {"truncated in the header",
       [] {
         Bytes b = build(base_gguf());
         b.resize(12);
         return b;
       },
       StatusCode::kCorruptFile,
       {"tensor_count", "offset 8", "truncated"}},
      {"metadata_kv_count overflows size_t",
       [] {
         auto b = base_gguf();
         b.kv_count_override = UINT64_MAX;
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata_kv_count at offset 16", "18446744073709551615"}},
      {"tensor_count lies (2^62)",
       [] {
         auto b = base_gguf();
         b.tensor_count_override = 1ull << 62;
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"tensor_count at offset 8", "cannot fit"}},
      {"kv count one too many",
       [] {
         GgufBuilder b;
         b.kv_str("a", std::string(40, 'x'));
         b.kv_count_override = 2;
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata key #1 (string length) at offset 85", "truncated"}},
      {"key length past the end of the file",
       [] {
         Bytes b = build(base_gguf());
         patch_le<uint64_t>(b, kKv0, b.size());
         return b;
       },
       StatusCode::kCorruptFile,
       {"metadata key #0 at offset 24", "runs past the end"}},
      {"key length 2^40 (over the string limit)",
       [=] {
         Bytes b = build(base_gguf());
         patch_le<uint64_t>(b, kKv0, kHuge);
         return b;
       },
       StatusCode::kCorruptFile,
       {"metadata key #0 at offset 24", "exceeds the limit"}},
      {"string value longer than the file",
       [] {
         Bytes b = build(base_gguf());
         patch_le<uint64_t>(b, kKv0Value, UINT64_MAX / 2);
         return b;
       },
       StatusCode::kCorruptFile,
       {"metadata 'general.architecture' at offset 56", "string length"}},
      {"non-UTF-8 key",
       [] {
         GgufBuilder b;
         b.kv_u32(
             "bad\xff"
             "key",
             1);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata key #0 at offset 32", "not valid UTF-8"}},
      {"overlong UTF-8 in a key",
       [] {
         GgufBuilder b;
         b.kv_u32("x\xc0\xaf", 1);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata key #0", "not valid UTF-8"}},
      {"UTF-16 surrogate in a key",
       [] {
         GgufBuilder b;
         b.kv_u32("\xed\xa0\x80", 1);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"not valid UTF-8"}},
      {"empty key",
       [] {
         GgufBuilder b;
         b.kv_u32("", 1);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata key #0 at offset 24", "empty key"}},
      {"duplicate key",
       [] {
         auto b = base_gguf();
         b.kv_u32("llama.block_count", 2);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata key 'llama.block_count'", "duplicate key", "offset "}},
      {"unknown value type 13",
       [] {
         GgufBuilder b;
         b.kv_raw("k", 13, {0, 0, 0, 0});
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k' at offset 33", "unknown value type 13"}},
      {"unknown array element type",
       [] {
         GgufBuilder b;
         Bytes v;
         put_le<uint32_t>(v, 99);
         put_le<uint64_t>(v, 0);
         b.kv_raw("k", kArr, v);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k' at offset 37", "unknown array element type 99"}},
      {"array count overflows size_t",
       [] {
         GgufBuilder b;
         Bytes v;
         put_le<uint32_t>(v, kU64);
         put_le<uint64_t>(v, UINT64_MAX);
         b.kv_raw("k", kArr, v);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k' at offset 41", "array length 18446744073709551615", "cannot fit"}},
      {"string array count lies (2^40)",
       [=] {
         GgufBuilder b;
         Bytes v;
         put_le<uint32_t>(v, kStr);
         put_le<uint64_t>(v, kHuge);
         b.kv_raw("k", kArr, v);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k'", "cannot fit"}},
      {"string array element longer than the file",
       [] {
         GgufBuilder b;
         Bytes v;
         put_le<uint32_t>(v, kStr);
         put_le<uint64_t>(v, 1);
         put_le<uint64_t>(v, 1000);
         b.kv_raw("k", kArr, v);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k'[0] at offset 49", "runs past the end"}},
      {"arrays nested 5 deep",
       [] {
         GgufBuilder b;
         Bytes v;
         // KV type ARRAY; each level is (element type ARRAY, count 1); the innermost is u8 x 0.
         for (int i = 0; i < 5; ++i) {
           put_le<uint32_t>(v, kArr);
           put_le<uint64_t>(v, 1);
         }
         put_le<uint32_t>(v, kU8);
         put_le<uint64_t>(v, 0);
         b.kv_raw("k", kArr, v);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k'", "nested deeper than 4"}},
      {"bool value 2",
       [] {
         GgufBuilder b;
         b.kv_raw("flag", kBool, {2});
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'flag' at offset 40", "bool value 2"}},
      {"value truncated",
       [] {
         GgufBuilder b;
         b.kv_raw("k", kU64, {1, 2, 3});
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"metadata 'k' at offset 37", "truncated"}},
      {"alignment not a power of two",
       [] {
         auto b = base_gguf();
         b.kv_u32("general.alignment", 48);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"general.alignment", "power of two"}},
      {"alignment zero",
       [] {
         auto b = base_gguf();
         b.kv_u32("general.alignment", 0);
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"general.alignment"}},
      {"alignment of the wrong type",
       [] {
         auto b = base_gguf();
         b.kv_str("general.alignment", "32");
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"general.alignment", "uint32"}},
      {"duplicate tensor name",
       [] {
         auto b = base_gguf();
         b.tensor_f32("w", {8});
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "duplicate tensor name", "offset "}},
      {"tensor name not UTF-8",
       [] {
         auto b = base_gguf();
         b.tensor_f32("w\xfe", {8});
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"tensor #2 name", "not valid UTF-8"}},
      {"tensor name longer than the file",
       [] {
         Bytes i;
         put_le<uint64_t>(i, 1ull << 20);
         return gguf_with_info(i);
       },
       StatusCode::kCorruptFile,
       {"tensor #0 name at offset 69", "runs past the end"}},
      {"n_dims 0",
       [] { return gguf_with_info(tensor_info("t", {}, 0, 0)); },
       StatusCode::kCorruptFile,
       {"tensor 't' at offset 78", "n_dims 0 is not in 1..4"}},
      {"n_dims 5",
       [] {
         return gguf_with_info(tensor_info("t", {1, 1, 1, 1, 1}, 0, 0));
       },
       StatusCode::kCorruptFile,
       {"tensor 't'", "n_dims 5"}},
      {"n_dims 2^32-1 (lying count)",
       [] { return gguf_with_info(tensor_info("t", {4}, 0, 0, UINT32_MAX)); },
       StatusCode::kCorruptFile,
       {"tensor 't'", "n_dims 4294967295"}},
      {"element count overflows",
       [=] {
         return gguf_with_info(tensor_info("t", {kHuge, kHuge}, 0, 0));
       },
       StatusCode::kCorruptFile,
       {"tensor 't' at offset 78", "element count overflows"}},
      {"byte count overflows (2^62 F32 elements)",
       [] { return gguf_with_info(tensor_info("t", {1ull << 62}, 0, 0)); },
       StatusCode::kCorruptFile,
       {"tensor 't'"}},
      {"unknown ggml type 77",
       [] { return gguf_with_info(tensor_info("t", {32}, 77, 0)); },
       StatusCode::kUnsupported,
       {"tensor 't' at offset 90", "unknown ggml tensor type id 77"}},
      {"removed ggml type 4 (Q4_2)",
       [] { return gguf_with_info(tensor_info("t", {32}, 4, 0)); },
       StatusCode::kUnsupported,
       {"tensor 't'", "type id 4"}},
      {"safetensors-only type id in a GGUF",
       [] { return gguf_with_info(tensor_info("t", {32}, 1000, 0)); },
       StatusCode::kUnsupported,
       {"type id 1000"}},
      {"Q8_0 row of 33 elements (not a block multiple)",
       [] {
         return gguf_with_info(tensor_info("t", {33, 2}, 8, 0));
       },
       StatusCode::kCorruptFile,
       {"tensor 't' at offset 78", "not a multiple of the Q8_0 block size 32"}},
      {"Q4_K row of 128 elements",
       [] { return gguf_with_info(tensor_info("t", {128}, 12, 0)); },
       StatusCode::kCorruptFile,
       {"Q4_K block size 256"}},
      {"misaligned data offset",
       [] { return gguf_with_info(tensor_info("t", {4}, 0, 4)); },
       StatusCode::kCorruptFile,
       {"tensor 't' at offset 94", "data offset 4 is not aligned to 32"}},
      {"tensor data out of bounds",
       [] { return gguf_with_info(tensor_info("t", {4}, 0, 1 << 20)); },
       StatusCode::kCorruptFile,
       {"tensor 't' at offset", "lies outside the data section of 64 bytes"}},
      {"offset + size overflows uint64",
       [] { return gguf_with_info(tensor_info("t", {64}, 0, UINT64_MAX / 32 * 32)); },
       StatusCode::kCorruptFile,
       {"tensor 't'", "lies outside the data section"}},
      {"tensor larger than the data section",
       [] { return gguf_with_info(tensor_info("t", {17}, 0, 0)); },
       StatusCode::kCorruptFile,
       {"tensor 't' at offset 128", "[0, +68)", "64 bytes"}},
      {"overlapping tensors",
       [] {
         auto b = base_gguf();
         b.tensors()[1].offset = 32;
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"tensor 'b'", "overlaps tensor 'w'"}},
      {"two tensors at the same offset",
       [] {
         auto b = base_gguf();
         b.tensors()[1].offset = 0;
         return build(b);
       },
       StatusCode::kCorruptFile,
       {"overlaps tensor"}},
      {"data section cut short",
       [] {
         auto b = base_gguf();
         Bytes x = b.build();
         x.resize(b.layout().tensor_data[1] + 8);
         return x;
       },
       StatusCode::kCorruptFile,
       {"tensor 'b'", "lies outside the data section"}},
      {"file ends inside the tensor infos",
       [] {
         auto b = base_gguf();
         Bytes x = b.build();
         x.resize(b.layout().tensor_begin[1] + 5);
         return x;
       },
       StatusCode::kCorruptFile,
       {"tensor #1 name", "truncated"}},
      {"file ends before the data section",
       [] {
         auto b = base_gguf();
         Bytes x = b.build();
         x.resize(b.layout().tensor_infos_end + 1);
         return x;
       },
       StatusCode::kCorruptFile,
       {"tensor data section", "file ends before the data section"}},
  };
}

void check_status(const llmkit::Status& s, StatusCode code, const std::string& file,
                  const std::vector<std::string>& expect) {
  REQUIRE_FALSE(s.is_ok());
  CHECK_MESSAGE(s.code() == code, "got " << status_code_name(s.code()) << ": " << s.message());
  CHECK_MESSAGE(s.message().find(file) != std::string::npos,
                "message does not name the file: " << s.message());
  for (const auto& e : expect)
    CHECK_MESSAGE(s.message().find(e) != std::string::npos,
                  "missing '" << e << "' in: " << s.message());
}

}  // namespace

TEST_CASE(
    "malformed GGUF: table of bad files, each refused with a specific code and a precise message") {
  auto cases = gguf_cases();
  CHECK(cases.size() >= 40);
  TempDir dir;
  int i = 0;
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    Bytes bytes = c.make();
    const long rss_before = peak_rss_kb();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = GgufFile::parse(bytes.data(), bytes.size(), "bad.gguf");
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    check_status(r.status(), c.code, "bad.gguf", c.expect);
    // A lying count must be refused before anything proportional to it is allocated or looped over.
    CHECK(peak_rss_kb() - rss_before < 64 * 1024);
    CHECK(ms < 200);
    // The same through the file API: the message names the path.
    const std::string path = dir.file("case" + std::to_string(i++) + ".gguf");
    REQUIRE(write_file(path, bytes));
    auto f = GgufFile::open(path);
    check_status(f.status(), c.code, path, c.expect);
    MapOptions heap;
    heap.use_mmap = false;
    auto h = GgufFile::open(path, heap);
    CHECK(h.status().code() == c.code);
  }
}

TEST_CASE("malformed GGUF: the base file of the table is valid") {
  // Guards the table: each case above differs from a file that parses.
  Bytes ok = build(base_gguf());
  auto r = GgufFile::parse(ok.data(), ok.size(), "ok.gguf");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK((*r)->tensors().size() == 2);
  float v = 0;
  std::memcpy(&v, (*r)->find_tensor("w")->data + 4 * 15, 4);
  CHECK(v == 15.0f);
  Bytes info_ok = gguf_with_info(tensor_info("t", {16}, 0, 0));
  CHECK(GgufFile::parse(info_ok.data(), info_ok.size(), "ok.gguf").is_ok());
  // GGUF v2 has the same little-endian layout and is accepted.
  auto b2 = base_gguf();
  b2.version = 2;
  Bytes v2 = build(b2);
  CHECK(GgufFile::parse(v2.data(), v2.size(), "v2.gguf").is_ok());
  // An empty (zero-byte) tensor may share its offset with another one.
  auto be = base_gguf();
  be.tensor("empty", {8, 0}, 0, {}, 0);
  Bytes e = build(be);
  auto re = GgufFile::parse(e.data(), e.size(), "empty.gguf");
  CHECK_MESSAGE(re.is_ok(), re.status().to_string());
}

TEST_CASE("malformed GGUF: real fixtures cut at every section boundary") {
  for (const char* rel : {"models/stories260K.gguf", "models/TinyStories-656K-Q8_0.gguf"}) {
    const std::string p = fixture(rel);
    if (!exists(p)) {
      MESSAGE(p << " absent; skipping");
      continue;
    }
    INFO(std::string(rel));
    const Bytes orig = read_file(p);
    auto full = GgufFile::parse(orig.data(), orig.size(), rel);
    REQUIRE(full.is_ok());
    // Section boundaries of the real file, found by walking its bytes with the spec's rules
    // (independently of the reader under test): every KV pair, key, type, a few array elements,
    // every tensor info and every tensor's data.
    std::vector<size_t> cuts = {0, 1, 3, 4, 5, 8, 12, 16, 20, 24, 25, 31, 32};
    {
      size_t pos = 24;
      auto rd64 = [&](size_t at) { return read_le<uint64_t>(orig, at); };
      auto rd32 = [&](size_t at) { return read_le<uint32_t>(orig, at); };
      std::function<size_t(uint32_t, size_t)> skip = [&](uint32_t t, size_t at) -> size_t {
        static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        if (t == kStr) return at + 8 + rd64(at);
        if (t == kArr) {
          uint32_t et = rd32(at);
          uint64_t n = rd64(at + 4);
          at += 12;
          for (uint64_t i = 0; i < n; ++i) {
            at = skip(et, at);
            if (i < 3 || i + 1 == n) cuts.push_back(at);  // inside arrays: a few element boundaries
          }
          return at;
        }
        return at + sz[t];
      };
      for (size_t i = 0; i < (*full)->metadata().size(); ++i) {
        cuts.push_back(pos);
        cuts.push_back(pos + 1);
        cuts.push_back(pos + 8);
        size_t key_end = pos + 8 + rd64(pos);
        cuts.push_back(key_end);
        cuts.push_back(key_end + 4);
        pos = skip(rd32(key_end), key_end + 4);
      }
      for (size_t i = 0; i < (*full)->tensors().size(); ++i) {
        cuts.push_back(pos);
        cuts.push_back(pos + 9);
        pos += 8 + rd64(pos);
        uint32_t nd = rd32(pos);
        cuts.push_back(pos + 4);
        pos += 4 + 8 * nd + 4 + 8;
        cuts.push_back(pos - 1);
      }
      cuts.push_back(pos);  // end of the tensor infos
      for (const auto& t : (*full)->tensors()) {
        cuts.push_back(t.file_offset);
        cuts.push_back(t.file_offset + 1);
        cuts.push_back(t.file_offset + t.n_bytes - 1);
      }
    }
    int checked = 0;
    for (size_t cut : cuts) {
      if (cut >= orig.size()) continue;
      INFO("cut at " << cut);
      Bytes part(orig.begin(), orig.begin() + static_cast<long>(cut));
      auto r = GgufFile::parse(part.data(), part.size(), "cut.gguf");
      REQUIRE_FALSE(r.is_ok());
      CHECK(r.status().code() == StatusCode::kCorruptFile);
      CHECK(r.status().message().rfind("cut.gguf: ", 0) == 0);
      CHECK(r.status().message().find(" at offset ") != std::string::npos);
      ++checked;
    }
    CHECK(checked > 100);
  }
}

TEST_CASE("malformed GGUF: random byte mutations of a real header never crash") {
  // A deterministic in-test fuzz pass (the libFuzzer target fuzz/fuzz_gguf.cpp runs far longer):
  // every mutant parses or fails cleanly, and whatever parses only points inside the buffer.
  const std::string p = fixture("models/stories260K.gguf");
  if (!exists(p)) {
    MESSAGE(p << " absent; skipping");
    return;
  }
  const Bytes orig = read_file(p);
  const size_t header =
      14176;  // data section start of stories260K (golden file_offset of tensor 0)
  std::mt19937_64 rng(12345);
  int failed = 0, parsed = 0;
  for (int it = 0; it < 300; ++it) {
    Bytes m(orig.begin(), orig.begin() + header + 4096);
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      size_t at = rng() % header;
      switch (rng() % 3) {
        case 0:
          m[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          m[at] = 0xff;
          break;
        default:
          m[at] = static_cast<uint8_t>(rng());
          break;
      }
    }
    auto r = GgufFile::parse(m.data(), m.size(), "mutant.gguf");
    if (!r.is_ok()) {
      ++failed;
      CHECK(r.status().message().rfind("mutant.gguf: ", 0) == 0);
      continue;
    }
    ++parsed;
    for (const auto& t : (*r)->tensors()) {
      CHECK(t.data >= m.data());
      CHECK(t.data + t.n_bytes <= m.data() + m.size());
    }
  }
  CHECK(failed + parsed == 300);
  CHECK(failed > 0);
}

// ---------------------------------------------------------------------------------------------

namespace {

struct StCase {
  const char* name;
  std::function<Bytes()> make;
  StatusCode code;
  std::vector<std::string> expect;
};

Bytes floats_buf(size_t n) {
  Bytes b;
  for (size_t i = 0; i < n; ++i) put_le<float>(b, static_cast<float>(i));
  return b;
}
Bytes st(const std::string& header, size_t buffer_floats = 4) {
  return make_safetensors(header, floats_buf(buffer_floats));
}

std::vector<StCase> st_cases() {
  const std::string w = R"("w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]})";
  return {
      {"shorter than the length field",
       [] {
         return Bytes{1, 2, 3};
       },
       StatusCode::kCorruptFile,
       {"header length at offset 0", "truncated"}},
      {"header length 2^62 (JSON bomb by length)",
       [] { return make_safetensors("{}", {}, 1ull << 62); },
       StatusCode::kCorruptFile,
       {"header length at offset 0", "exceeds the limit"}},
      {"header length past the end of the file",
       [] { return make_safetensors("{}", {}, 1000); },
       StatusCode::kCorruptFile,
       {"header length at offset 0", "runs past the end"}},
      {"header of one byte",
       [] { return make_safetensors("{", {}); },
       StatusCode::kCorruptFile,
       {"header at offset 8"}},
      {"header is not JSON",
       [] { return make_safetensors("{\"w\": nope}", {}); },
       StatusCode::kCorruptFile,
       {"header JSON at offset 15", "syntax error"}},
      {"header is a GGUF file",
       [] { return build(base_gguf()); },
       StatusCode::kCorruptFile,
       {"header length at offset 0"}},
      {"header is a JSON array",
       [] { return make_safetensors("[1,2]", {}); },
       StatusCode::kCorruptFile,
       {"header at offset 8", "not a JSON object"}},
      {"JSON bomb: 100000 nested arrays",
       [] {
         return make_safetensors(
             "{\"w\":" + std::string(100000, '[') + std::string(100000, ']') + "}", {});
       },
       StatusCode::kCorruptFile,
       {"header JSON at offset 28", "nested deeper than 16"}},
      {"JSON bomb: 100000 unclosed arrays",
       [] { return make_safetensors("{\"w\":" + std::string(100000, '['), {}); },
       StatusCode::kCorruptFile,
       {"header JSON at offset 28", "nested deeper"}},
      {"JSON bomb: 100000 nested objects",
       [] {
         std::string h;
         for (int i = 0; i < 100000; ++i) h += "{\"a\":";
         h += "1" + std::string(100000, '}');
         return make_safetensors(h, {});
       },
       StatusCode::kCorruptFile,
       {"header JSON at offset 88", "nested deeper"}},
      {"invalid UTF-8 inside the JSON",
       [] { return make_safetensors("{\"w\xff\":1}", {}); },
       StatusCode::kCorruptFile,
       {"header JSON"}},
      {"duplicate tensor name",
       [=] { return st("{" + w + "," + w + "}"); },
       StatusCode::kCorruptFile,
       {"header JSON at offset 8", "duplicate key 'w'"}},
      {"F8 dtype",
       [] { return st(R"({"w":{"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]}})"); },
       StatusCode::kUnsupported,
       {"tensor 'w'", "F8_E4M3", "8-bit float"}},
      {"unknown dtype",
       [] { return st(R"({"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})"); },
       StatusCode::kUnsupported,
       {"tensor 'w'", "'Q4'"}},
      {"dtype not a string",
       [] { return st(R"({"w":{"dtype":4,"shape":[4],"data_offsets":[0,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "'dtype'"}},
      {"missing shape",
       [] { return st(R"({"w":{"dtype":"F32","data_offsets":[0,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "'shape'"}},
      {"shape x dtype does not match the byte length",
       [] { return st(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "16 bytes at file offset", "shape x dtype (12 bytes)"}},
      {"BF16 tensor sized as F32",
       [] { return st(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "(8 bytes)"}},
      {"negative dimension",
       [] { return st(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "non-negative"}},
      {"fractional dimension",
       [] { return st(R"({"w":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "non-negative integers"}},
      {"shape element count overflows",
       [] {
         return st(
             R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})");
       },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "overflows"}},
      {"nine dimensions",
       [] {
         return st(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,4],"data_offsets":[0,16]}})");
       },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "more than 8 dimensions"}},
      {"data_offsets reversed",
       [] { return st(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "reversed"}},
      {"data_offsets past the buffer",
       [] { return st(R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "past the byte buffer of 16 bytes", "file offset"}},
      {"data_offsets near 2^64",
       [] {
         return st(
             R"({"w":{"dtype":"U8","shape":[16],"data_offsets":[18446744073709551600,18446744073709551615]}})");
       },
       StatusCode::kCorruptFile,
       {"tensor 'w'"}},
      {"data_offsets with three entries",
       [] { return st(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8,16]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "two integers"}},
      {"negative data offset",
       [] { return st(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "non-negative"}},
      {"overlapping tensors",
       [=] { return st("{" + w + R"(,"v":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"); },
       StatusCode::kCorruptFile,
       {"overlaps tensor", "file offset"}},
      {"entry is not an object",
       [] { return st(R"({"w":[1,2]})"); },
       StatusCode::kCorruptFile,
       {"tensor 'w'", "not an object"}},
      {"__metadata__ is not an object",
       [=] { return st("{\"__metadata__\":[1]," + w + "}"); },
       StatusCode::kCorruptFile,
       {"__metadata__", "not an object"}},
      {"__metadata__ value is not a string",
       [=] { return st("{\"__metadata__\":{\"format\":1}," + w + "}"); },
       StatusCode::kCorruptFile,
       {"__metadata__.format", "not a string"}},
  };
}

}  // namespace

TEST_CASE(
    "malformed safetensors: table of bad files, each refused with a specific code and a precise "
    "message") {
  auto cases = st_cases();
  CHECK(cases.size() >= 25);
  TempDir dir;
  int i = 0;
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    Bytes bytes = c.make();
    const long rss_before = peak_rss_kb();
    auto r = SafetensorsFile::parse(bytes.data(), bytes.size(), "bad.safetensors");
    check_status(r.status(), c.code, "bad.safetensors", c.expect);
    CHECK(peak_rss_kb() - rss_before < 256 * 1024);
    const std::string path = dir.file("case" + std::to_string(i++) + ".safetensors");
    REQUIRE(write_file(path, bytes));
    auto f = SafetensorsFile::open(path);
    check_status(f.status(), c.code, path, c.expect);
  }
}

TEST_CASE("malformed safetensors: a real checkpoint cut at every tensor boundary") {
  const std::string p = fixture("safetensors/stories260K-hf-derived/model.safetensors");
  if (!exists(p)) {
    MESSAGE(p << " absent; skipping");
    return;
  }
  const Bytes orig = read_file(p);
  auto full = SafetensorsFile::parse(orig.data(), orig.size(), "full");
  REQUIRE(full.is_ok());
  const uint64_t hdr = read_le<uint64_t>(orig, 0);
  std::vector<size_t> cuts = {0, 1, 7, 8, 9, 8 + hdr / 2, 8 + hdr - 1, 8 + hdr};
  for (size_t k = 9; k < 8 + hdr; k += 331) cuts.push_back(k);
  for (const auto& t : (*full)->tensors()) {
    if (t.file_offset > 8 + hdr) cuts.push_back(t.file_offset);
    cuts.push_back(t.file_offset + 1);
  }
  cuts.push_back(orig.size() - 1);
  for (size_t cut : cuts) {
    INFO("cut at " << cut);
    Bytes part(orig.begin(), orig.begin() + static_cast<long>(cut));
    auto r = SafetensorsFile::parse(part.data(), part.size(), "cut.safetensors");
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kCorruptFile);
    CHECK(r.status().message().rfind("cut.safetensors: ", 0) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Hugging Face folders: config.json, index, shards.

namespace {

const char* kConfig =
    R"({"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
  "num_key_value_heads":1,"intermediate_size":16,"vocab_size":4,"rms_norm_eps":1e-5,"tie_word_embeddings":true})";

std::string small_shard(const std::string& tensor_name) {
  return R"({")" + tensor_name + R"(":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
}

struct FolderCase {
  const char* name;
  std::function<void(const std::string& dir)> make;
  StatusCode code;
  std::vector<std::string> expect;  // "%D" is replaced by the folder path
};

void put(const std::string& path, const std::string& text) {
  REQUIRE(write_file(path, Bytes(text.begin(), text.end())));
}
void put_shard(const std::string& path, const std::string& tensor_name) {
  REQUIRE(write_file(path, st(small_shard(tensor_name))));
}

std::vector<FolderCase> folder_cases() {
  auto cfg = [](const std::string& d, const std::string& text) { put(d + "/config.json", text); };
  auto with_cfg_change = [&](const std::string& from, const std::string& to) {
    return [=](const std::string& d) {
      std::string c = kConfig;
      c.replace(c.find(from), from.size(), to);
      put(d + "/config.json", c);
      put_shard(d + "/model.safetensors", "model.norm.weight");
    };
  };
  return {
      {"no config.json",
       [](const std::string& d) { put_shard(d + "/model.safetensors", "x"); },
       StatusCode::kNotFound,
       {"%D", "no config.json"}},
      {"config.json is not JSON",
       [=](const std::string& d) { cfg(d, "{\"model_type\": llama}"); },
       StatusCode::kCorruptFile,
       {"%D/config.json"}},
      {"config.json is a JSON array",
       [=](const std::string& d) { cfg(d, "[]"); },
       StatusCode::kCorruptFile,
       {"%D/config.json", "not a JSON object"}},
      {"config.json without model_type",
       with_cfg_change("\"model_type\":\"llama\",", ""),
       StatusCode::kCorruptFile,
       {"%D/config.json", "'model_type'"}},
      {"model_type is a number",
       with_cfg_change("\"llama\"", "7"),
       StatusCode::kCorruptFile,
       {"'model_type'"}},
      {"hidden_size is a string",
       with_cfg_change("\"hidden_size\":8", "\"hidden_size\":\"8\""),
       StatusCode::kCorruptFile,
       {"%D/config.json", "field 'hidden_size'", "integer"}},
      {"num_attention_heads is negative",
       with_cfg_change("\"num_attention_heads\":2", "\"num_attention_heads\":-2"),
       StatusCode::kCorruptFile,
       {"field 'num_attention_heads'"}},
      {"num_hidden_layers is fractional",
       with_cfg_change("\"num_hidden_layers\":1", "\"num_hidden_layers\":1.5"),
       StatusCode::kCorruptFile,
       {"field 'num_hidden_layers'"}},
      {"vocab_size above 2^32",
       with_cfg_change("\"vocab_size\":4", "\"vocab_size\":4294967296"),
       StatusCode::kCorruptFile,
       {"field 'vocab_size'"}},
      {"rms_norm_eps is a string",
       with_cfg_change("\"rms_norm_eps\":1e-5", "\"rms_norm_eps\":\"1e-5\""),
       StatusCode::kCorruptFile,
       {"field 'rms_norm_eps'", "number"}},
      {"rms_norm_eps beyond float range",
       with_cfg_change("\"rms_norm_eps\":1e-5", "\"rms_norm_eps\":1e300"),
       StatusCode::kCorruptFile,
       {"field 'rms_norm_eps'", "float range"}},
      {"no weights",
       [=](const std::string& d) { cfg(d, kConfig); },
       StatusCode::kNotFound,
       {"%D", "no .safetensors"}},
      {"index names a missing shard",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put_shard(d + "/model-00001-of-00002.safetensors", "model.norm.weight");
         put(d + "/model.safetensors.index.json",
             R"({"weight_map":{"model.norm.weight":"model-00001-of-00002.safetensors",)"
             R"("lm_head.weight":"model-00002-of-00002.safetensors"}})");
       },
       StatusCode::kNotFound,
       {"missing shard 'model-00002-of-00002.safetensors'", "%D/model.safetensors.index.json"}},
      {"index escapes the folder",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put(d + "/model.safetensors.index.json",
             R"({"weight_map":{"w":"../outside.safetensors"}})");
       },
       StatusCode::kCorruptFile,
       {"weight_map['w']", "not a plain file name"}},
      {"index without weight_map",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put(d + "/model.safetensors.index.json", R"({"metadata":{}})");
       },
       StatusCode::kCorruptFile,
       {"'weight_map'"}},
      {"index is not JSON",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put(d + "/model.safetensors.index.json", "{");
       },
       StatusCode::kCorruptFile,
       {"%D/model.safetensors.index.json"}},
      {"weight_map value is not a string",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put(d + "/model.safetensors.index.json", R"({"weight_map":{"w":3}})");
       },
       StatusCode::kCorruptFile,
       {"weight_map['w']", "not a string"}},
      {"the same tensor in two shards",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put_shard(d + "/a.safetensors", "model.norm.weight");
         put_shard(d + "/b.safetensors", "model.norm.weight");
         put(d + "/model.safetensors.index.json",
             R"({"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
       },
       StatusCode::kCorruptFile,
       {"%D/b.safetensors", "'model.norm.weight'", "more than once"}},
      {"corrupt shard",
       [=](const std::string& d) {
         cfg(d, kConfig);
         put(d + "/model.safetensors", std::string("\x10\0\0\0\0\0\0\0{\"w\":", 13));
       },
       StatusCode::kCorruptFile,
       {"%D/model.safetensors", "header length at offset 0"}},
      {"shard with an F8 tensor",
       [=](const std::string& d) {
         cfg(d, kConfig);
         REQUIRE(write_file(
             d + "/model.safetensors",
             st(R"({"model.norm.weight":{"dtype":"F8_E5M2","shape":[16],"data_offsets":[0,16]}})")));
       },
       StatusCode::kUnsupported,
       {"%D/model.safetensors", "F8_E5M2"}},
  };
}

}  // namespace

TEST_CASE("malformed Hugging Face folders: config.json, index and shards") {
  auto cases = folder_cases();
  int i = 0;
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    TempDir dir;
    const std::string d = dir.file("model" + std::to_string(i++));
    fs::create_directories(d);
    c.make(d);
    auto r = load_model_description(d);
    std::vector<std::string> expect;
    for (std::string e : c.expect) {
      if (auto at = e.find("%D"); at != std::string::npos) e.replace(at, 2, d);
      expect.push_back(e);
    }
    check_status(r.status(), c.code, d, expect);
  }
}

TEST_CASE("malformed inputs to load_model_description") {
  TempDir dir;
  SUBCASE("missing path") {
    auto r = load_model_description(dir.file("nothing-here.gguf"));
    check_status(r.status(), StatusCode::kNotFound, dir.file("nothing-here.gguf"),
                 {"no such file"});
  }
  SUBCASE("a single .safetensors shard instead of the folder") {
    const std::string p = dir.file("model.safetensors");
    put_shard(p, "w");
    auto r = load_model_description(p);
    check_status(r.status(), StatusCode::kInvalidArgument, p, {"folder"});
  }
  SUBCASE("GGUF without general.architecture") {
    GgufBuilder b;
    b.kv_u32("llama.block_count", 1);
    b.tensor_f32("w", {4});
    const std::string p = dir.file("noarch.gguf");
    REQUIRE(write_file(p, b.build()));
    auto r = load_model_description(p);
    check_status(r.status(), StatusCode::kCorruptFile, p, {"'general.architecture'", "missing"});
  }
  SUBCASE("missing split of a split GGUF") {
    GgufBuilder b;
    b.kv_str("general.architecture", "llama");
    b.kv_raw("split.no", kU16, GgufBuilder::le<uint16_t>(0));
    b.kv_raw("split.count", kU16, GgufBuilder::le<uint16_t>(3));
    b.tensor_f32("w", {4});
    const std::string p = make_split_name(dir.file("m"), 1, 3);
    REQUIRE(write_file(p, b.build()));
    auto r = load_model_description(p);
    check_status(r.status(), StatusCode::kNotFound, p,
                 {"missing split 2 of 3", make_split_name(dir.file("m"), 2, 3)});
  }
  SUBCASE("a directory where a file is expected") {
    auto r = GgufFile::open(dir.path());
    check_status(r.status(), StatusCode::kInvalidArgument, dir.path(), {"directory"});
  }
  SUBCASE("an empty file") {
    const std::string p = dir.file("empty.gguf");
    REQUIRE(write_file(p, {}));
    auto r = load_model_description(p);
    check_status(r.status(), StatusCode::kCorruptFile, p, {"magic at offset 0"});
  }
}

TEST_CASE("malformed config.json text: parse_hf_config never throws") {
  // nlohmann-json throws on bad input; the library must turn every throw into a Status.
  const char* texts[] = {
      "",
      "{",
      "nul",
      "[]",
      "\"str\"",
      "{\"model_type\":null}",
      "{\"model_type\":\"llama\",\"hidden_size\":1e400}",
      "{\"model_type\":\"llama\",\"rope_scaling\":{\"factor\":\"x\",\"original_max_position_"
      "embeddings\":1e30}}",
      "{\"model_type\":\"gemma3\",\"layer_types\":[1,null,{}]}",
      "{\"model_type\":\"llama\",\"eos_token_id\":[\"a\"],\"bos_token_id\":-1}",
      "{\"model_type\":\"llama\",\"text_config\":{\"hidden_size\":\"8\"}}",
      "{\"model_type\":\"llama\",\"sliding_window\":-5,\"head_dim\":1.5}",
  };
  for (const char* t : texts) {
    INFO(t);
    llmkit::Result<HyperParams> r = HyperParams{};
    CHECK_NOTHROW(r = parse_hf_config(t, "cfg.json"));
    if (!r.is_ok()) CHECK(r.status().message().rfind("cfg.json", 0) == 0);
  }
  // Regression (found by fuzz_hf_config / UBSan): a huge original_max_position_embeddings was
  // converted float -> uint32 (undefined behaviour); it is now ignored.
  auto r = parse_hf_config(
      R"({"model_type":"llama","rope_scaling":{"original_max_position_embeddings":1e30,"factor":1e300}})",
      "cfg.json");
  REQUIRE(r.is_ok());
  CHECK(r->rope_original_ctx == 0);
  CHECK(r->rope_scaling_factor == 1.0f);
}
