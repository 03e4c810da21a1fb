// safetensors reader against the `safetensors` Python package's readings of the fixture checkpoints
// (tests/golden/loaders.json): names, dtypes, shapes, byte ranges, data (sha256 of every tensor)
// and
// __metadata__; plus the read-into-memory fallback and the dtype table.
#include <doctest/doctest.h>

#include <cstring>

#include "gguf_builder.hpp"
#include "io/safetensors.hpp"
#include "loader_test_util.hpp"

using llmkit::StatusCode;
using namespace llmkit::io;
using namespace llmkit::test;
using nlohmann::json;

TEST_CASE("safetensors: fixture checkpoints match the safetensors Python package's reading") {
  if (!have_fixtures()) {
    MESSAGE("fixtures absent; skipping");
    return;
  }
  for (const auto& g : loader_goldens()["safetensors"]) {
    const std::string rel = g["file"].get<std::string>();
    SUBCASE(rel.c_str()) {
      const std::string p = fixture(rel);
      auto r = SafetensorsFile::open(p);
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      const SafetensorsFile& f = **r;
      CHECK(f.path() == p);
      REQUIRE(f.mapping() != nullptr);
      CHECK(f.mapping()->size() == g["size"].get<uint64_t>());
      REQUIRE(f.tensors().size() == g["tensors"].size());
      uint64_t n_params = 0;
      for (const auto& gt : g["tensors"]) {
        const std::string name = gt["name"].get<std::string>();
        INFO(name);
        const SafetensorsTensor* t = f.find(name);
        REQUIRE(t != nullptr);
        CHECK(t->dtype == gt["dtype"].get<std::string>());
        CHECK(type_name(static_cast<uint32_t>(t->type)) == gt["dtype"].get<std::string>());
        CHECK(t->shape == gt["shape"].get<std::vector<uint64_t>>());
        CHECK(t->n_elements == gt["n_elements"].get<uint64_t>());
        CHECK(t->end - t->begin == gt["n_bytes"].get<uint64_t>());
        CHECK(t->data == f.mapping()->data() + t->file_offset);
        CHECK(sha256_hex(t->data, t->end - t->begin) == gt["sha256"].get<std::string>());
        n_params += t->n_elements;
      }
      CHECK(n_params == g["n_params"].get<uint64_t>());
      CHECK(f.metadata() == g["metadata"].get<std::map<std::string, std::string>>());
    }
  }
}

TEST_CASE("safetensors: TinyStories-656K records the tied embedding only as lm_head.weight") {
  const std::string p = fixture("safetensors/TinyStories-656K/model.safetensors");
  if (!exists(p)) {
    MESSAGE(p << " absent; skipping");
    return;
  }
  auto r = SafetensorsFile::open(p);
  REQUIRE(r.is_ok());
  CHECK((*r)->find("lm_head.weight") != nullptr);
  CHECK((*r)->find("model.embed_tokens.weight") == nullptr);
  CHECK((*r)->metadata().at("model.embed_tokens.weight") == "lm_head.weight");
  CHECK((*r)->find("lm_head.weight")->shape == std::vector<uint64_t>{2048, 128});
}

TEST_CASE("safetensors: read-into-memory fallback gives identical bytes") {
  const std::string p = fixture("safetensors/stories260K-hf-derived/model.safetensors");
  if (!exists(p)) {
    MESSAGE(p << " absent; skipping");
    return;
  }
  MapOptions heap;
  heap.use_mmap = false;
  auto a = SafetensorsFile::open(p);
  auto b = SafetensorsFile::open(p, heap);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK((*a)->mapping()->is_mapped());
  CHECK_FALSE((*b)->mapping()->is_mapped());
  REQUIRE((*a)->tensors().size() == (*b)->tensors().size());
  for (size_t i = 0; i < (*a)->tensors().size(); ++i) {
    const auto& ta = (*a)->tensors()[i];
    const auto& tb = (*b)->tensors()[i];
    CHECK(ta.name == tb.name);
    CHECK(ta.file_offset == tb.file_offset);
    CHECK(std::memcmp(ta.data, tb.data, ta.end - ta.begin) == 0);
  }
  // Views stay valid as long as someone holds the mapping, even after the file object dies.
  std::unique_ptr<SafetensorsFile> owned = std::move(b).value();
  auto keep = owned->mapping();
  const uint8_t* data = owned->tensors()[0].data;
  uint64_t n = owned->tensors()[0].end - owned->tensors()[0].begin;
  std::string before = sha256_hex(data, n);
  owned.reset();
  CHECK(sha256_hex(data, n) == before);
}

