// llmkit — tokenizers: text <-> token ids for the models llmkit runs.
//
// A Tokenizer comes from a GGUF file's embedded vocabulary (SentencePiece `llama` or byte-level
// BPE `gpt2`), a SentencePiece `tokenizer.model`, a Hugging Face `tokenizer.json`, or an HF folder
// holding either. It reproduces the reference tokenizers id for id: Hugging Face `tokenizers` for
// tokenizer.json, llama.cpp (and HF's tokenizer.json for the same vocabulary, e.g. Gemma 3) for
// GGUF vocabularies, `sentencepiece` for tokenizer.model files; docs/TOKENIZERS.md lists where they
// differ.
//
// Special tokens: text such as "<|im_start|>" or "<s>" in user input is ordinary text unless
// EncodeOptions::parse_special is set (a prompt-injection safeguard); non-special added tokens
// (e.g. Gemma's "\n\n" or "<h1>") are always recognised, as the references do. BOS/EOS are added
// only when asked (EncodeOptions::add_special or an explicit add_bos/add_eos).
//
// Thread-safety: a Tokenizer is immutable after load; every const method may be called from any
// number of threads concurrently. Share it as std::shared_ptr<const Tokenizer>.
// A StreamingDetokenizer holds per-stream state: use one per stream and thread.
//
// Errors are returned as Status/Result (never thrown); messages name the file and field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit {

namespace tok {
class TokenizerFactory;  // internal: builds Tokenizers from model files
}

struct EncodeOptions {
  // Add BOS/EOS as the tokenizer file prescribes (GGUF add_bos_token/add_eos_token, HF
  // post-processor / tokenizer_config.json). False: no BOS/EOS at all.
  bool add_special = false;
  // Explicit overrides; when set they win over add_special and the file's policy.
  std::optional<bool> add_bos;
  std::optional<bool> add_eos;
  // Recognise special (control) token text such as "<|im_end|>" in the input.
  bool parse_special = false;
};

struct DecodeOptions {
  // Drop control/unknown tokens (BOS, EOS, <|im_end|>, ...) instead of rendering their text.
  bool skip_special = false;
  // SentencePiece-style tokenizers prepend a space to the input when encoding; decoding drops one
  // leading space from the result (Hugging Face semantics). Set false when the ids continue
  // earlier text (e.g. generated tokens after a prompt) and the space must be kept.
  bool strip_leading_space = true;
  // Byte tokens may spell invalid UTF-8. By default such bytes become U+FFFD (one per maximal
  // invalid subsequence, as Python's errors="replace"); true returns the raw bytes.
  bool keep_invalid_utf8 = false;
};

class Tokenizer {
 public:
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // PATH: a GGUF file, a SentencePiece tokenizer.model, a tokenizer.json, or a folder holding
  // tokenizer.json (preferred) or tokenizer.model (+ tokenizer_config.json for the BOS/EOS policy).
  static Result<std::shared_ptr<const Tokenizer>> load(const std::string& path);

  Result<std::vector<int32_t>> encode(std::string_view text,
                                      const EncodeOptions& options = {}) const;
  // Fails (InvalidArgument) on an id outside [0, vocab_size()).
  Result<std::string> decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;

  // The piece as stored in the vocabulary ("▁Hello", "<0x0A>", "<s>"); "" if out of range.
  std::string token_text(int32_t id) const;
  // The bytes ID stands for in decoded text (" Hello", "\n", "<s>" or "" for control tokens when
  // !render_special). May be an incomplete UTF-8 sequence; no leading-space stripping.
  std::string token_to_piece(int32_t id, bool render_special = true) const;
  // Id of a piece as stored in the vocabulary, or -1.
  int32_t token_id(std::string_view piece) const;

  size_t vocab_size() const noexcept;
  // Special ids from the file; -1 when the tokenizer has none.
  int32_t bos_id() const noexcept;
  int32_t eos_id() const noexcept;
  int32_t eot_id() const noexcept;  // end of turn (<|eot_id|>, <end_of_turn>, <|im_end|>...)
  int32_t pad_id() const noexcept;
  int32_t unk_id() const noexcept;
  // The file's policy, applied when EncodeOptions::add_special is set.
  bool add_bos_by_default() const noexcept;
  bool add_eos_by_default() const noexcept;

  bool is_special(int32_t id) const noexcept;  // control or unknown token
  bool is_control(int32_t id) const noexcept;
  bool is_byte(int32_t id) const noexcept;  // <0xNN> byte-fallback token
  // Ids that end a generation: EOS, EOT and end-of-turn markers the vocabulary defines.
  const std::vector<int32_t>& end_of_generation_ids() const noexcept;
  bool is_end_of_generation(int32_t id) const noexcept;

  // "spm" (SentencePiece via the sentencepiece library), "spm-bpe" (SentencePiece-style BPE from
  // tokenizer.json) or "bpe" (byte-level BPE).
  std::string kind() const;
  // Where the tokenizer came from (file or folder path).
  const std::string& source() const noexcept;

 private:
  friend class tok::TokenizerFactory;
  friend class StreamingDetokenizer;
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Incremental detokenization for streaming output. push() returns only complete UTF-8 (never a
// partial code point); flush() returns what is held back (an incomplete sequence as U+FFFD) and
// resets. The concatenation of all push() results and flush() equals
// Tokenizer::decode(all ids, options), leading-space rule included.
// The Tokenizer must outlive the detokenizer. Not thread-safe (one per stream).
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, const DecodeOptions& options = {});
  ~StreamingDetokenizer();
  StreamingDetokenizer(StreamingDetokenizer&&) noexcept;
  StreamingDetokenizer& operator=(StreamingDetokenizer&&) noexcept;

  // Fails (InvalidArgument) on an out-of-range id; the state is then unchanged.
  Result<std::string> push(int32_t id);
  std::string flush();
  void reset();  // forget held bytes and start a new stream

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llmkit
