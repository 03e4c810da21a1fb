// libFuzzer target: SentencePiece models (src/tokenizer/spm_proto.cpp, spm.cpp) and the public
// facade on top of them. Input starting with "GGUF" is parsed as a GGUF file and its vocabulary
// is built whatever its type (`llama`: hand-encoded ModelProto -> sentencepiece; `gpt2`; `bert`
// WordPiece, seeded by vocab-bert-bge-mini.gguf); anything else is a tokenizer.model. Any input
// must give a tokenizer or a Status naming the file — never a throw, crash or unbounded allocation.
// Tokenizers that load are exercised through encode (with and without parse_special), decode and
// the streaming detokenizer, which must agree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/gguf.hpp"
#include "llmkit/tokenizer.hpp"
#include "tokenizer/spm.hpp"
#include "tokenizer/tokenizer_factory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmkit;
  std::shared_ptr<const Tokenizer> tok;
  if (size >= 4 && std::string_view(reinterpret_cast<const char*>(data), 4) == "GGUF") {
    auto g = io::GgufFile::parse(data, size, "fuzz.gguf");
    if (!g.is_ok()) return 0;
    auto t = tok::tokenizer_from_gguf(**g);
    if (!t.is_ok()) {
      if (t.status().message().empty()) __builtin_trap();
      return 0;
    }
    tok = *t;
  } else {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto m = tok::SpmModel::from_model_proto(bytes, "fuzz.model");
    if (!m.is_ok()) {
      if (m.status().message().find("fuzz.model") == std::string::npos) __builtin_trap();
      return 0;
    }
    auto t = tok::TokenizerFactory::wrap(std::move(*m), "fuzz.model");
    if (!t.is_ok()) return 0;
    tok = *t;
  }
  static const char* const kSamples[] = {"",
                                         " ",
                                         "Hello world",
                                         "<s>a</s>  b\n\n\t",
                                         "caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80",
                                         "\xFF\xFE invalid \xC3"};
  for (const char* s : kSamples) {
    for (bool special : {false, true}) {
      EncodeOptions o;
      o.parse_special = special;
      o.add_special = special;
      auto ids = tok->encode(s, o);
      if (!ids.is_ok()) continue;
      for (int32_t id : *ids)
        if (id < 0 || size_t(id) >= tok->vocab_size()) __builtin_trap();
      auto whole = tok->decode(*ids);
      if (!whole.is_ok()) __builtin_trap();
      StreamingDetokenizer stream(*tok);
      std::string streamed;
      for (int32_t id : *ids) {
        auto p = stream.push(id);
        if (!p.is_ok()) __builtin_trap();
        streamed += *p;
      }
      streamed += stream.flush();
      if (streamed != *whole) __builtin_trap();
    }
  }
  for (size_t i = 0; i < tok->vocab_size() && i < 4096; ++i) {
    (void)tok->token_to_piece(int32_t(i));
    (void)tok->token_id(tok->token_text(int32_t(i)));
  }
  return 0;
}
