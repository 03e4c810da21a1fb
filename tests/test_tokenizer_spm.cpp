// SentencePiece tokenizers (src/tokenizer/spm.*, spm_proto.*) through the public facade, checked
// against reference outputs:
//  * tests/golden/tokenizer_goldens_{llama2,phi3}.json (HF tokenizers on the shared corpus, from
//    tools/gen_tokenizer_goldens.py) run with the GGUF vocabularies and llama2's tokenizer.model;
//  * tests/golden/tokenizer_goldens_gemma3_gguf.json (tools/gen_tokenizer_goldens_spm.py): the
//    Gemma 3 GGUF against HF's Gemma 3 tokenizer.json;
//  * tests/golden/tokenizer_goldens_spm_bytes.json: invalid UTF-8 input vs llama.cpp (GGUF) and
//    the sentencepiece library (tokenizer.model);
//  * the npm llama-tokenizer-js vectors (encode with BOS, decode options);
// plus ModelProto round trips and malformed tokenizer.model / GGUF vocabularies.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gguf_builder.hpp"
#include "io/gguf.hpp"
#include "llmkit/tokenizer.hpp"
#include "test_util.hpp"
#include "tokenizer/spm.hpp"
#include "tokenizer/spm_proto.hpp"
#include "tokenizer/tokenizer_factory.hpp"
#include "tokenizer/unicode.hpp"

using namespace llmkit;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string golden(const std::string& name) {
  return std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/" + name;
}

std::string hex_decode(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string streamed(const Tokenizer& tok, const std::vector<int32_t>& ids, DecodeOptions o = {}) {
  StreamingDetokenizer s(tok, o);
  std::string out;
  for (int32_t id : ids) {
    auto p = s.push(id);
    REQUIRE(p.is_ok());
    out += *p;
  }
  return out + s.flush();
}

// llama.cpp's ids for the corpus (tokenizer_goldens_spm_llamacpp.json), for GGUF vocabularies
// where llama.cpp and HF disagree on special-token text: PREFER_LLAMACPP says whose ids_special
// llmkit follows there (ids never differ between the two).
struct SecondReference {
  const nlohmann::json* cases = nullptr;
  bool prefer_llamacpp = false;
};

// Runs a goldens file (format of tools/gen_tokenizer_goldens*.py). Returns the failure count.
int run_goldens(const Tokenizer& tok, const std::string& path, SecondReference second = {}) {
  nlohmann::json j = nlohmann::json::parse(slurp(path));
  int disagreements = 0;
  int failures = 0, shown = 0;
  auto fail = [&](size_t i, const std::string& what, const std::string& text) {
    ++failures;
    if (shown++ < 5) MESSAGE(path << " case " << i << " (" << text.substr(0, 50) << "): " << what);
  };
  const auto& cases = j["cases"];
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string text = c["text"].get<std::string>();
    const auto want = c["ids"].get<std::vector<int32_t>>();
    auto want_sp = c["ids_special"].get<std::vector<int32_t>>();
    if (second.cases) {
      const auto& l = (*second.cases)[i];
      REQUIRE(l["text"].get<std::string>() == text);
      CHECK(l["ids"].get<std::vector<int32_t>>() == want);
      auto l_sp = l["ids_special"].get<std::vector<int32_t>>();
      if (l_sp != want_sp) {
        ++disagreements;
        if (second.prefer_llamacpp) want_sp = l_sp;
      }
    }
    auto ids = tok.encode(text);
    EncodeOptions ps;
    ps.parse_special = true;
    auto ids_sp = tok.encode(text, ps);
    if (!ids.is_ok() || *ids != want) fail(i, "ids differ", text);
    if (!ids_sp.is_ok() || *ids_sp != want_sp) fail(i, "ids_special differ", text);
    auto dec = tok.decode(want);
    if (!dec.is_ok() || *dec != c["decoded"].get<std::string>())
      fail(i, "decoded differs: '" + (dec.is_ok() ? *dec : "error") + "'", text);
    if (dec.is_ok() && streamed(tok, want) != *dec) fail(i, "streaming != decode", text);
    if (c["roundtrip"].get<bool>() && ids.is_ok()) {
      auto rt = tok.decode(*ids);
      if (!rt.is_ok() || *rt != text) fail(i, "no round trip", text);
    }
  }
  if (second.cases)
    MESSAGE(disagreements << " cases where llama.cpp and HF disagree on ids_special; following "
                          << (second.prefer_llamacpp ? "llama.cpp" : "HF"));
  MESSAGE(path.substr(path.rfind('/') + 1)
          << " with " << tok.source().substr(tok.source().rfind('/') + 1) << ": "
          << (cases.size() * 5 - size_t(failures)) << "/" << cases.size() * 5 << " checks");
  return failures;
}

std::shared_ptr<const Tokenizer> load(const std::string& rel) {
  auto t = Tokenizer::load(test::fixture(rel));
  REQUIRE_MESSAGE(t.is_ok(), t.status().to_string());
  return *t;
}

