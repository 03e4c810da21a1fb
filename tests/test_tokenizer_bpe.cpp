// Byte-level / SPM-style BPE (src/tokenizer/bpe.cpp, pretokenizer.cpp, tokenizer_json.cpp) tested
// directly against reference ids: llama.cpp's vocab test vectors (ids from HF tokenizers) and the
// goldens tools/gen_tokenizer_goldens.py generates with HF tokenizers / llama-cpp-python.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/gguf.hpp"
#include "test_util.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/tokenizer_json.hpp"
#include "tokenizer/unicode.hpp"

using namespace llmkit;
using llmkit::tok::TokenizerModel;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct VectorSet {
  std::vector<std::string> inputs;
  std::vector<std::vector<int32_t>> ids;
};

// llama.cpp format: NAME.inp strings each followed by "\n__ggml_vocab_test__\n"; NAME.out one
// line of " id id ..." per string.
VectorSet load_vectors(const std::string& base) {
  VectorSet v;
  const std::string inp = read_all(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  while (pos < inp.size()) {
    size_t e = inp.find(sep, pos);
    if (e == std::string::npos) break;
    v.inputs.push_back(inp.substr(pos, e - pos));
    pos = e + sep.size();
  }
  // Some sets (gemma-4) omit the separator after the last string.
  if (pos < inp.size()) v.inputs.push_back(inp.substr(pos));
  std::ifstream out(base + ".out");
  std::string line;
  while (std::getline(out, line)) {
    std::vector<int32_t> ids;
    std::istringstream ls(line);
    int64_t x;
    while (ls >> x) ids.push_back(int32_t(x));
    v.ids.push_back(std::move(ids));
  }
  return v;
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

// Encodes TEXT with the model plus a minimal stand-in for the facade's added-token splitting:
// non-special added tokens (HF "added_tokens" with special=false, GGUF user-defined tokens) are
// matched leftmost-longest and emitted as is; special tokens are not parsed (as in the vectors).
std::vector<int32_t> encode(const TokenizerModel& m, const std::string& text,
                            bool parse_special = false) {
  std::vector<int32_t> ids;
  std::vector<const tok::AddedToken*> user;
  for (const auto& a : m.added_tokens())
    if (!a.special || parse_special) user.push_back(&a);
  size_t seg = 0;
  auto flush = [&](size_t end) {
    if (end > seg) {
      Status st = m.encode(std::string_view(text).substr(seg, end - seg), seg == 0, ids);
      REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    }
  };
  for (size_t i = 0; i < text.size();) {
    const tok::AddedToken* best = nullptr;
    for (const auto* a : user)
      if (text.compare(i, a->content.size(), a->content) == 0 &&
          (!best || a->content.size() > best->content.size()))
        best = a;
    if (!best) {
      ++i;
      continue;
    }
    flush(i);
    ids.push_back(best->id);
    i += best->content.size();
    seg = i;
  }
  flush(text.size());
  return ids;
}

std::string decode(const TokenizerModel& m, const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += m.token_bytes(id, true);
  if (m.strips_leading_space() && !s.empty() && s[0] == ' ') s.erase(0, 1);
  return s;
}

// Runs every vector; returns the number of mismatches (each reported).
size_t run_vectors(const TokenizerModel& m, const std::string& base) {
  VectorSet v = load_vectors(base);
  REQUIRE(!v.inputs.empty());
  REQUIRE(v.inputs.size() == v.ids.size());
  size_t bad = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    auto got = encode(m, v.inputs[i]);
    if (got != v.ids[i]) {
      ++bad;
      MESSAGE(base << " case " << i << " " << tok::quote_piece(v.inputs[i]) << "\n expected"
                   << ids_str(v.ids[i]) << "\n got     " << ids_str(got));
    }
  }
  return bad;
}

std::unique_ptr<TokenizerModel> gguf_model(const std::string& path) {
  auto g = io::GgufFile::open(path);
  REQUIRE_MESSAGE(g.is_ok(), g.status().to_string());
  auto m = tok::make_bpe_from_gguf(**g);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  return std::move(m).value();
}

std::unique_ptr<TokenizerModel> json_model(const std::string& dir) {
  std::string cfg = dir + "/tokenizer_config.json";
  if (!test::exists(cfg)) cfg.clear();
  auto m = tok::load_tokenizer_json(dir + "/tokenizer.json", cfg);
  REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
  return std::move(m).value();
}

// ortx-llama2 ships with U+00A0 replaced by plain spaces in four pieces (fixtures/README.md). In a
// Replace(" " -> "▁") vocabulary a plain space can never be produced, so every plain space in a
// piece is a damaged U+00A0: restore them, as tools/gen_tokenizer_goldens.py does for HF.
std::string repair_ortx_llama2(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  auto fix = [](std::string s) {
    std::string o;
    for (char c : s) {
      if (c == ' ')
        o += "\xC2\xA0";
      else
        o.push_back(c);
    }
    return o;
  };
  nlohmann::json vocab = nlohmann::json::object();
  for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
    vocab[fix(it.key())] = it.value();
  j["model"]["vocab"] = vocab;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& m : j["model"]["merges"]) {
    std::string s = m.get<std::string>();
    size_t sp = s.find(' ');
    if (s.find(' ', sp + 1) != std::string::npos) {
      for (size_t k = 1; k + 1 < s.size(); ++k) {
        if (s[k] != ' ') continue;
        std::string a = fix(s.substr(0, k)), b = fix(s.substr(k + 1));
        if (vocab.contains(a) && vocab.contains(b)) sp = k;
      }
    }
    merges.push_back(nlohmann::json::array({fix(s.substr(0, sp)), fix(s.substr(sp + 1))}));
  }
  j["model"]["merges"] = merges;
  return j.dump();
}

