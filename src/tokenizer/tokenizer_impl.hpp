// The state behind llmkit::Tokenizer (include/llmkit/tokenizer.hpp), shared by the facade
// (tokenizer.cpp) and the streaming detokenizer (streaming_detokenizer.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "llmkit/tokenizer.hpp"
#include "tokenizer/special_split.hpp"
#include "tokenizer/tokenizer_model.hpp"

namespace llmkit {

struct Tokenizer::Impl {
  std::unique_ptr<tok::TokenizerModel> model;
  tok::AddedTokenMatcher all_added;    // parse_special: every added token
  tok::AddedTokenMatcher plain_added;  // default: non-special added tokens only
  std::string source;
  std::vector<int32_t> end_of_generation;  // model's list + generation_config.json eos ids
  std::vector<std::string> warnings;       // e.g. an unnamed GGUF pre-tokenizer

  bool in_range(int32_t id) const { return id >= 0 && size_t(id) < model->vocab_size(); }
  bool skipped(int32_t id, const DecodeOptions& o) const {
    if (!o.skip_special) return false;
    tok::TokenAttr a = model->token_attr(id);
    return a == tok::TokenAttr::kControl || a == tok::TokenAttr::kUnknown;
  }
  // The bytes ID contributes to decode() under O (before leading-space stripping).
  std::string piece(int32_t id, const DecodeOptions& o) const {
    if (skipped(id, o)) return {};
    return model->token_bytes(id, !o.skip_special);
  }
  bool strips(const DecodeOptions& o) const {
    return o.strip_leading_space && model->strips_leading_space();
  }
};

}  // namespace llmkit