// A small but complete SPM vocabulary: <unk>, <s>, </s>, 256 byte tokens, then PIECES.
struct TinyVocab {
  std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
  std::vector<float> scores{0, 0, 0};
  std::vector<int32_t> types{2, 3, 3};
  TinyVocab() {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      tokens.push_back(buf);
      scores.push_back(0);
      types.push_back(6);
    }
    const char* pieces[] = {"\xE2\x96\x81",
                            "a",
                            "b",
                            "\xE2\x96\x81"
                            "a",
                            "ab",
                            "\xE2\x96\x81"
                            "ab"};
    float s = -1;
    for (const char* p : pieces) {
      tokens.push_back(p);
      scores.push_back(s--);
      types.push_back(1);
    }
  }
  test::Bytes gguf() const {
    test::GgufBuilder b;
    b.kv_str("general.architecture", "llama");
    b.kv_str("tokenizer.ggml.model", "llama");
    b.kv_arr_str("tokenizer.ggml.tokens", tokens);
    b.kv_arr_f32("tokenizer.ggml.scores", scores);
    b.kv_arr_i32("tokenizer.ggml.token_type", types);
    return b.build();
  }
};

Result<std::shared_ptr<const Tokenizer>> from_bytes(const test::Bytes& bytes) {
  auto g = io::GgufFile::parse(bytes.data(), bytes.size(), "tiny.gguf");
  if (!g.is_ok()) return g.status();
  return tok::tokenizer_from_gguf(**g);
}

// ---- the native GGUF encoder against the sentencepiece library ---------------------------------

uint64_t next_random(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size()))
    s.replace(i, from.size(), to);
  return s;
}

const std::string kSpace = "\xE2\x96\x81";

// Valid UTF-8 strings that stress a vocabulary's BPE: glued vocabulary pieces (as stored, and with
// U+2581 written as spaces), corpus snippets cut at random characters, random code points from
// many scripts (mostly not pieces: byte fallback / unknown runs), whitespace runs, U+2581 and
// U+FFFD, and mixtures of these.
std::vector<std::string> differential_inputs(const tok::SpmModel& m, size_t count, uint64_t seed) {
  static const std::vector<std::string> corpus = [] {
    const std::string all = slurp(golden("tokenizer_corpus.txt"));
    const std::string sep = "\n__llmkit_tokenizer_case__\n";
    std::vector<std::string> cases;
    for (size_t p = all.find(sep); p != std::string::npos;) {
      size_t next = all.find(sep, p + sep.size());
      if (next == std::string::npos) break;
      cases.push_back(all.substr(p + sep.size(), next - p - sep.size()));
      p = next;
    }
    return cases;
  }();
  static const uint32_t kRanges[][2] = {
      {0x20, 0x7E},        {0xA0, 0x24F},    {0x300, 0x36F},   {0x391, 0x3C9},   {0x400, 0x4FF},
      {0x5D0, 0x5EA},      {0x600, 0x6FF},   {0x900, 0x97F},   {0xE00, 0xE5B},   {0x3040, 0x30FF},
      {0x4E00, 0x9FFF},    {0xAC00, 0xD7A3}, {0xE000, 0xF8FF}, {0xFF01, 0xFF5E}, {0x1F300, 0x1FAFF},
      {0x10000, 0x10FFFF}, {0x2580, 0x2582}, {0xFFFD, 0xFFFD}, {0x09, 0x0D},     {0x00, 0x00}};
  uint64_t state = seed;
  auto rnd = [&](uint64_t n) { return n == 0 ? 0 : next_random(state) % n; };
  std::vector<int32_t> special;  // control, unknown, user-defined and unused pieces
  for (size_t id = 0; id < m.vocab_size(); ++id) {
    const tok::TokenAttr a = m.token_attr(int32_t(id));
    if (a != tok::TokenAttr::kNormal && a != tok::TokenAttr::kByte) special.push_back(int32_t(id));
  }
  auto piece = [&] {
    const bool sp = !special.empty() && rnd(4) == 0;
    std::string p(m.token_text(sp ? special[rnd(special.size())] : int32_t(rnd(m.vocab_size()))));
    if (tok::parse_byte_piece(p) >= 0) p = "\xC3\xA9";  // a byte token's text is not its byte
    return rnd(2) ? replace_all(p, kSpace, " ") : p;
  };
  auto code_points = [&](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      const auto& r = kRanges[rnd(std::size(kRanges))];
      llmkit::tok::utf8_append(r[0] + uint32_t(rnd(r[1] - r[0] + 1)), out);
    }
    return out;
  };
  auto snippet = [&] {
    const std::string& c = corpus[rnd(corpus.size())];
    size_t b = rnd(c.size() + 1), e = b + rnd(c.size() - b + 1);
    while (b > 0 && (uint8_t(c[b]) & 0xC0) == 0x80) --b;  // cut at character boundaries
    while (e < c.size() && (uint8_t(c[e]) & 0xC0) == 0x80) ++e;
    return c.substr(b, e - b);
  };
  static const char* const kSeparators[] = {"", "", " ", "  ", "\n", "\xE2\x96\x81", "\t", "-"};
  std::vector<std::string> inputs;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    const size_t parts = 1 + rnd(8);
    for (size_t k = 0; k < parts; ++k) {
      switch (i % 4 == 3 ? rnd(4) : i % 4) {
        case 0:
          s += piece();
          break;
        case 1:
          s += snippet();
          break;
        case 2:
          s += code_points(1 + rnd(6));
          break;
        default:
          s += std::string(1 + rnd(5), " \n\t"[rnd(3)]);
      }
      s += kSeparators[rnd(std::size(kSeparators))];
    }
    inputs.push_back(std::move(s));
  }
  return inputs;
}