// Checks one tests/golden/tokenizer_goldens_NAME.json against M; returns mismatches.
size_t run_goldens(const TokenizerModel& m, const std::string& golden_path) {
  auto j = nlohmann::json::parse(read_all(golden_path));
  size_t bad = 0, n = 0, rt = 0;
  // HF matches `normalized` special tokens inside the normalized text (Llama 2's <s> swallows the
  // surrounding U+2581); that is the facade's splitting, not this model's: only checked there.
  bool check_special = true;
  for (const auto& a : m.added_tokens())
    if (a.special && a.normalized) check_special = false;
  if (!check_special)
    MESSAGE(golden_path << ": normalized special tokens, ids_special not checked");
  for (const auto& c : j["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const auto want = c["ids"].get<std::vector<int32_t>>();
    const auto want_sp = c["ids_special"].get<std::vector<int32_t>>();
    auto got = encode(m, text, false);
    auto got_sp = encode(m, text, true);
    ++n;
    if (got != want || (check_special && got_sp != want_sp)) {
      ++bad;
      MESSAGE(golden_path << " case " << tok::quote_piece(text) << "\n expected" << ids_str(want)
                          << "\n got     " << ids_str(got) << "\n expected(special)"
                          << ids_str(want_sp) << "\n got     (special)" << ids_str(got_sp));
    }
    if (c["roundtrip"].get<bool>()) {
      ++rt;
      std::string d = decode(m, want);
      if (d != text) {
        ++bad;
        MESSAGE(golden_path << " decode mismatch for " << tok::quote_piece(text) << ": got "
                            << tok::quote_piece(d));
      }
    }
  }
  MESSAGE(golden_path << ": " << n << " cases, " << rt << " round-trips checked");
  REQUIRE(n > 0);
  return bad;
}

}  // namespace

