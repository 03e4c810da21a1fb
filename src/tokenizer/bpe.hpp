// Merge-rank BPE: byte-level (GPT-2 family: Llama 3, Qwen2/3, DeepSeek, Falcon, StarCoder,
// SmolLM, ...) and character-level with byte fallback (SentencePiece-style BPE expressed in
// tokenizer.json: Llama 2, Mistral, Phi-3, Gemma).
//
// Algorithm (per pre-tokenized word): initial symbols are the word's bytes (byte-level) or UTF-8
// characters (character level; unknown characters become <0xNN> byte tokens or <unk>). Adjacent
// pairs are merged lowest merge rank first, leftmost first on ties — the order Hugging Face
// `tokenizers` and llama.cpp use. Short words use a linear scan, long ones a binary heap over a
// linked list of symbols, so a huge unsplit segment (SPM-style models have no pre-tokenizer)
// stays O(n log n).
//
// Thread-safety: a BpeModel is immutable after construction except for its word cache, which is
// sharded and mutex-protected; encode()/token_bytes() may be called concurrently.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/gguf.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer_model.hpp"

namespace llmkit::tok {

// One normalizer of a tokenizer.json "normalizer" (Sequence flattened).
struct NormalizerStep {
  enum class Kind { kNfc, kPrepend, kReplace, kStrip };
  Kind kind = Kind::kNfc;
  std::string text;                    // kPrepend: the prefix; kReplace: the replacement
  std::shared_ptr<const Regex> regex;  // kReplace: the pattern (literals compiled escaped)
  bool strip_left = false, strip_right = false;  // kStrip
};

struct BpeConfig {
  std::string name;                 // file name, used in messages
  std::vector<std::string> tokens;  // id -> piece as stored in the vocabulary
  std::vector<TokenAttr> attrs;     // id -> attribute (same size as tokens)
  // Merges in rank order, as (left piece, right piece).
  std::vector<std::pair<std::string, std::string>> merges;
  // GGUF (llama.cpp) silently skips merges naming unknown pieces; tokenizer.json (HF) rejects them.
  bool strict_merges = true;
  bool byte_level = false;     // pieces are in the GPT-2 byte alphabet
  bool byte_fallback = false;  // unknown characters -> <0xNN> tokens
  bool ignore_merges = false;  // a word that is itself a token is emitted as is
  bool fuse_unk = false;
  int32_t unk_id = -1;
  std::vector<NormalizerStep> normalizers;
  PreTokenizer pre;
  bool strips_leading_space = false;
  std::vector<AddedToken> added;
  SpecialIds special;
};

class BpeModel final : public TokenizerModel {
 public:
  // Validates CONFIG (ids, merges, sizes) and builds the lookup tables.
  static Result<std::unique_ptr<BpeModel>> create(BpeConfig config);
  ~BpeModel() override;

  Status encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const override;
  std::string token_bytes(int32_t id, bool render_special) const override;
  bool strips_leading_space() const override { return strips_leading_space_; }
  size_t vocab_size() const override { return tokens_.size(); }
  std::string_view token_text(int32_t id) const override;
  TokenAttr token_attr(int32_t id) const override;
  int32_t find_token(std::string_view piece) const override;
  std::string kind() const override { return byte_level_ ? "bpe" : "spm-bpe"; }

  // Merge statistics, for tests and `inspect`.
  size_t merge_count() const { return merge_count_; }
  size_t skipped_merges() const { return skipped_merges_; }
  // Encodes one pre-tokenized word (raw bytes for byte-level models), bypassing normalizers,
  // pre-tokenizer and cache. For tests and fuzzing.
  void encode_word_uncached(std::string_view word, std::vector<int32_t>& out) const;

 private:
  BpeModel() = default;
  struct SvHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, int32_t, SvHash, std::equal_to<>>;

  // Open-addressing table: (left id, right id) -> (rank, merged id).
  struct MergeTable {
    std::vector<uint64_t> keys;  // (left << 32 | right) + 1; 0 = empty
    std::vector<uint64_t> vals;  // rank << 32 | merged id
    uint64_t mask = 0;
    void init(size_t n);
    bool insert(uint64_t key, uint32_t rank, uint32_t id, bool overwrite);
    bool find(uint32_t left, uint32_t right, uint32_t* rank, uint32_t* id) const;
  };

  class WordCache;

  void encode_word(std::string_view word, bool mapped, std::vector<int32_t>& out) const;
  void initial_symbols(std::string_view word, std::vector<int32_t>& ids) const;
  void merge_symbols(std::vector<int32_t>& ids) const;
  Status normalize(std::string_view text, std::string& out, bool* changed) const;

  std::string name_;
  std::vector<std::string> tokens_;
  std::vector<TokenAttr> attrs_;
  std::vector<std::string> decoded_;  // id -> bytes for token_bytes()
  PieceMap piece_to_id_;
  PieceMap raw_to_id_;  // byte-level: raw bytes -> id (for ignore_merges)
  MergeTable merges_;
  size_t merge_count_ = 0, skipped_merges_ = 0;
  std::array<int32_t, 256> byte_ids_{};  // byte-level: byte -> id; else <0xNN> -> id
  bool byte_level_ = false, byte_fallback_ = false, ignore_merges_ = false, fuse_unk_ = false;
  int32_t unk_id_ = -1;
  std::vector<NormalizerStep> normalizers_;
  PreTokenizer pre_;
  bool strips_leading_space_ = false;
  std::unique_ptr<WordCache> cache_;
};

// GGUF vocabulary with tokenizer.ggml.model = "gpt2": tokens, token_type, merges and the
// pre-tokenizer named by tokenizer.ggml.pre (pretokenizer_for_gguf_pre; a missing name falls back
// to "default" and *warning is set, an unknown one is an error).
Result<std::unique_ptr<TokenizerModel>> make_bpe_from_gguf(const io::GgufFile& gguf,
                                                           std::string* warning = nullptr);

// Fills special.eot (when unset) and special.end_of_generation from the ids already in SPECIAL
// and from well-known end-of-turn pieces among control / user-defined tokens.
void fill_end_of_generation(const std::vector<std::string>& tokens,
                            const std::vector<TokenAttr>& attrs, SpecialIds& special);
// The same over a vocabulary held elsewhere: LOOKUP(piece) is the id of the control or user-defined
// token spelled PIECE (the lowest such id), or -1.
void fill_end_of_generation(const std::function<int32_t(std::string_view)>& lookup,
                            SpecialIds& special);

// GGUF vocabularies (BPE and WordPiece): tokenizer.ggml.token_type as TokenAttr for N tokens
// (all kNormal when the key is absent; a wrong length or type is a CorruptFile error naming FILE),
// and the control / user-defined tokens as added tokens (control = special).
Result<std::vector<TokenAttr>> gguf_token_attrs(const io::GgufFile& g, size_t n,
                                                const std::string& file);
std::vector<AddedToken> gguf_added_tokens(const std::vector<std::string>& tokens,
                                          const std::vector<TokenAttr>& attrs);

// Quotes a piece for an error message: escapes control and non-UTF-8 bytes, truncates.
std::string quote_piece(std::string_view piece);

}  // namespace llmkit::tok