// Encodes INPUTS with M (a GGUF vocabulary, our encoder) and with the sentencepiece library
// loaded from M.gguf_model_spec() (through SpmModel::from_model_proto, whose encode() is
// sentencepiece's Encode); sentencepiece gets each segment as encode() hands it to the BPE:
// spaces escaped, dummy prefix added (encode() of empty text is empty, prefix or not). Returns the
// number of inputs whose ids differ.
int differential(const tok::SpmModel& m, const std::vector<std::string>& inputs,
                 const std::string& label) {
  REQUIRE(m.from_gguf_vocab());
  auto ref = tok::SpmModel::from_model_proto(tok::serialize_spm_model_proto(m.gguf_model_spec()),
                                             label + " (sentencepiece)");
  REQUIRE_MESSAGE(ref.is_ok(), ref.status().to_string());
  int mismatches = 0;
  size_t tokens = 0;
  for (const std::string& s : inputs) {
    std::vector<int32_t> native, library;
    REQUIRE(m.encode(s, true, native).is_ok());
    const std::string escaped =
        (m.strips_leading_space() ? kSpace : "") + replace_all(s, " ", kSpace);
    auto st = s.empty() ? Status::ok() : (*ref)->encode(escaped, true, library);
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    tokens += native.size();
    if (native != library && mismatches++ < 5) {
      std::string n, l;
      for (int32_t id : native) n += " " + std::to_string(id);
      for (int32_t id : library) l += " " + std::to_string(id);
      MESSAGE(label << ": '" << s << "'\n  native:" << n << "\n  sentencepiece:" << l);
    }
  }
  MESSAGE(label << ": " << inputs.size() - size_t(mismatches) << "/" << inputs.size()
                << " inputs encode as sentencepiece does (" << tokens << " tokens)");
  return mismatches;
}

std::unique_ptr<tok::SpmModel> spm_from_gguf(const test::Bytes& bytes) {
  auto g = io::GgufFile::parse(bytes.data(), bytes.size(), "synthetic.gguf");
  REQUIRE(g.is_ok());
  auto m = tok::SpmModel::from_gguf(**g);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  return std::move(*m);
}

std::unique_ptr<tok::SpmModel> spm_from_gguf_file(const std::string& path) {
  auto g = io::GgufFile::open(path);
  REQUIRE_MESSAGE(g.is_ok(), g.status().to_string());
  auto m = tok::SpmModel::from_gguf(**g);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  return std::move(*m);
}

// A vocabulary over the alphabet a, b, c, ▁ (every string of 1..3 symbols plus longer random
// ones) with few distinct scores (ties everywhere), unused pieces that must be split back,
// user-defined pieces (matched longest-first and never merged, one spelled with a space so it can
// never match), control and extra unknown-typed pieces (never merged into), optionally byte
// tokens, and the dummy prefix on or off.
test::Bytes synthetic_vocab(uint64_t seed, bool bytes, bool space_prefix) {
  uint64_t state = seed;
  auto rnd = [&](uint64_t n) { return next_random(state) % n; };
  std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
  std::vector<float> scores{0, 0, 0};
  std::vector<int32_t> types{2, 3, 3};
  if (bytes)
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      tokens.push_back(buf);
      scores.push_back(0);
      types.push_back(6);
    }
  const std::string alphabet[] = {"a", "b", "c", kSpace};
  std::vector<std::string> pieces;
  for (size_t len = 1; len <= 3; ++len) {
    size_t total = 1;
    for (size_t k = 0; k < len; ++k) total *= 4;
    for (size_t x = 0; x < total; ++x) {
      std::string p;
      for (size_t k = 0, y = x; k < len; ++k, y /= 4) p += alphabet[y % 4];
      pieces.push_back(p);
    }
  }
  for (int i = 0; i < 40; ++i) {
    std::string p;
    for (size_t k = 0, len = 4 + rnd(4); k < len; ++k) p += alphabet[rnd(4)];
    if (std::find(pieces.begin(), pieces.end(), p) == pieces.end()) pieces.push_back(p);
  }
  pieces.push_back("a b");
  for (const std::string& p : pieces) {
    tokens.push_back(p);
    scores.push_back(-float(1 + rnd(4)));
    const bool single = p.size() == 1 || p == kSpace;
    const uint64_t r = single ? 100 : rnd(100);
    types.push_back(p == "a b" ? 4 : r < 15 ? 5 : r < 23 ? 4 : r < 28 ? 3 : r < 31 ? 2 : 1);
  }
  test::GgufBuilder b;
  b.kv_str("general.architecture", "llama");
  b.kv_str("tokenizer.ggml.model", "llama");
  b.kv_arr_str("tokenizer.ggml.tokens", tokens);
  b.kv_arr_f32("tokenizer.ggml.scores", scores);
  b.kv_arr_i32("tokenizer.ggml.token_type", types);
  b.kv_bool("tokenizer.ggml.add_space_prefix", space_prefix);
  return b.build();
}