TEST_SUITE("tokenizer_bpe") {
  TEST_CASE("NFC normalization matches known compositions") {
    std::string out;
    CHECK_FALSE(tok::nfc_normalize("plain ascii", out));
    CHECK_FALSE(tok::nfc_normalize("\xC3\xA9", out));  // é already composed
    REQUIRE(tok::nfc_normalize("e\xCC\x81", out));     // e + U+0301
    CHECK(out == "\xC3\xA9");
    // Hangul jamo L V T -> syllable 한 (U+D55C)
    REQUIRE(tok::nfc_normalize("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", out));
    CHECK(out == "\xED\x95\x9C");
    // Canonical reordering: a + U+0323 (ccc 220) ... U+0307 (ccc 230) in the "wrong" order.
    REQUIRE(tok::nfc_normalize("a\xCC\x87\xCC\xA3", out));
    CHECK(out == "\xE1\xBA\xA1\xCC\x87");  // U+1EA1 + U+0307
    // Invalid bytes pass through.
    REQUIRE(
        tok::nfc_normalize("\xFF"
                           "e\xCC\x81",
                           out));
    CHECK(out == "\xFF\xC3\xA9");
  }

  TEST_CASE("byte-level alphabet round-trips all bytes") {
    std::string raw;
    for (int b = 0; b < 256; ++b) raw.push_back(char(b));
    std::string mapped, back;
    tok::byte_level_encode(raw, mapped);
    REQUIRE(tok::byte_level_decode(mapped, back));
    CHECK(back == raw);
    std::string g;
    tok::byte_level_encode(" ", g);
    CHECK(g == "\xC4\xA0");  // Ġ
  }

  TEST_CASE("unknown tokenizer.ggml.pre is an error; missing falls back with a warning") {
    bool im = false;
    std::string warn;
    auto bad = tok::pretokenizer_for_gguf_pre("no-such-pre", &im, &warn);
    CHECK_FALSE(bad.is_ok());
    CHECK(bad.status().message().find("no-such-pre") != std::string::npos);
    auto def = tok::pretokenizer_for_gguf_pre("", &im, &warn);
    CHECK(def.is_ok());
    CHECK(!warn.empty());
    for (const auto& n : tok::known_gguf_pre_names()) {
      auto p = tok::pretokenizer_for_gguf_pre(n, &im, nullptr);
      CHECK_MESSAGE(p.is_ok(), n << ": " << p.status().to_string());
    }
  }

  TEST_CASE("GGUF byte-level vocab vectors (llama.cpp test sets)") {
    if (!test::have_fixtures()) {
      MESSAGE("fixtures absent, skipping");
      return;
    }
    struct Case {
      const char* gguf;
      const char* vectors;
    };
    const Case cases[] = {
        {"vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-gpt-2.gguf"},
        {"vocab/ggml-vocab-gpt-2.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-gpt-2.gguf"},
        {"vocab/ggml-vocab-falcon.gguf", "vocab/ggml-vocab-falcon.gguf"},
        {"vocab/ggml-vocab-falcon.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-falcon.gguf"},
        {"vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-deepseek-llm.gguf"},
        {"vocab/ggml-vocab-deepseek-llm.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-deepseek-llm.gguf"},
        {"vocab/more/ggml-vocab-mpt.gguf", "vocab/more/ggml-vocab-mpt.gguf"},
        {"vocab/more/ggml-vocab-mpt.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-mpt.gguf"},
        {"vocab/more/ggml-vocab-starcoder.gguf", "vocab/more/ggml-vocab-starcoder.gguf"},
        {"vocab/more/ggml-vocab-starcoder.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-starcoder.gguf"},
        {"vocab/more/ggml-vocab-refact.gguf", "vocab/more/ggml-vocab-refact.gguf"},
        {"vocab/more/ggml-vocab-refact.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-refact.gguf"},
        {"vocab/more/ggml-vocab-deepseek-coder.gguf", "vocab/more/ggml-vocab-deepseek-coder.gguf"},
        {"vocab/more/ggml-vocab-deepseek-coder.gguf",
         "vocab/more/llama.cpp-2025-02-vectors/ggml-vocab-deepseek-coder.gguf"},
    };
    for (const auto& c : cases) {
      SUBCASE(c.vectors) {
        auto m = gguf_model(test::fixture(c.gguf));
        CHECK(run_vectors(*m, test::fixture(c.vectors)) == 0);
      }
    }
  }

  TEST_CASE("GGUF dbrx vocab vectors") {
    const std::string path = test::fixture("vocab/more/extra-dbrx-2024-05/ggml-vocab-dbrx.gguf");
    if (!test::exists(path)) {
      MESSAGE("dbrx vocab absent, skipping");
      return;
    }
    auto g = io::GgufFile::open(path);
    if (!g.is_ok()) {
      // This file repeats the key general.file_type; the GGUF reader rejects duplicate keys.
      MESSAGE("GGUF reader rejects the dbrx vocab: " << g.status().to_string());
      return;
    }
    auto m = tok::make_bpe_from_gguf(**g);
    REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
    CHECK(run_vectors(**m, path) == 0);
  }

  TEST_CASE("tokenizer.json vectors (llama.cpp test sets run with HF tokenizer files)") {
    if (!test::have_fixtures()) {
      MESSAGE("fixtures absent, skipping");
      return;
    }
    const std::string v25 = "vocab/more/llama.cpp-2025-02-vectors/";
    struct Case {
      const char* dir;
      std::string vectors;
    };
    const Case cases[] = {
        {"tokenizers/hf-llama3-lenml", "vocab/ggml-vocab-llama-bpe.gguf"},
        {"tokenizers/hf-llama3-lenml", v25 + "ggml-vocab-llama-bpe.gguf"},
        {"tokenizers/hf-qwen3-lenml", "vocab/ggml-vocab-qwen2.gguf"},
        {"tokenizers/hf-qwen3-lenml", v25 + "ggml-vocab-qwen2.gguf"},
        {"tokenizers/hf-qwen3-lenml", v25 + "ggml-vocab-deepseek-r1-qwen.gguf"},
        {"tokenizers/ortx-falcon-tokenizer", "vocab/ggml-vocab-falcon.gguf"},
        {"tokenizers/ortx-falcon-tokenizer", v25 + "ggml-vocab-falcon.gguf"},
        {"tokenizers/ortx-phi-2", "vocab/more/extra-pr-branches/ggml-vocab-phi-2.gguf"},
        {"tokenizers/ortx-roberta-base", v25 + "ggml-vocab-roberta-bpe.gguf"},
        {"tokenizers/ortx-llama2", "vocab/ggml-vocab-llama-spm.gguf"},
        {"tokenizers/ortx-phi-3", "vocab/ggml-vocab-phi-3.gguf"},
        {"tokenizers/hf-gemma3-lenml", "vocab/more/ggml-vocab-gemma-4.gguf"},
    };
    for (const auto& c : cases) {
      SUBCASE((std::string(c.dir) + " <- " + c.vectors).c_str()) {
        auto m = json_model(test::fixture(c.dir));
        CHECK(run_vectors(*m, test::fixture(c.vectors)) == 0);
      }
    }
  }

  TEST_CASE("tokenizer.json goldens (HF tokenizers on tests/golden/tokenizer_corpus.txt)") {
    if (!test::have_fixtures()) {
      MESSAGE("fixtures absent, skipping");
      return;
    }
    const std::string golden = std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/";
    for (const char* name : {"llama3", "qwen3", "llama2", "phi3", "falcon"}) {
      SUBCASE(name) {
        auto j = nlohmann::json::parse(read_all(golden + "tokenizer_goldens_" + name + ".json"));
        const std::string tj = test::fixture(j["tokenizer"].get<std::string>());
        const std::string cfg_rel = j["config"].get<std::string>();
        std::string text = read_all(tj);
        if (std::string(name) == "llama2") text = repair_ortx_llama2(text);
        std::string cfg = cfg_rel.empty() ? std::string() : read_all(test::fixture(cfg_rel));
        auto m = tok::parse_tokenizer_json(text, tj, cfg);
        REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
        CHECK(run_goldens(**m, golden + "tokenizer_goldens_" + name + ".json") == 0);
      }
    }
  }

}  // TEST_SUITE