TEST_CASE("safetensors: dtype table") {
  struct Row {
    const char* dtype;
    TensorType type;
    uint32_t bytes;
  };
  for (Row r : {Row{"F64", TensorType::F64, 8}, Row{"F32", TensorType::F32, 4},
                Row{"F16", TensorType::F16, 2}, Row{"BF16", TensorType::BF16, 2},
                Row{"I64", TensorType::I64, 8}, Row{"I32", TensorType::I32, 4},
                Row{"I16", TensorType::I16, 2}, Row{"I8", TensorType::I8, 1},
                Row{"U8", TensorType::U8, 1}, Row{"BOOL", TensorType::BOOL, 1}}) {
    INFO(r.dtype);
    auto t = safetensors_dtype(r.dtype, "x");
    REQUIRE(t.is_ok());
    CHECK(*t == r.type);
    CHECK(type_traits(*t)->type_size == r.bytes);
    CHECK(type_traits(*t)->block_size == 1);
  }
  for (const char* f8 : {"F8_E4M3", "F8_E5M2", "F8_E8M0"}) {
    auto t = safetensors_dtype(f8, "m.safetensors: tensor 'w'");
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.status().code() == StatusCode::kUnsupported);
    CHECK(t.status().message().find("m.safetensors: tensor 'w'") != std::string::npos);
    CHECK(t.status().message().find(f8) != std::string::npos);
    CHECK(t.status().message().find("8-bit float") != std::string::npos);
  }
  for (const char* bad : {"", "f32", "U16", "U32", "U64", "C64", "Q4_0", "F4"}) {
    auto t = safetensors_dtype(bad, "w");
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.status().code() == StatusCode::kUnsupported);
  }
}

TEST_CASE("safetensors: edge cases that must parse") {
  // Scalars (shape []), empty tensors (zero bytes, may share an offset), header padding with
  // spaces, an empty header object, and an unused gap in the buffer.
  Bytes buf;
  put_le<float>(buf, 3.0f);
  put_le<float>(buf, 1.0f);
  put_le<float>(buf, 2.0f);
  const std::string header = R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                             R"("e1":{"dtype":"F32","shape":[0,7],"data_offsets":[4,4]},)"
                             R"("e2":{"dtype":"BF16","shape":[3,0],"data_offsets":[4,4]},)"
                             R"("v":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}      )";
  Bytes file = make_safetensors(header, buf);
  auto r = SafetensorsFile::parse(file.data(), file.size(), "edge.safetensors");
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK((*r)->tensors().size() == 4);
  const SafetensorsTensor* s = (*r)->find("s");
  REQUIRE(s != nullptr);
  CHECK(s->shape.empty());
  CHECK(s->n_elements == 1);
  float v = 0;
  std::memcpy(&v, s->data, 4);
  CHECK(v == 3.0f);
  CHECK((*r)->find("e1")->n_elements == 0);
  std::memcpy(&v, (*r)->find("v")->data, 4);
  CHECK(v == 2.0f);

  // Brackets and escaped quotes inside strings do not count as nesting.
  const std::string meta =
      R"({"__metadata__":{"note":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \" {{{{{{{{{{{{{{{{{{{{{{"},)"
      R"("v":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  Bytes mf = make_safetensors(meta, buf);
  auto m = SafetensorsFile::parse(mf.data(), mf.size(), "meta.safetensors");
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  CHECK((*m)->metadata().at("note") == std::string(30, '[') + " \" " + std::string(22, '{'));

  Bytes empty = make_safetensors("{}", {});
  auto e = SafetensorsFile::parse(empty.data(), empty.size(), "empty.safetensors");
  REQUIRE(e.is_ok());
  CHECK((*e)->tensors().empty());
}
