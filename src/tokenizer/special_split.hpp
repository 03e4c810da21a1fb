// Splitting input text on added / special tokens before the tokenizer model runs.
//
// Semantics follow Hugging Face's AddedVocabulary: matches are found leftmost-longest over the raw
// text (a byte trie); `lstrip` / `rstrip` extend a match over adjacent Unicode whitespace (never
// into a previous match); a `single_word` token only matches between non-word characters (ASCII
// alphanumerics, '_' and any non-ASCII byte count as word characters), and a failed single-word
// match leaves its text to the model. Which tokens take part is the caller's choice (all added
// tokens with parse_special, only the non-special ones without).
//
// Thread-safety: immutable after construction; split() may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer_model.hpp"

namespace llmkit::tok {

// One piece of split input: an added token (token >= 0) or the text [begin, end) of the input.
struct TextPiece {
  int32_t token = -1;
  size_t begin = 0, end = 0;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // Matches the tokens of TOKENS with `special` false, and the special ones too when
  // INCLUDE_SPECIAL. Empty contents are ignored; for duplicate contents the first token wins.
  AddedTokenMatcher(const std::vector<AddedToken>& tokens, bool include_special);

  bool empty() const { return tokens_.empty(); }
  // Appends TEXT's pieces in order; text pieces are never empty.
  void split(std::string_view text, std::vector<TextPiece>& out) const;

 private:
  struct Entry {
    int32_t id;
    uint32_t length;
    bool lstrip, rstrip, single_word;
  };
  int32_t child(int32_t node, uint8_t byte) const;

  std::vector<Entry> tokens_;
  std::vector<int32_t> terminal_;                // node -> index into tokens_, or -1
  std::array<int32_t, 256> root_{};              // root's children (hot path), -1 = none
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child, below the root
};

// Byte length of the Unicode whitespace character starting at / ending at byte POS of S (0 when
// there is none). White_Space as Rust's char::is_whitespace defines it.
size_t whitespace_len_at(std::string_view s, size_t pos);
size_t whitespace_len_before(std::string_view s, size_t pos);

}  // namespace llmkit::tok