// Random strings over synthetic_vocab's alphabet plus spaces, newlines and characters that are
// not pieces; every other one repeats a few chunks in different contexts, so that one piece is
// reached through different merge orders within an input.
std::vector<std::string> alphabet_inputs(size_t count, uint64_t seed) {
  static const char* const kChars[] = {"a", "b", "c", " ", "\xE2\x96\x81", "d", "\xC3\xA9", "\n"};
  static const int kWeights[] = {8, 8, 8, 4, 3, 1, 1, 1};
  uint64_t state = seed;
  auto rnd = [&](uint64_t n) { return next_random(state) % n; };
  auto chars = [&](size_t len) {
    std::string s;
    for (size_t k = 0; k < len; ++k) {
      int w = int(rnd(34));
      size_t c = 0;
      while (w >= kWeights[c]) w -= kWeights[c++];
      s += kChars[c];
    }
    return s;
  };
  std::vector<std::string> inputs;
  for (size_t i = 0; i < count; ++i) {
    if (i % 2 == 0) {
      inputs.push_back(chars(rnd(25)));
      continue;
    }
    const std::string chunks[] = {chars(2 + rnd(4)), chars(2 + rnd(4))};
    std::string s;
    for (size_t k = 0, n = 2 + rnd(5); k < n; ++k) s += chars(rnd(3)) + chunks[rnd(2)];
    inputs.push_back(std::move(s));
  }
  return inputs;
}

}  // namespace

