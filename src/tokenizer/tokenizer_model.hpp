// Internal interface between the public Tokenizer facade (src/tokenizer/tokenizer.cpp) and the
// algorithm implementations (SentencePiece: spm.cpp; byte-level / SPM-style BPE: bpe.cpp,
// tokenizer_json.cpp). The facade owns special-token splitting (parse_special), BOS/EOS policy
// and streaming detokenization; a TokenizerModel only turns plain text into ids and back.
//
// Thread-safety: implementations are immutable after construction; encode/decode are const and
// must be safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit::tok {

// Values as stored in GGUF `tokenizer.ggml.token_type` (llama.cpp's llama_token_type).
enum class TokenAttr : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // special tokens: <s>, </s>, <|im_start|>...
  kUserDefined = 4,  // added tokens matched verbatim before the model runs
  kUnused = 5,
  kByte = 6,  // <0xNN> byte-fallback tokens
};

// An added token (tokenizer.json "added_tokens", or GGUF control/user-defined tokens).
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = true;  // recognised in input only with parse_special
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
};

struct SpecialIds {
  int32_t bos = -1, eos = -1, eot = -1, pad = -1, unk = -1;
  bool add_bos = false;
  bool add_eos = false;
  std::vector<int32_t> end_of_generation;  // eos, eot, <|im_end|>, <end_of_turn>... (deduplicated)
};

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;

  // Appends the ids for TEXT, which holds no special tokens (the facade has split them out).
  // `at_start` is true when TEXT begins the input (SPM adds its dummy-prefix space only there).
  virtual Status encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const = 0;

  // The raw bytes token ID stands for, as it appears in decoded text: byte-level BPE pieces are
  // mapped back to bytes, SPM's U+2581 becomes a space, <0xNN> becomes the byte 0xNN, control
  // tokens yield their text only if `render_special`.
  virtual std::string token_bytes(int32_t id, bool render_special) const = 0;

  // True when decoding should drop one leading space from the first decoded token (SPM models
  // with add_dummy_prefix / a Prepend("▁") normalizer).
  virtual bool strips_leading_space() const = 0;

  virtual size_t vocab_size() const = 0;
  virtual std::string_view token_text(int32_t id) const = 0;  // the piece as stored in the vocab
  virtual TokenAttr token_attr(int32_t id) const = 0;
  virtual int32_t find_token(std::string_view piece) const = 0;  // -1 when absent
  virtual std::string kind() const = 0;                          // "spm", "bpe", "spm-bpe", ...

  // Added tokens the facade must split out before calling encode(), and the special ids.
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  const SpecialIds& special_ids() const { return special_; }

 protected:
  std::vector<AddedToken> added_;
  SpecialIds special_;
};

}  // namespace llmkit::tok
