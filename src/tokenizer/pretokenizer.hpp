// Pre-tokenizers for BPE models: the text -> word splitting that runs before the merge loop.
//
// The pipeline mirrors Hugging Face `tokenizers` semantics (Split with the five delimiter
// behaviors and `invert`, ByteLevel, Metaspace, Digits, Punctuation, Whitespace,
// WhitespaceSplit); llama.cpp's GGUF `tokenizer.ggml.pre` names map onto sequences of Isolated
// regex splits (pretokenizer_for_gguf_pre). Regexes are Unicode-aware PCRE2 patterns compiled
// with JIT; invalid UTF-8 in the input never matches a pattern and so ends up in the gaps, where
// byte-level BPE still encodes it byte by byte.
//
// Thread-safety: a built PreTokenizer is immutable; run() may be called concurrently (match data
// and JIT stacks are per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit::tok {

// A compiled PCRE2 pattern (UTF + UCP, JIT when available).
class Regex {
 public:
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // `what` names the pattern's origin for error messages ("tokenizer.json: pre_tokenizer...").
  static Result<std::shared_ptr<const Regex>> compile(std::string_view pattern,
                                                      const std::string& what);
  // A pattern matching LITERAL exactly.
  static Result<std::shared_ptr<const Regex>> literal(std::string_view literal,
                                                      const std::string& what);

  // Finds the leftmost non-empty match in SUBJECT at or after byte START. Returns 1 and sets
  // [*begin, *end) on a match, 0 when there is none, and -1 (with *err set) on a matcher error
  // such as an exhausted JIT stack.
  int find(std::string_view subject, size_t start, size_t* begin, size_t* end, Status* err) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
  std::string pattern_;
  std::string what_;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  Kind kind = Kind::kSplit;
  // kSplit (Split, Digits, Punctuation, Whitespace, WhitespaceSplit are all expressed as splits).
  std::shared_ptr<const Regex> regex;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  // kByteLevel
  bool add_prefix_space = false;
  bool use_regex = false;  // split with the GPT-2 pattern first (`regex` holds it)
  // kMetaspace
  std::string replacement = "\xE2\x96\x81";  // U+2581
  enum class Prepend { kAlways, kFirst, kNever } prepend = Prepend::kAlways;
  bool split = true;  // split on the replacement (MergedWithNext); `regex` holds the literal
};

// Receives each final piece. `byte_level` is true when the piece has already been mapped to the
// GPT-2 byte alphabet (only when split steps follow a ByteLevel step); otherwise the piece holds
// the original (normalized) bytes.
using PieceSink = void (*)(void* ctx, std::string_view piece, bool byte_level);

class PreTokenizer {
 public:
  std::vector<PreTokenizerStep> steps;

  bool has_byte_level() const;
  // Splits TEXT (already normalized). `at_start`: TEXT begins the user's input (Metaspace's
  // "first" prepend scheme only prepends there).
  Status run(std::string_view text, bool at_start, PieceSink sink, void* ctx) const;

 private:
  Status run_from(size_t step, std::string_view piece, bool at_origin, bool mapped, PieceSink sink,
                  void* ctx) const;
};

// The pattern HF's ByteLevel pre-tokenizer (use_regex) and GPT-2 use.
extern const char* const kGpt2Pattern;

// Builds the pipeline llama.cpp uses for `tokenizer.ggml.pre` = NAME: Isolated regex splits and a
// final ByteLevel step. An empty NAME selects "default" and sets *warning; an unknown NAME is an
// Unsupported error listing the known names. *ignore_merges is set for the Llama 3 family.
Result<PreTokenizer> pretokenizer_for_gguf_pre(const std::string& name, bool* ignore_merges,
                                               std::string* warning);

// Names pretokenizer_for_gguf_pre accepts (for messages and tests).
std::vector<std::string> known_gguf_pre_names();

}  // namespace llmkit::tok