TEST_SUITE("tokenizer_spm") {
  // HF's Llama 2 tokenizer.json marks <s>, </s>, <unk> as `normalized` added tokens, which makes HF
  // drop the spaces around them when special text is parsed ("<s> hello </s>" -> [1, 22172, 2]);
  // llama.cpp and sentencepiece-style splitting keep them ([1, 29871, 22172, 29871, 2]). For GGUF
  // vocabularies llmkit follows llama.cpp there; everything else must match both.
  TEST_CASE("GGUF llama-spm and llama2 tokenizer.model reproduce the Llama 2 goldens") {
    if (!test::have_fixtures()) return;
    auto lc = nlohmann::json::parse(slurp(golden("tokenizer_goldens_spm_llamacpp.json")));
    SecondReference second{&lc["vocabs"]["llama_spm"]["cases"], true};
    CHECK(run_goldens(*load("vocab/ggml-vocab-llama-spm.gguf"),
                      golden("tokenizer_goldens_llama2.json"), second) == 0);
    CHECK(run_goldens(*load("tokenizers/llama2-tokenizer.model"),
                      golden("tokenizer_goldens_llama2.json"), second) == 0);
  }

  // llama.cpp gives every Phi-3 special token rstrip by model name (as Phi-3-mini's own
  // tokenizer.json does); the ortx-phi-3 tokenizer.json that names this vocabulary's vectors does
  // not, and llmkit follows the file (GGUF carries no strip flags).
  TEST_CASE("GGUF phi-3 vocabulary reproduces HF's Phi-3 goldens") {
    if (!test::have_fixtures()) return;
    auto lc = nlohmann::json::parse(slurp(golden("tokenizer_goldens_spm_llamacpp.json")));
    SecondReference second{&lc["vocabs"]["phi3"]["cases"], false};
    CHECK(run_goldens(*load("vocab/ggml-vocab-phi-3.gguf"), golden("tokenizer_goldens_phi3.json"),
                      second) == 0);
  }

  TEST_CASE("invalid UTF-8 input is handled as llama.cpp (GGUF) and sentencepiece (.model) do") {
    if (!test::have_fixtures()) return;
    auto j = nlohmann::json::parse(slurp(golden("tokenizer_goldens_spm_bytes.json")));
    auto gguf = load("vocab/ggml-vocab-llama-spm.gguf");
    auto model = load("tokenizers/llama2-tokenizer.model");
    for (const auto& c : j["cases"]) {
      const std::string text = hex_decode(c["hex"].get<std::string>());
      CAPTURE(c["hex"].get<std::string>());
      auto a = gguf->encode(text);
      auto b = model->encode(text);
      REQUIRE(a.is_ok());
      REQUIRE(b.is_ok());
      CHECK(*a == c["gguf_llama_spm"].get<std::vector<int32_t>>());
      CHECK(*b == c["model_llama2"].get<std::vector<int32_t>>());
      // With keep_invalid_utf8 the byte tokens decode to llama.cpp's raw bytes.
      DecodeOptions raw;
      raw.keep_invalid_utf8 = true;
      auto back = gguf->decode(*a, raw);
      REQUIRE(back.is_ok());
      CHECK(*back == hex_decode(c["gguf_llama_spm_decoded_hex"].get<std::string>()));
      // The default output is valid UTF-8 and streaming agrees with it.
      auto clean = gguf->decode(*a);
      REQUIRE(clean.is_ok());
      CHECK(streamed(*gguf, *a) == *clean);
      CHECK(streamed(*gguf, *a, raw) == *back);
    }
  }

  TEST_CASE("npm llama-tokenizer-js vectors (Llama 2 with BOS and decode options)") {
    if (!test::have_fixtures()) return;
    auto j = nlohmann::json::parse(
        slurp(test::fixture("tokenizers/vectors/llama-tokenizer-js-vectors.json")));
    for (const char* rel :
         {"tokenizers/llama2-tokenizer.model", "vocab/ggml-vocab-llama-spm.gguf"}) {
      auto tok = load(rel);
      int enc = 0, dec = 0;
      for (const auto& c : j) {
        if (c["op"] == "encode") {
          REQUIRE(c["add_preceding_space"].get<bool>());  // the only mode SentencePiece has
          EncodeOptions o;
          o.add_bos = c["add_bos"].get<bool>();
          auto ids = tok->encode(c["input"].get<std::string>(), o);
          REQUIRE(ids.is_ok());
          CHECK(*ids == c["ids"].get<std::vector<int32_t>>());
          ++enc;
        } else {
          // add_bos_token: the ids start with a BOS the decoder drops; add_preceding_space: the
          // dummy-prefix space is removed.
          DecodeOptions o;
          o.skip_special = c["add_bos_token"].get<bool>();
          o.strip_leading_space = c["add_preceding_space"].get<bool>();
          const auto ids = c["ids"].get<std::vector<int32_t>>();
          auto text = tok->decode(ids, o);
          REQUIRE(text.is_ok());
          CHECK(*text == c["output"].get<std::string>());
          CHECK(streamed(*tok, ids, o) == *text);
          ++dec;
        }
      }
      MESSAGE(rel << ": " << enc << " encode and " << dec << " decode vectors");
      CHECK(enc + dec == int(j.size()));
    }
  }

  TEST_CASE("tokenizer.model metadata: Llama 2") {
    if (!test::have_fixtures()) return;
    auto tok = load("tokenizers/llama2-tokenizer.model");
    CHECK(tok->kind() == "spm");
    CHECK(tok->vocab_size() == 32000);
    CHECK(tok->bos_id() == 1);
    CHECK(tok->eos_id() == 2);
    CHECK(tok->unk_id() == 0);
    CHECK(tok->pad_id() == -1);
    CHECK(tok->add_bos_by_default());
    CHECK_FALSE(tok->add_eos_by_default());
    CHECK(tok->is_byte(3 + 0x41));
    CHECK(tok->token_to_piece(3 + 0x41) == "A");
    CHECK(tok->token_text(15043) == "\xE2\x96\x81Hello");
    CHECK(tok->token_to_piece(15043) == " Hello");
    CHECK(tok->token_id("\xE2\x96\x81Hello") == 15043);
    CHECK(tok->token_id("no such piece") == -1);
    CHECK(tok->is_control(1));
    CHECK(tok->is_special(0));
    CHECK_FALSE(tok->is_special(15043));
    CHECK(tok->is_end_of_generation(2));
  }

  TEST_CASE("ModelProto: parse(serialize(x)) == x, and the Llama 2 model parses") {
    tok::SpmModelSpec s;
    s.model_type = tok::SpmModelType::kBpe;
    s.byte_fallback = true;
    s.unk_id = 0;
    s.bos_id = -1;
    s.eos_id = 2;
    s.pad_id = -1;
    s.add_dummy_prefix = false;
    s.remove_extra_whitespaces = false;
    s.pieces = {{"<unk>", 0, tok::SpmPieceType::kUnknown},
                {"<0x41>", 0, tok::SpmPieceType::kByte},
                {"</s>", 0, tok::SpmPieceType::kControl},
                {"\xE2\x96\x81x", -1.5f, tok::SpmPieceType::kNormal},
                {"  ", -1000, tok::SpmPieceType::kUserDefined}};
    auto p = tok::parse_spm_model_proto(tok::serialize_spm_model_proto(s), "mem");
    REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
    CHECK(p->model_type == s.model_type);
    CHECK(p->byte_fallback);
    CHECK(p->bos_id == -1);
    CHECK(p->eos_id == 2);
    CHECK_FALSE(p->add_dummy_prefix);
    CHECK_FALSE(p->remove_extra_whitespaces);
    REQUIRE(p->pieces.size() == s.pieces.size());
    for (size_t i = 0; i < s.pieces.size(); ++i) {
      CHECK(p->pieces[i].piece == s.pieces[i].piece);
      CHECK(p->pieces[i].score == s.pieces[i].score);
      CHECK(p->pieces[i].type == s.pieces[i].type);
    }
    if (!test::have_fixtures()) return;
    auto l = tok::parse_spm_model_proto(slurp(test::fixture("tokenizers/llama2-tokenizer.model")),
                                        "llama2");
    REQUIRE(l.is_ok());
    CHECK(l->pieces.size() == 32000);
    CHECK(l->model_type == tok::SpmModelType::kBpe);
    CHECK(l->byte_fallback);
    CHECK(l->add_dummy_prefix);
    CHECK_FALSE(l->remove_extra_whitespaces);
    CHECK(l->pieces[3].type == tok::SpmPieceType::kByte);
    CHECK(l->pieces[1].type == tok::SpmPieceType::kControl);
  }

  TEST_CASE("malformed tokenizer.model files give clear errors") {
    if (!test::have_fixtures()) return;
    const std::string good = slurp(test::fixture("tokenizers/llama2-tokenizer.model"));
    auto err = [](std::string_view bytes) {
      auto m = tok::SpmModel::from_model_proto(bytes, "bad.model");
      REQUIRE_FALSE(m.is_ok());
      return m.status();
    };
    CHECK(err("").code() == StatusCode::kCorruptFile);
    // Truncations at many points: never a crash, always an error or (at a field boundary) a model
    // that is simply smaller.
    for (size_t cut : {size_t(1), size_t(7), size_t(100), good.size() / 2, good.size() - 3}) {
      auto m = tok::SpmModel::from_model_proto(std::string_view(good).substr(0, cut), "cut.model");
      if (!m.is_ok()) CHECK(m.status().code() == StatusCode::kCorruptFile);
    }
    Status s = err("\x0a\xff\xff\xff\xff\x0f");  // field 1, length ~4 GiB
    CHECK(s.message().find("runs past the end") != std::string::npos);
    CHECK(err("\x0b").message().find("wire type") != std::string::npos);  // field 1, group start
    CHECK(err("hello, I am text").code() == StatusCode::kCorruptFile);

    // Semantic errors, built with the writer.
    auto spec = tok::parse_spm_model_proto(good, "llama2");
    REQUIRE(spec.is_ok());
    auto with = [&](auto mutate) {
      tok::SpmModelSpec s2 = *spec;
      mutate(s2);
      return err(tok::serialize_spm_model_proto(s2)).message();
    };
    CHECK(with([](tok::SpmModelSpec& x) {
            x.pieces[500].piece = x.pieces[400].piece;
          }).find("duplicates token 400") != std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) {
            x.pieces[500].piece = "bad\xff";
          }).find("not valid UTF-8") != std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) { x.pieces[500].piece.clear(); }).find("is empty") !=
          std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) { x.pieces[10].piece = "<0xZZ>"; }).find("<0xNN>") !=
          std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) {
            x.pieces[600].type = tok::SpmPieceType::kUnknown;
          }).find("second unknown") != std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) {
            x.pieces[0].type = tok::SpmPieceType::kNormal;
          }).find("no unknown token") != std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) { x.byte_fallback = false; }).find("byte_fallback") !=
          std::string::npos);
    CHECK(with([](tok::SpmModelSpec& x) {
            x.pieces[700].score = std::numeric_limits<float>::quiet_NaN();
          }).find("non-finite") != std::string::npos);
  }

  // Deterministic mutation run over a small serialized model: flipped bytes and truncations must
  // give an error or a working tokenizer, never a crash (the ASan build makes this meaningful).
  TEST_CASE("mutated tokenizer.model bytes never crash") {
    TinyVocab v;
    tok::SpmModelSpec spec;
    spec.model_type = tok::SpmModelType::kBpe;
    spec.byte_fallback = true;
    for (size_t i = 0; i < v.tokens.size(); ++i)
      spec.pieces.push_back({v.tokens[i], v.scores[i], tok::SpmPieceType(v.types[i])});
    const std::string good = tok::serialize_spm_model_proto(spec);
    REQUIRE(tok::SpmModel::from_model_proto(good, "tiny.model").is_ok());
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      return rng;
    };
    int ok = 0, rejected = 0;
    for (int iter = 0; iter < 400; ++iter) {
      std::string m = good;
      const int flips = 1 + int(next() % 4);
      for (int k = 0; k < flips; ++k) m[next() % m.size()] = char(next());
      if (iter % 5 == 0) m.resize(next() % m.size());
      auto r = tok::SpmModel::from_model_proto(m, "mutated.model");
      if (!r.is_ok()) {
        ++rejected;
        CHECK(!r.status().message().empty());
        continue;
      }
      ++ok;
      std::vector<int32_t> ids;
      CHECK((*r)->encode("ab a\xFF b", true, ids).is_ok());
      for (int32_t id : ids) CHECK((id >= 0 && size_t(id) < (*r)->vocab_size()));
    }
    MESSAGE(ok << " mutated models loaded, " << rejected << " rejected");
  }

  TEST_CASE(
      "GGUF SentencePiece vocabulary: a tiny valid one encodes, malformed ones give clear errors") {
    TinyVocab v;
    auto ok = from_bytes(v.gguf());
    REQUIRE_MESSAGE(ok.is_ok(), ok.status().to_string());
    auto ids = (*ok)->encode("ab ab");
    REQUIRE(ids.is_ok());
    // "▁ab▁ab": merges ▁a (score -4) ... the best pieces are ▁ab twice.
    CHECK(*ids == std::vector<int32_t>{259 + 5, 259 + 5});
    CHECK((*ok)->encode("c")->size() == 2);  // ▁ + byte fallback for 'c'
    CHECK((*ok)->bos_id() == 1);             // llama.cpp defaults when the keys are absent
    CHECK((*ok)->eos_id() == 2);
    CHECK((*ok)->add_bos_by_default());

    auto err = [](TinyVocab t) {
      auto r = from_bytes(t.gguf());
      REQUIRE_FALSE(r.is_ok());
      return r.status().message();
    };
    {
      TinyVocab t;
      t.tokens[263] = t.tokens[262];
      CHECK(err(t).find("duplicates token 262") != std::string::npos);
    }
    {
      TinyVocab t;
      t.tokens[262] = "\xC3\x28";
      CHECK(err(t).find("not valid UTF-8") != std::string::npos);
    }
    {
      TinyVocab t;
      t.scores.pop_back();
      CHECK(err(t).find("tokenizer.ggml.scores") != std::string::npos);
    }
    {
      TinyVocab t;
      t.types.push_back(1);
      CHECK(err(t).find("tokenizer.ggml.token_type") != std::string::npos);
    }
    {
      TinyVocab t;
      t.types[261] = 9;
      CHECK(err(t).find("is not 0..6") != std::string::npos);
    }
    {
      TinyVocab t;
      t.scores[262] = std::numeric_limits<float>::infinity();
      CHECK(err(t).find("not finite") != std::string::npos);
    }
    {
      TinyVocab t;
      t.tokens[5] = "<0x1>";
      CHECK(err(t).find("<0xNN>") != std::string::npos);
    }
    {
      test::GgufBuilder b;  // absurd size: a token array count far beyond the bytes present
      b.kv_str("tokenizer.ggml.model", "llama");
      test::Bytes arr;
      test::put_le<uint32_t>(arr, test::kStr);
      test::put_le<uint64_t>(arr, uint64_t(1) << 40);
      b.kv_raw("tokenizer.ggml.tokens", test::kArr, arr);
      auto r = from_bytes(b.build());
      CHECK_FALSE(r.is_ok());
    }
    {
      test::GgufBuilder b;
      b.kv_str("tokenizer.ggml.model", "t5");
      auto r = from_bytes(b.build());
      REQUIRE_FALSE(r.is_ok());
      CHECK(r.status().code() == StatusCode::kUnsupported);
    }
    {
      test::GgufBuilder b;
      b.kv_str("general.architecture", "llama");
      auto r = from_bytes(b.build());
      REQUIRE_FALSE(r.is_ok());
      CHECK(r.status().code() == StatusCode::kNotFound);
    }
  }

  // The GGUF encoder is our own BPE; sentencepiece's BPE on the equivalent ModelProto is the
  // reference it must equal (what the GGUF path used before, at ~8x the memory).
  TEST_CASE("GGUF SentencePiece encoder == sentencepiece on the equivalent ModelProto") {
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      const bool bytes = seed % 2 == 0, prefix = seed % 3 != 0;
      auto m = spm_from_gguf(synthetic_vocab(seed * 0x9E3779B97F4A7C15ull, bytes, prefix));
      CHECK(differential(*m, alphabet_inputs(500, seed),
                         "synthetic #" + std::to_string(seed) + (bytes ? " bytes" : " no bytes") +
                             (prefix ? " prefix" : "")) == 0);
    }
    if (!test::have_fixtures()) return;
    const char* const vocabs[] = {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-phi-3.gguf",
                                  "vocab/more/ggml-vocab-baichuan.gguf", "models/stories260K.gguf",
                                  "models/TinyStories-656K-Q8_0.gguf"};
    uint64_t seed = 0x1234;
    for (const char* rel : vocabs) {
      auto m = spm_from_gguf_file(test::fixture(rel));
      CHECK(differential(*m, differential_inputs(*m, 300, ++seed), rel) == 0);
    }
  }

  // Where sentencepiece has no answer: a lone character spelled like a control piece ends the
  // merging unmerged, and sentencepiece fails the call ("all normalized characters are not
  // consumed"). The native encoder treats it as any unknown symbol: bytes, or the unknown id.
  TEST_CASE("GGUF SentencePiece: a lone character spelled like a control piece is unknown") {
    for (bool bytes : {true, false}) {
      TinyVocab v;
      if (!bytes) {
        v.tokens.erase(v.tokens.begin() + 3, v.tokens.begin() + 259);
        v.scores.erase(v.scores.begin() + 3, v.scores.begin() + 259);
        v.types.erase(v.types.begin() + 3, v.types.begin() + 259);
      }
      v.tokens.push_back("x");
      v.scores.push_back(0);
      v.types.push_back(3);
      auto m = spm_from_gguf(v.gguf());
      std::vector<int32_t> ids;
      REQUIRE(m->encode("ax", true, ids).is_ok());
      const int32_t a = m->find_token(
          "\xE2\x96\x81"
          "a");
      if (bytes)
        CHECK(ids == std::vector<int32_t>{a, 3 + 'x'});
      else
        CHECK(ids == std::vector<int32_t>{a, 0});
    }
  }

  TEST_CASE("GGUF SentencePiece: byte tokens must be all 256, spelled <0xNN>") {
    auto err = [](TinyVocab t) {
      auto r = from_bytes(t.gguf());
      REQUIRE_FALSE(r.is_ok());
      return r.status().message();
    };
    TinyVocab partial;
    partial.types[3 + 0x41] = 1;  // <0x41> a normal piece: 255 byte tokens
    CHECK(err(partial).find("byte fallback needs all 256") != std::string::npos);
    TinyVocab lower;
    lower.tokens[3 + 0x0A] = "<0x0a>";  // sentencepiece accepts upper-case hex only
    CHECK(err(lower).find("<0xNN>") != std::string::npos);
  }
}  // TEST_SUITE

