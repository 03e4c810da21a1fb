// libFuzzer target: tokenizer.json parsing (src/tokenizer/tokenizer_json.cpp, bpe.cpp,
// pretokenizer.cpp). Any input must yield a model or a Status naming the file — never a throw
// (nlohmann throws; the library converts), crash, or unbounded allocation. Models that load are
// exercised with a few encodes and a decode of every id.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // An optional tokenizer_config.json after a NUL byte.
  std::string_view cfg;
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    cfg = text.substr(nul + 1);
    text = text.substr(0, nul);
  }
  auto r = llmkit::tok::parse_tokenizer_json(text, "fuzz.json", cfg);
  if (!r.is_ok()) {
    if (r.status().message().find("fuzz.json") == std::string::npos) __builtin_trap();
    return 0;
  }
  const auto& m = **r;
  static const char* const kSamples[] = {"",
                                         " ",
                                         "Hello world",
                                         "a-b  c\n\n\t1234567",
                                         "caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80",
                                         "\xFF\xFE invalid \xC3"};
  std::vector<int32_t> ids;
  for (const char* s : kSamples) {
    (void)m.encode(s, true, ids);
    (void)m.encode(s, false, ids);
  }
  (void)m.encode(text.substr(0, 512), true, ids);
  for (int32_t id : ids)
    if (id < 0 || size_t(id) >= m.vocab_size()) __builtin_trap();
  for (size_t i = 0; i < m.vocab_size() && i < 4096; ++i) {
    (void)m.token_bytes(int32_t(i), true);
    (void)m.token_attr(int32_t(i));
    (void)m.find_token(m.token_text(int32_t(i)));
  }
  (void)m.token_bytes(-1, true);
  (void)m.token_bytes(int32_t(m.vocab_size()), true);
  return 0;
}
