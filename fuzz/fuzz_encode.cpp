// libFuzzer target: BPE encode on arbitrary bytes (invalid UTF-8, huge whitespace/digit runs,
// combining marks for NFC). Three self-contained models built at start-up exercise the
// pre-tokenizer regexes (Llama 3 split + ByteLevel, the GPT-2 ByteLevel regex with Digits after
// it), NFC, and SPM-style char-level BPE with byte fallback; LLMKIT_FUZZ_TOKENIZER=path adds a
// real tokenizer.json. Byte-level models without a normalizer must round-trip every input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer_json.hpp"
#include "tokenizer/unicode.hpp"

namespace {

using llmkit::tok::TokenizerModel;

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += char(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      o += buf;
    } else {
      o += char(c);
    }
  }
  return o + "\"";
}

// A byte-level vocabulary: the 256 alphabet pieces plus merges of common ASCII pairs.
std::string byte_level_json(const std::string& pre, const std::string& norm) {
  const auto& a = llmkit::tok::byte_level_alphabet();
  std::string vocab, merges;
  int id = 0;
  for (int b = 0; b < 256; ++b)
    vocab += (id ? "," : "") + json_str(a.byte_to_utf8[size_t(b)]) + ":" + std::to_string(id++);
  const char* pairs[][2] = {{"h", "e"},          {"l", "l"},        {"he", "ll"},
                            {"hell", "o"},       {"\xC4\xA0", "w"}, {"o", "r"},
                            {"\xC4\xA0w", "or"}, {"1", "2"},        {"\xC4\xA0", "\xC4\xA0"}};
  for (const auto& p : pairs) {
    std::string m = std::string(p[0]) + p[1];
    vocab += "," + json_str(m) + ":" + std::to_string(id++);
    merges += std::string(merges.empty() ? "" : ",") + json_str(std::string(p[0]) + " " + p[1]);
  }
  return "{\"normalizer\":" + norm + ",\"pre_tokenizer\":" + pre +
         ",\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab + "},\"merges\":[" + merges + "]}}";
}

std::string spm_json() {
  std::string vocab = "\"<unk>\":0";
  int id = 1;
  for (int b = 0; b < 256; ++b) {
    char buf[16];
    snprintf(buf, sizeof(buf), "\"<0x%02X>\":%d", b, id++);
    vocab += std::string(",") + buf;
  }
  for (const char* p : {"\xE2\x96\x81", "a", "b",
                        "\xE2\x96\x81"
                        "a",
                        "ab",
                        "\xE2\x96\x81"
                        "ab"})
    vocab += "," + json_str(p) + ":" + std::to_string(id++);
  return R"({"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},)"
         R"({"type":"Replace","pattern":{"String":" "},"content":"\u2581"}]},"pre_tokenizer":null,)"
         R"("model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"fuse_unk":true,"vocab":{)" +
         vocab + R"(},"merges":["\u2581 a","a b","\u2581a b"]}})";
}

struct Models {
  std::vector<std::unique_ptr<TokenizerModel>> list;
  std::vector<bool> round_trip;
  Models() {
    const std::string llama3_pre =
        R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})";
    const std::string falcon_pre =
        R"({"type":"Sequence","pretokenizers":[{"type":"Punctuation","behavior":"Contiguous"},{"type":"ByteLevel","add_prefix_space":true,"use_regex":true},{"type":"Digits","individual_digits":false},{"type":"Split","pattern":{"Regex":"[0-9][0-9][0-9]"},"behavior":"Isolated","invert":false}]})";
    add(byte_level_json(llama3_pre, "null"), true);
    add(byte_level_json(falcon_pre, R"({"type":"NFC"})"), false);
    add(spm_json(), false);
    if (const char* p = std::getenv("LLMKIT_FUZZ_TOKENIZER")) {
      auto m = llmkit::tok::load_tokenizer_json(p, "");
      if (m.is_ok()) {
        list.push_back(std::move(m).value());
        round_trip.push_back(false);
      }
    }
  }
  void add(const std::string& json, bool rt) {
    auto m = llmkit::tok::parse_tokenizer_json(json, "builtin");
    if (!m.is_ok()) __builtin_trap();  // the built-in models must load
    list.push_back(std::move(m).value());
    round_trip.push_back(rt);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Models models;
  if (size == 0) return 0;
  const size_t which = data[0] % models.list.size();
  const bool at_start = data[0] & 0x80;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const TokenizerModel& m = *models.list[which];
  std::vector<int32_t> ids;
  if (!m.encode(text, at_start, ids).is_ok()) return 0;  // e.g. a PCRE2 resource limit: a Status
  std::string back;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= m.vocab_size()) __builtin_trap();
    back += m.token_bytes(id, true);
  }
  if (models.round_trip[which] && back != text) __builtin_trap();
  return 0;
}