TEST_SUITE("bigmodel") {
  TEST_CASE("Gemma 3 GGUF tokenizes like HF's Gemma 3 tokenizer.json (corpus goldens)") {
    const std::string path = test::cached_model("gemma-3-270m-q4_k_m.gguf");
    if (!test::exists(path)) {
      MESSAGE("Gemma 3 GGUF absent (" << path << "), skipping");
      return;
    }
    auto tok = Tokenizer::load(path);
    REQUIRE_MESSAGE(tok.is_ok(), tok.status().to_string());
    CHECK((*tok)->bos_id() == 2);
    CHECK((*tok)->eos_id() == 1);
    CHECK((*tok)->add_bos_by_default());
    CHECK((*tok)->is_end_of_generation((*tok)->token_id("<end_of_turn>")));
    CHECK(run_goldens(**tok, golden("tokenizer_goldens_gemma3_gguf.json")) == 0);

    {
      auto m = spm_from_gguf_file(path);
      CHECK(differential(*m, differential_inputs(*m, 400, 0xC0FFEE), "gemma-3-270m") == 0);
    }

    // Invalid UTF-8 as llama.cpp handles it on this vocabulary (no dummy prefix).
    auto j = nlohmann::json::parse(slurp(golden("tokenizer_goldens_spm_bytes.json")));
    for (const auto& c : j["cases"]) {
      if (!c.contains("gguf_gemma3")) break;
      auto ids = (*tok)->encode(hex_decode(c["hex"].get<std::string>()));
      REQUIRE(ids.is_ok());
      CHECK(*ids == c["gguf_gemma3"].get<std::vector<int32_t>>());
    }
  }

}  // TEST_SUITE