TEST_SUITE("bigmodel") {
  TEST_CASE("SmolLM2 GGUF vocabulary: smollm vectors and llama.cpp goldens") {
    const std::string path = test::cached_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!test::exists(path)) {
      MESSAGE("SmolLM2 GGUF absent (" << path << "), skipping");
      return;
    }
    auto m = gguf_model(path);
    CHECK(m->kind() == "bpe");
    if (test::have_fixtures())
      CHECK(run_vectors(*m, test::fixture("vocab/more/extra-pr-branches/ggml-vocab-smollm.gguf")) ==
            0);
    CHECK(run_goldens(*m, std::string(LLMKIT_SOURCE_DIR) +
                              "/tests/golden/tokenizer_goldens_smollm2.json") == 0);
  }

}  // TEST_SUITE

namespace {

// A tiny character-level BPE in tokenizer.json form; PRE / NORM / MODEL_EXTRA are spliced in.
std::string tiny_json(const std::string& pre, const std::string& model_extra = "",
                      const std::string& norm = "null") {
  return R"({"version":"1.0","added_tokens":[],"normalizer":)" + norm + R"(,"pre_tokenizer":)" +
         pre +
         R"(,"post_processor":null,"decoder":null,"model":{"type":"BPE",)"
         R"("vocab":{"a":0,"b":1,"-":2,"a-":3,"-b":4,"a-b":5,"--":6,"<unk>":7,"<0xC3>":8,)"
         R"("<0xA9>":9,"\u2581":10,"\u2581a":11},)"
         R"("merges":["a -","- b","a- b","- -","\u2581 a"],"unk_token":"<unk>","fuse_unk":true,)"
         R"("byte_fallback":true)" +
         model_extra + "}}";
}

std::vector<std::vector<int32_t>> encode_all(const TokenizerModel& m,
                                             const std::vector<std::string>& texts) {
  std::vector<std::vector<int32_t>> r;
  for (const auto& t : texts) r.push_back(encode(m, t));
  return r;
}

Status parse_error(const std::string& json, const std::string& cfg = "") {
  auto m = tok::parse_tokenizer_json(json, "t.json", cfg);
  REQUIRE_FALSE(m.is_ok());
  return m.status();
}

}  // namespace

