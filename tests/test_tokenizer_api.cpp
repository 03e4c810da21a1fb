// The public tokenizer API (include/llmkit/tokenizer.hpp): loading from every kind of source,
// special-token policy (parse_special, BOS/EOS and overrides), added-token splitting semantics,
// decode options, the streaming detokenizer on text whose characters span several tokens,
// concurrent use, bad input, and the `llmkit tokenize` / `detokenize` CLI.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/model_description.hpp"
#include "io/utf8.hpp"
#include "llmkit/tokenizer.hpp"
#include "test_util.hpp"
#include "tokenizer/special_split.hpp"
#include "tokenizer/tokenizer_factory.hpp"
#include "tokenizer/utf8_sanitize.hpp"

using namespace llmkit;
using Ids = std::vector<int32_t>;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::shared_ptr<const Tokenizer> load(const std::string& rel) {
  auto t = Tokenizer::load(test::fixture(rel));
  REQUIRE_MESSAGE(t.is_ok(), t.status().to_string());
  return *t;
}

Ids enc(const Tokenizer& t, std::string_view text, EncodeOptions o = {}) {
  auto r = t.encode(text, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return *r;
}

std::string dec(const Tokenizer& t, const Ids& ids, DecodeOptions o = {}) {
  auto r = t.decode(ids, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return *r;
}

std::vector<std::string> corpus() {
  const std::string all =
      slurp(std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/tokenizer_corpus.txt");
  const std::string sep = "\n__llmkit_tokenizer_case__\n";
  std::vector<std::string> cases;
  size_t pos = all.find(sep);
  while (pos != std::string::npos) {
    size_t start = pos + sep.size();
    size_t next = all.find(sep, start);
    if (next == std::string::npos) break;
    cases.push_back(all.substr(start, next - start));
    pos = next;
  }
  return cases;
}

std::vector<tok::TextPiece> split(const std::vector<tok::AddedToken>& added, std::string_view text,
                                  bool special = true) {
  tok::AddedTokenMatcher m(added, special);
  std::vector<tok::TextPiece> out;
  m.split(text, out);
  return out;
}

tok::AddedToken added(int32_t id, std::string content, bool special = true) {
  tok::AddedToken a;
  a.id = id;
  a.content = std::move(content);
  a.special = special;
  return a;
}

std::string find_cli() {
  if (const char* e = std::getenv("LLMKIT_CLI")) return e;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (auto dir = self.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    const auto cand = dir / "llmkit";
    if (std::filesystem::is_regular_file(cand)) return cand.string();
  }
  return "";
}

std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_SUITE("tokenizer_api") {
  TEST_CASE("special-token text is literal unless parse_special") {
    if (!test::have_fixtures()) return;
    auto phi3 = load("vocab/ggml-vocab-phi-3.gguf");
    const int32_t user = phi3->token_id("<|user|>");
    REQUIRE(user == 32010);
    Ids plain = enc(*phi3, "<|user|>hi");
    CHECK(std::find(plain.begin(), plain.end(), user) == plain.end());
    EncodeOptions ps;
    ps.parse_special = true;
    Ids parsed = enc(*phi3, "<|user|>hi", ps);
    REQUIRE_FALSE(parsed.empty());
    CHECK(parsed.front() == user);
    // Decoding renders the literal text back either way.
    CHECK(dec(*phi3, plain) == "<|user|>hi");
    CHECK(dec(*phi3, parsed) == "<|user|> hi");  // the dummy prefix after a special token stays

    auto llama = load("tokenizers/llama2-tokenizer.model");
    CHECK(enc(*llama, "<s>") != Ids{1});
    CHECK(enc(*llama, "<s>", ps) == Ids{1});
  }

  TEST_CASE("BOS/EOS: the file's policy with add_special, explicit overrides win") {
    if (!test::have_fixtures()) return;
    auto t = load("vocab/ggml-vocab-llama-spm.gguf");
    const Ids body = enc(*t, "Hello");
    CHECK(body == Ids{15043});
    EncodeOptions o;
    o.add_special = true;
    CHECK(enc(*t, "Hello", o) == Ids{1, 15043});  // add_bos_token = true, add_eos_token = false
    CHECK(enc(*t, "", o) == Ids{1});
    o.add_bos = false;
    o.add_eos = true;
    CHECK(enc(*t, "Hello", o) == Ids{15043, 2});
    EncodeOptions only_bos;
    only_bos.add_bos = true;  // override without add_special
    CHECK(enc(*t, "Hello", only_bos) == Ids{1, 15043});
    CHECK(enc(*t, "") == Ids{});

    // Byte-level BPE without a BOS policy: add_special adds nothing; forcing a BOS it lacks fails.
    auto gpt2 = load("vocab/ggml-vocab-gpt-2.gguf");
    EncodeOptions s;
    s.add_special = true;
    CHECK(enc(*gpt2, "Hello", s) == enc(*gpt2, "Hello"));
    if (gpt2->bos_id() < 0) {
      EncodeOptions force;
      force.add_bos = true;
      auto r = gpt2->encode("Hello", force);
      REQUIRE_FALSE(r.is_ok());
      CHECK(r.status().code() == StatusCode::kInvalidArgument);
    }
  }

  TEST_CASE("added-token splitting: leftmost-longest, lstrip/rstrip, single_word, special filter") {
    std::vector<tok::AddedToken> a = {added(10, "<a>"), added(11, "<ab>"), added(12, "\n", false)};
    auto p = split(a, "x<ab>y<a>\n");
    REQUIRE(p.size() == 5);
    CHECK(p[1].token == 11);  // longest wins at the same start
    CHECK(p[3].token == 10);
    CHECK(p[4].token == 12);
    CHECK(p[0].begin == 0);
    CHECK(p[0].end == 1);
    // Without parse_special only the non-special token is matched.
    auto q = split(a, "x<ab>y\n", false);
    REQUIRE(q.size() == 2);
    CHECK(q[0].token == -1);
    CHECK(q[0].end == 6);
    CHECK(q[1].token == 12);

    tok::AddedToken l = added(20, "<L>");
    l.lstrip = true;
    tok::AddedToken r = added(21, "<R>");
    r.rstrip = true;
    auto s = split({l, r},
                   "a \t<L> b<R>  \xC2\xA0"
                   "c");  // U+00A0 is whitespace too
    REQUIRE(s.size() == 5);
    CHECK(s[0].end == 1);  // "a": the spaces went to <L>
    CHECK(s[1].token == 20);
    CHECK(s[1].begin == 1);
    CHECK(s[2].token == -1);  // " b"
    CHECK(s[3].token == 21);
    CHECK(s[4].begin == s[3].end);
    CHECK(s[4].end - s[4].begin == 1);  // only "c" is left

    tok::AddedToken w = added(30, "ab");
    w.single_word = true;
    auto t1 = split({w}, "ab cab ab");
    REQUIRE(t1.size() == 3);
    CHECK(t1[0].token == 30);
    CHECK(t1[1].token == -1);  // " cab " stays text: "ab" inside "cab" is not a word
    CHECK(t1[2].token == 30);
  }

  TEST_CASE("decode options: skip_special, strip_leading_space, invalid ids") {
    if (!test::have_fixtures()) return;
    auto t = load("tokenizers/llama2-tokenizer.model");
    const Ids ids = {1, 15043, 3186, 2};
    CHECK(dec(*t, ids) == "<s> Hello world</s>");
    DecodeOptions skip;
    skip.skip_special = true;
    CHECK(dec(*t, ids, skip) == "Hello world");
    skip.strip_leading_space = false;
    CHECK(dec(*t, ids, skip) == " Hello world");
    CHECK(t->token_to_piece(1) == "<s>");
    CHECK(t->token_to_piece(1, false) == "");
    CHECK(t->token_to_piece(-1) == "");
    CHECK(t->token_text(32000) == "");
    auto bad = t->decode(Ids{15043, 32000});
    REQUIRE_FALSE(bad.is_ok());
    CHECK(bad.status().code() == StatusCode::kInvalidArgument);
    CHECK(bad.status().message().find("position 1") != std::string::npos);
    StreamingDetokenizer s(*t);
    CHECK_FALSE(s.push(-5).is_ok());
  }

  TEST_CASE("UTF-8 clean-up matches Python's errors='replace', whole or in chunks") {
    struct Case {
      std::string in, want;
    };
    const std::string R = "\xEF\xBF\xBD";
    const Case cases[] = {
        {"\xE3\x81\x82\xE3\x81", "\xE3\x81\x82" + R},
        {"\xF0\x9F\x98 ", R + " "},
        {"\xC0\xAF", R + R},
        {"\xED\xA0\x80", R + R + R},
        {"\xF4\x90\x80\x80", R + R + R + R},
        {"a\x80"
         "b",
         "a" + R + "b"},
        {"\xE3\x81", R},
        {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
    };
    for (const Case& c : cases) {
      std::string whole;
      tok::utf8_sanitize(c.in, true, false, whole);
      CHECK(whole == c.want);
      // Byte by byte, holding back incomplete tails.
      std::string pending, chunked;
      for (char ch : c.in) {
        pending.push_back(ch);
        size_t held = tok::utf8_sanitize(pending, false, false, chunked);
        pending.erase(0, pending.size() - held);
      }
      tok::utf8_sanitize(pending, true, false, chunked);
      CHECK(chunked == c.want);
      std::string raw;
      tok::utf8_sanitize(c.in, true, true, raw);
      CHECK(raw == c.in);
    }
  }

  TEST_CASE("streaming detokenizer: Korean, CJK and emoji split across byte tokens") {
    if (!test::have_fixtures()) return;
    for (const char* rel :
         {"tokenizers/llama2-tokenizer.model", "vocab/ggml-vocab-llama-spm.gguf",
          "tokenizers/hf-qwen3-lenml/tokenizer.json", "vocab/ggml-vocab-gpt-2.gguf"}) {
      auto t = load(rel);
      for (const char* text : {"안녕하세요, 세계! 반갑습니다.", "日本語のテキストと中文字符 𠀋𪚲",
                               "emoji 🦙😀👍🏽👨‍👩‍👧 ok", " leading space",
                               "tabs\t\tand\nnewlines\n", "Ꙋ🦙"}) {
        CAPTURE(rel);
        CAPTURE(text);
        const Ids ids = enc(*t, text);
        const std::string whole = dec(*t, ids);
        CHECK(whole == text);
        StreamingDetokenizer s(*t);
        std::string streamed;
        int held_back = 0;
        for (int32_t id : ids) {
          auto piece = s.push(id);
          REQUIRE(piece.is_ok());
          CHECK(io::utf8_valid(*piece));  // never a partial code point
          if (piece->empty() && !t->token_to_piece(id).empty()) ++held_back;
          streamed += *piece;
        }
        streamed += s.flush();
        CHECK(streamed == whole);
        if (std::string(text).find("🦙") != std::string::npos) CHECK(held_back > 0);
      }
    }
  }

  TEST_CASE("streaming detokenizer: invalid bytes, flush of a truncated character, reset") {
    if (!test::have_fixtures()) return;
    auto t = load("vocab/ggml-vocab-llama-spm.gguf");
    const int32_t b_e3 = t->token_id("<0xE3>"), b_81 = t->token_id("<0x81>"), a = t->token_id("a");
    REQUIRE(b_e3 >= 0);
    REQUIRE(b_81 >= 0);
    REQUIRE(a >= 0);
    const Ids ids = {b_e3, b_81, a};
    StreamingDetokenizer s(*t);
    CHECK(s.push(b_e3).value() == "");
    CHECK(s.push(b_81).value() == "");
    CHECK(s.push(a).value() ==
          "\xEF\xBF\xBD"
          "a");
    CHECK(s.flush() == "");
    CHECK(dec(*t, ids) ==
          "\xEF\xBF\xBD"
          "a");
    // A truncated character at the end comes out of flush() as U+FFFD, as decode() does.
    CHECK(s.push(b_e3).value() == "");
    CHECK(s.flush() == "\xEF\xBF\xBD");
    CHECK(dec(*t, Ids{b_e3}) == "\xEF\xBF\xBD");
    // reset() forgets held bytes and re-arms the leading-space rule.
    CHECK(s.push(b_e3).value() == "");
    s.reset();
    CHECK(s.push(t->token_id("\xE2\x96\x81Hello")).value() == "Hello");
  }

  TEST_CASE("concurrent encode/decode from several threads gives the single-threaded results") {
    if (!test::have_fixtures()) return;
    const auto texts = corpus();
    REQUIRE(texts.size() > 20);
    for (const char* rel :
         {"vocab/ggml-vocab-llama-spm.gguf", "tokenizers/hf-qwen3-lenml/tokenizer.json"}) {
      auto t = load(rel);
      std::vector<Ids> want;
      std::vector<std::string> want_text;
      for (const auto& x : texts) {
        want.push_back(enc(*t, x));
        want_text.push_back(dec(*t, want.back()));
      }
      std::atomic<int> mismatches{0};
      std::vector<std::thread> threads;
      for (int k = 0; k < 4; ++k)
        threads.emplace_back([&, k] {
          for (int rep = 0; rep < 3; ++rep)
            for (size_t i = 0; i < texts.size(); ++i) {
              size_t j = (i * 7 + size_t(k) * 13 + size_t(rep)) % texts.size();
              auto ids = t->encode(texts[j]);
              if (!ids.is_ok() || *ids != want[j]) ++mismatches;
              auto s = t->decode(want[j]);
              if (!s.is_ok() || *s != want_text[j]) ++mismatches;
            }
        });
      for (auto& th : threads) th.join();
      CHECK(mismatches.load() == 0);
    }
  }

  // npm llama3-tokenizer-js records Llama 3.1 behaviour; the shared tokenizer.json is Llama 3.0,
  // whose vocabulary lacks the 3.1-only special tokens (<|eom_id|>, ...). Cases naming such a token
  // are reported and left out; everything else must match.
  TEST_CASE("npm llama3-tokenizer-js vectors with the Llama 3 tokenizer.json") {
    if (!test::have_fixtures()) return;
    auto t = load("tokenizers/hf-llama3-lenml/tokenizer.json");
    auto j = nlohmann::json::parse(
        slurp(test::fixture("tokenizers/vectors/llama3-tokenizer-js-vectors.json")));
    auto names_missing_special = [&](const std::string& text) {
      for (size_t p = text.find("<|"); p != std::string::npos; p = text.find("<|", p + 1)) {
        size_t e = text.find("|>", p);
        if (e == std::string::npos) break;
        if (t->token_id(text.substr(p, e + 2 - p)) < 0) return true;
      }
      return false;
    };
    int run_cases = 0, left_out = 0;
    for (const auto& c : j) {
      const std::string op = c["op"].get<std::string>();
      if (op == "encode") {
        const std::string text = c["input"].get<std::string>();
        if (names_missing_special(text)) {
          ++left_out;
          continue;
        }
        EncodeOptions o;
        o.parse_special = true;  // the npm tokenizer always recognises special-token text
        if (c["options"].is_object()) {
          o.add_bos = c["options"]["bos"].get<bool>();
          o.add_eos = c["options"]["eos"].get<bool>();
        } else {
          o.add_bos = o.add_eos = true;  // "default(bos=true,eos=true)"
        }
        auto ids = t->encode(text, o);
        REQUIRE(ids.is_ok());
        CHECK(*ids == c["ids"].get<Ids>());
        ++run_cases;
      } else if (op == "decode") {
        const auto ids = c["ids"].get<Ids>();
        bool known = true;
        for (int32_t id : ids) known &= id >= 0 && size_t(id) < t->vocab_size();
        const std::string want = c["output"].get<std::string>();
        if (!known || names_missing_special(want)) {
          ++left_out;
          continue;
        }
        CHECK(dec(*t, ids) == want);
        ++run_cases;
      }
    }
    MESSAGE(run_cases << " llama3-tokenizer-js vectors run, " << left_out
                      << " left out (Llama 3.1-only special tokens)");
    CHECK(run_cases >= 30);
  }

  TEST_CASE("load: GGUF, tokenizer.model, tokenizer.json, HF folders, model descriptions") {
    if (!test::have_fixtures()) return;
    CHECK(load("vocab/ggml-vocab-llama-spm.gguf")->kind() == "spm");
    CHECK(load("tokenizers/llama2-tokenizer.model")->kind() == "spm");
    CHECK(load("tokenizers/openllama-spm")->kind() == "spm");  // folder with tokenizer.model only
    auto folder = load("tokenizers/ortx-phi-3");               // folder with tokenizer.json
    auto file = load("tokenizers/ortx-phi-3/tokenizer.json");
    CHECK(folder->kind() == file->kind());
    CHECK(enc(*folder, "Hello world") == enc(*file, "Hello world"));
    CHECK(load("vocab/ggml-vocab-gpt-2.gguf")->kind() == "bpe");

    // An HF model folder: tokenizer.json + generation_config.json (end-of-generation ids).
    auto hf = load("safetensors/TinyStories-656K");
    CHECK(hf->vocab_size() == 2048);
    CHECK(hf->is_end_of_generation(hf->eos_id()));

    // The runtime path: a model description (GGUF) gives the same tokenizer as the file.
    auto desc = io::load_model_description(test::fixture("models/stories260K.gguf"));
    if (desc.is_ok()) {
      auto t = tok::tokenizer_from_model_description(**desc);
      REQUIRE_MESSAGE(t.is_ok(), t.status().to_string());
      auto direct = load("models/stories260K.gguf");
      CHECK(enc(**t, "Once upon a time") == enc(*direct, "Once upon a time"));
      CHECK((*t)->vocab_size() == 512);
    } else {
      MESSAGE("load_model_description not available: " << desc.status().to_string());
    }
  }

  TEST_CASE("load errors are clear") {
    auto missing = Tokenizer::load("/nonexistent/tokenizer.model");
    REQUIRE_FALSE(missing.is_ok());
    CHECK(missing.status().code() == StatusCode::kNotFound);
    CHECK_FALSE(Tokenizer::load("").is_ok());

    const auto dir =
        std::filesystem::temp_directory_path() / ("llmkit_tok_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto empty = Tokenizer::load(dir.string());
    REQUIRE_FALSE(empty.is_ok());
    CHECK(empty.status().code() == StatusCode::kNotFound);
    {
      std::ofstream(dir / "garbage.model", std::ios::binary) << "\x01\x02\x03 not a model";
      auto g = Tokenizer::load((dir / "garbage.model").string());
      REQUIRE_FALSE(g.is_ok());
      CHECK(g.status().code() == StatusCode::kCorruptFile);
      CHECK(g.status().message().find("garbage.model") != std::string::npos);
    }
    {
      std::ofstream(dir / "tokenizer.json", std::ios::binary) << "{ \"model\": ";
      auto j = Tokenizer::load((dir / "tokenizer.json").string());
      REQUIRE_FALSE(j.is_ok());
      CHECK(j.status().message().find("tokenizer.json") != std::string::npos);
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("llmkit tokenize / detokenize CLI") {
    const std::string cli = find_cli();
    if (cli.empty() || !test::have_fixtures()) {
      MESSAGE("skipped: the llmkit CLI is not built next to the tests (or fixtures absent)");
      return;
    }
    const std::string model = test::fixture("vocab/ggml-vocab-llama-spm.gguf");
    auto [rc, out] = run("printf 'Hello world\\n' | " + cli + " tokenize --model '" + model + "'");
    CHECK(rc == 0);
    CHECK(out == "15043 3186 13\n");  // the trailing newline is part of the input
    std::tie(rc, out) =
        run("printf '' | " + cli + " tokenize --model '" + model + "' --add-special");
    CHECK(out == "1\n");
    std::tie(rc, out) =
        run(cli + " tokenize --model '" + model + "' --text '<s>x' --parse-special --pieces");
    CHECK(out == "<s> \xE2\x96\x81x\n");
    std::tie(rc, out) =
        run("printf ' caf\xC3\xA9\\n\\t\xF0\x9F\xA6\x99' | " + cli + " tokenize -m '" + model +
            "' | " + cli + " detokenize -m '" + model + "'");
    CHECK(rc == 0);
    CHECK(out == " caf\xC3\xA9\n\t\xF0\x9F\xA6\x99");
    std::tie(rc, out) =
        run(cli + " detokenize -m '" + model + "' --ids '[1, 15043, 2]' --skip-special");
    CHECK(out == "Hello");
    std::tie(rc, out) = run(cli + " detokenize -m '" + model + "' --ids '15043 99999' 2>/dev/null");
    CHECK(rc == 1);
    std::tie(rc, out) = run(cli + " tokenize --no-such-flag 2>/dev/null");
    CHECK(rc == 2);
    std::tie(rc, out) = run(cli + " tokenize -m /nonexistent.gguf --text x 2>/dev/null");
    CHECK(rc == 1);
  }

}  // TEST_SUITE

namespace {

// Streams IDS through a StreamingDetokenizer one token at a time.
std::string stream_all(const Tokenizer& t, const Ids& ids) {
  StreamingDetokenizer s(t);
  std::string out;
  for (int32_t id : ids) {
    auto p = s.push(id);
    REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
    out += *p;
  }
  return out + s.flush();
}

// Every case of one corpus golden (tools/gen_tokenizer_goldens.py): the streaming detokenizer
// equals the one-shot decode on the reference ids, and decode(ids) == text where HF round-trips.
// Returns the number of failing cases.
int streaming_on_golden(const Tokenizer& t, const std::string& golden,
                        bool check_roundtrip = true) {
  auto j = nlohmann::json::parse(slurp(golden));
  int bad = 0, n = 0;
  for (const auto& c : j["cases"]) {
    for (const char* key : {"ids", "ids_special"}) {
      const Ids ids = c[key].get<Ids>();
      const std::string whole = dec(t, ids);
      ++n;
      if (stream_all(t, ids) != whole) {
        if (++bad <= 3) MESSAGE(golden << ": streaming != decode for " << c["text"].dump());
      }
      if (check_roundtrip && std::string(key) == "ids" && c["roundtrip"].get<bool>() &&
          whole != c["text"].get<std::string>())
        if (++bad <= 3) MESSAGE(golden << ": no round trip for " << c["text"].dump());
    }
  }
  MESSAGE(golden.substr(golden.rfind('/') + 1) << ": " << n << " id sequences streamed");
  return bad;
}

}  // namespace

TEST_SUITE("tokenizer_api") {
  TEST_CASE("streaming detokenizer == one-shot decode on every corpus golden (tokenizer.json)") {
    if (!test::have_fixtures()) return;
    const std::string golden = std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/";
    for (const char* name : {"llama3", "qwen3", "phi3", "falcon", "llama2"}) {
      CAPTURE(name);
      auto j = nlohmann::json::parse(slurp(golden + "tokenizer_goldens_" + name + ".json"));
      auto t = load(j["tokenizer"].get<std::string>());
      // The ortx-llama2 fixture has four damaged U+00A0 pieces that the goldens' generator repairs
      // (see test_tokenizer_bpe.cpp): its round trip of text with U+00A0 is checked there.
      const bool roundtrip = std::string(name) != "llama2";
      CHECK(streaming_on_golden(*t, golden + "tokenizer_goldens_" + name + ".json", roundtrip) ==
            0);
    }
  }
}

TEST_SUITE("bigmodel") {
  TEST_CASE("streaming detokenizer == one-shot decode on the SmolLM2 and Gemma 3 GGUF goldens") {
    const std::string golden = std::string(LLMKIT_SOURCE_DIR) + "/tests/golden/";
    const std::pair<const char*, const char*> sets[] = {
        {"SmolLM2-135M-Instruct.Q4_1.gguf", "tokenizer_goldens_smollm2.json"},
        {"gemma-3-270m-q4_k_m.gguf", "tokenizer_goldens_gemma3_gguf.json"}};
    for (const auto& [file, g] : sets) {
      const std::string path = test::cached_model(file);
      if (!test::exists(path)) {
        MESSAGE("skipping: " << path << " not found (run tools/fetch_models.sh)");
        continue;
      }
      auto t = Tokenizer::load(path);
      REQUIRE_MESSAGE(t.is_ok(), t.status().to_string());
      CHECK(streaming_on_golden(**t, golden + g) == 0);
    }
  }
}