namespace {

// A tiny BERT-style (WordPiece) GGUF vocabulary: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, then PIECES.
test::Bytes wpm_gguf(const std::vector<std::string>& pieces, bool dup = false) {
  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
  std::vector<int32_t> types = {3, 3, 3, 3};
  for (const auto& p : pieces) {
    tokens.push_back(p);
    types.push_back(1);
  }
  if (dup) {
    tokens.push_back(pieces.front());
    types.push_back(1);
  }
  test::GgufBuilder b;
  b.kv_str("general.architecture", "bert");
  b.kv_str("tokenizer.ggml.model", "bert");
  b.kv_arr_str("tokenizer.ggml.tokens", tokens);
  b.kv_arr_i32("tokenizer.ggml.token_type", types);
  b.kv_u32("tokenizer.ggml.unknown_token_id", 1);
  b.kv_u32("tokenizer.ggml.cls_token_id", 2);
  b.kv_u32("tokenizer.ggml.seperator_token_id", 3);
  b.kv_u32("tokenizer.ggml.padding_token_id", 0);
  return b.build();
}

}  // namespace

TEST_SUITE("tokenizer_wpm") {
  TEST_CASE("WordPiece: lowercase, accents, punctuation and CJK split, longest pieces, [UNK]") {
    // ids: 4 ▁hello, 5 ▁hell, 6 o, 7 ▁world, 8 ▁!, 9 ▁cafe, 10 ▁中, 11 ▁文, 12 ▁a, 13 b
    auto t = from_bytes(wpm_gguf({"\xE2\x96\x81hello", "\xE2\x96\x81hell", "o", "\xE2\x96\x81world",
                                  "\xE2\x96\x81!",
                                  "\xE2\x96\x81"
                                  "cafe",
                                  "\xE2\x96\x81\xE4\xB8\xAD", "\xE2\x96\x81\xE6\x96\x87",
                                  "\xE2\x96\x81"
                                  "a",
                                  "b"}));
    REQUIRE_MESSAGE(t.is_ok(), t.status().to_string());
    const Tokenizer& tok = **t;
    auto enc = [&](std::string_view s, bool special = false) {
      EncodeOptions o;
      o.add_special = special;
      auto r = tok.encode(s, o);
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      return *r;
    };
    CHECK(enc("Hello World!") == std::vector<int32_t>{4, 7, 8});
    CHECK(enc("hello") == std::vector<int32_t>{4});        // longest piece, not ▁hell + o
    CHECK(enc("Caf\xC3\xA9") == std::vector<int32_t>{9});  // é -> e + U+0301, mark dropped
    CHECK(enc("\xE4\xB8\xAD\xE6\x96\x87") ==
          std::vector<int32_t>{10, 11});                    // each ideograph a word
    CHECK(enc("abb") == std::vector<int32_t>{12, 13, 13});  // continuation pieces have no ▁
    CHECK(enc("abc") == std::vector<int32_t>{1});           // an unmatched position: [UNK]
    CHECK(enc(" \t\n").empty());
    CHECK(enc("hello", true) == std::vector<int32_t>{2, 4, 3});  // [CLS] ... [SEP]
    const std::vector<int32_t> ids = {4, 7, 8};
    auto d = tok.decode(ids);
    REQUIRE(d.is_ok());
    CHECK(*d == "hello world !");  // pieces joined as stored; no clean-up before punctuation
  }

  TEST_CASE("WordPiece: malformed vocabularies are clear errors") {
    auto dup = from_bytes(wpm_gguf({"\xE2\x96\x81"
                                    "a",
                                    "b"},
                                   /*dup=*/true));
    REQUIRE_FALSE(dup.is_ok());
    CHECK(dup.status().code() == StatusCode::kCorruptFile);
    CHECK(dup.status().message().find("duplicates token") != std::string::npos);
    test::GgufBuilder b;
    b.kv_str("tokenizer.ggml.model", "bert");
    auto none = from_bytes(b.build());
    REQUIRE_FALSE(none.is_ok());
    CHECK(none.status().code() == StatusCode::kCorruptFile);
    CHECK(none.status().message().find("tokenizer.ggml.tokens") != std::string::npos);
  }
}