TEST_SUITE("tokenizer_bpe") {
  // Expected ids below were produced by HF tokenizers 0.23.3 on the same JSON (Tokenizer.from_str).
  TEST_CASE("Split behaviors, byte fallback, fuse_unk and Metaspace follow HF tokenizers") {
    const std::vector<std::string> texts = {"a-b", "a--b", "-a-", "ab--"};
    using V = std::vector<std::vector<int32_t>>;
    struct Case {
      const char* behavior;
      bool invert;
      V want;
    };
    const Case cases[] = {
        {"Isolated", false, V{{0, 2, 1}, {0, 2, 2, 1}, {2, 0, 2}, {0, 1, 2, 2}}},
        {"Removed", false, V{{0, 1}, {0, 1}, {0}, {0, 1}}},
        {"Removed", true, V{{2}, {2, 2}, {2, 2}, {2, 2}}},
        {"MergedWithPrevious", false, V{{3, 1}, {3, 2, 1}, {2, 3}, {0, 1, 2, 2}}},
        {"MergedWithPrevious", true, V{{0, 4}, {0, 2, 4}, {2, 0, 2}, {0, 1, 2, 2}}},
        {"MergedWithNext", false, V{{0, 4}, {0, 2, 4}, {2, 0, 2}, {0, 1, 2, 2}}},
        {"MergedWithNext", true, V{{3, 1}, {3, 2, 1}, {2, 3}, {0, 1, 2, 2}}},
        {"Contiguous", false, V{{0, 2, 1}, {0, 6, 1}, {2, 0, 2}, {0, 1, 6}}},
    };
    for (const auto& c : cases) {
      CAPTURE(c.behavior);
      CAPTURE(c.invert);
      auto m = tok::parse_tokenizer_json(
          tiny_json(std::string(R"({"type":"Split","pattern":{"String":"-"},"behavior":")") +
                    c.behavior + R"(","invert":)" + (c.invert ? "true" : "false") + "}"),
          "tiny");
      REQUIRE_MESSAGE(m.is_ok(), m.status().to_string());
      CHECK(encode_all(**m, texts) == c.want);
    }
    auto nopre = tok::parse_tokenizer_json(tiny_json("null"), "tiny");
    REQUIRE(nopre.is_ok());
    CHECK(encode_all(**nopre, {"a-b", "\xC3\xA9", "xyz a", "\xE1\xBA\x9E"}) ==
          V{{5}, {8, 9}, {7, 0}, {7}});
    auto nofb = tok::parse_tokenizer_json(tiny_json("null", R"(,"byte_fallback":false)"), "tiny");
    // A duplicate key: nlohmann keeps the last value, as serde does for HF.
    REQUIRE(nofb.is_ok());
    CHECK(encode_all(**nofb, {"a-b", "\xC3\xA9", "xyz\xC3\xA9 a"}) == V{{5}, {7}, {7, 0}});
    auto ms = tok::parse_tokenizer_json(
        tiny_json(
            R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first","split":true})"),
        "tiny");
    REQUIRE(ms.is_ok());
    CHECK(encode_all(**ms, {"a a", "a"}) == V{{11, 11}, {11}});
    std::vector<int32_t> ids;
    REQUIRE((*ms)->encode("a", /*at_start=*/false, ids).is_ok());
    CHECK(ids == std::vector<int32_t>{0});  // "first": no prepend after a special token
  }

  TEST_CASE("malformed tokenizer.json gives errors naming the JSON path") {
    auto has = [](const Status& s, const std::string& what) {
      CAPTURE(s.to_string());
      CHECK(s.message().find(what) != std::string::npos);
      CHECK(s.message().find("t.json") != std::string::npos);
    };
    has(parse_error("{\"model\": "), "invalid JSON at byte");
    has(parse_error("[1,2]"), "(root): expected an object");
    has(parse_error("{}"), "model: missing");
    has(parse_error(R"({"model":{"type":"Unigram","vocab":[]}})"), "model.type");
    CHECK(parse_error(R"({"model":{"type":"Unigram","vocab":[]}})").code() ==
          StatusCode::kUnsupported);
    has(parse_error(R"({"model":{"type":"BPE","vocab":[],"merges":[]}})"),
        "model.vocab: expected an object, got an array");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}})"),
        "model.vocab['a']: expected an integer, got a string");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":0,"b":0},"merges":[]}})"),
        "is also used by");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":0}}})"), "model.merges: missing");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a q"]}})"),
        "merges[0] ('a' 'q'): piece 'q' is not in the vocabulary");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":0,"aa":1},"merges":["a a", 7]}})"),
        "model.merges[1]: expected a string or a pair of strings, got an integer");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["aa"]}})"),
        "model.merges[0]: 'aa' is not of the form");
    has(parse_error("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xFF\":0},\"merges\":[]}}"),
        "invalid JSON");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":99999999999},"merges":[]}})"),
        "out of range");
    has(parse_error(R"({"added_tokens":{},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"),
        "added_tokens: expected an array");
    has(parse_error(
            R"({"added_tokens":[{"id":"x","content":"a"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"),
        "added_tokens[0].id");
    has(parse_error(
            R"({"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Bogus"}]},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"),
        "pre_tokenizer.pretokenizers[0].type: pre-tokenizer 'Bogus' is not supported");
    has(parse_error(
            R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"),
        "cannot compile regex");
    has(parse_error(
            R"({"normalizer":{"type":"NFKC"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"),
        "normalizer.type: normalizer 'NFKC' is not supported");
    has(parse_error(
            R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[],"byte_fallback":"yes"}})"),
        "model.byte_fallback: expected a boolean, got a string");
    has(parse_error(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})", "[]"),
        "tokenizer_config.json (root): expected an object");
    auto missing = tok::load_tokenizer_json("/nonexistent/tokenizer.json", "");
    CHECK(missing.status().code() == StatusCode::kNotFound);
  }

  TEST_CASE("concurrent encode gives the same ids as sequential encode") {
    if (!test::have_fixtures()) {
      MESSAGE("fixtures absent, skipping");
      return;
    }
    auto m = json_model(test::fixture("tokenizers/hf-llama3-lenml"));
    const std::string corpus =
        read_all(std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/tokenizer_corpus.txt");
    std::vector<int32_t> want;
    REQUIRE(m->encode(corpus, true, want).is_ok());
    std::vector<std::vector<int32_t>> got(4);
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
      pool.emplace_back([&, t] {
        for (int r = 0; r < 5; ++r) {
          got[size_t(t)].clear();
          if (!m->encode(corpus, true, got[size_t(t)]).is_ok()) return;
        }
      });
    for (auto& th : pool) th.join();
    for (const auto& g : got) CHECK(g == want);
  }

  TEST_CASE("a huge unsplit segment stays fast (heap merge path) and round-trips") {
    if (!test::have_fixtures()) {
      MESSAGE("fixtures absent, skipping");
      return;
    }
    auto m = json_model(test::fixture("tokenizers/ortx-phi-3"));
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "hello world ";
    std::vector<int32_t> ids;
    REQUIRE(m->encode(text, true, ids).is_ok());
    CHECK(ids.size() == 40001);  // "\u2581hello" "\u2581world" x 20000, then a final "\u2581"
    CHECK(decode(*m, ids) == text);
    // Long whitespace / digit runs through the regex path.
    auto l3 = json_model(test::fixture("tokenizers/hf-llama3-lenml"));
    std::string ws(200000, ' ');
    ws += "x";
    ws += std::string(100000, '7');
    ids.clear();
    REQUIRE(l3->encode(ws, true, ids).is_ok());
    CHECK(decode(*l3, ids) == ws);
  }

}  // TEST_SUITE
