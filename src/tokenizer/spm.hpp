// SentencePiece tokenizers.
//
// Two sources:
//  * tokenizer.model files: loaded as they are into the sentencepiece library (kept behind this
//    pImpl: no sentencepiece type leaves spm.cpp); encoding is sentencepiece's (normalizer, dummy
//    prefix, user-defined pieces, invalid UTF-8 -> U+FFFD) so `sentencepiece` is the reference.
//  * GGUF vocabularies with tokenizer.ggml.model = "llama": encoded by our own BPE over the
//    scores, which reproduces what sentencepiece's BPE model gives for the ModelProto these
//    vocabularies map to (gguf_model_spec(): byte fallback when <0xNN> tokens exist, identity
//    normalizer, no dummy prefix). sentencepiece itself is not used, for memory: with it (a
//    protobuf copy of the vocabulary, hash maps of string keys) the loaded Gemma 3 tokenizer
//    (262,144 pieces) took 84 MiB resident and peaked at 102 MiB while loading; without it, 9 MiB
//    and 27 MiB, 19 of them the GGUF reader's own copy of the metadata (docs/TOKENIZERS.md). The
//    algorithm, as sentencepiece's bpe_model.cc and sentencepiece_processor.cc define it:
//      - the run is cut into characters, except that the longest user-defined piece starting at a
//        position is taken whole and never merged (sentencepiece's prefix matcher);
//      - the adjacent pair whose concatenation is a normal, user-defined or unused piece with the
//        highest score is merged, leftmost on ties (control, unknown and byte pieces never merge);
//      - an unused piece in the result is split back into the two symbols it was merged from
//        (the last such pair seen for that piece), recursively;
//      - a symbol that is not a normal / user-defined / unused piece is unknown: its bytes become
//        <0xNN> tokens with byte fallback, else it is the unknown id, consecutive unknowns folded
//        into one. (A lone character spelled like a control piece is unknown too; sentencepiece
//        fails the whole call there.)
//    llama.cpp's SPM tokenizer is the same BPE, so the semantics llama.cpp adds around it live
//    here as well:
//      - the dummy-prefix space (tokenizer.ggml.add_space_prefix, default true) is prepended to
//        every text segment (after BOS and after every special/added token too), as llama.cpp and
//        Hugging Face's Prepend("▁") normalizer do;
//      - invalid UTF-8 is split as llama.cpp splits it (sequence length from the lead byte) and
//        each invalid sequence becomes its byte tokens, a barrier no merge crosses.
//    User-defined tokens are matched in raw text by the facade; GGUF converters store them with
//    spaces where the original piece had U+2581 ("  " for "▁▁"), so both spellings are offered
//    as added tokens (Hugging Face matches the U+2581 spelling, llama.cpp the spaces).
//
// Both sources keep the vocabulary lean: piece text in one buffer with offsets, one byte of type
// per piece, and an open-addressing table of 32-bit slots (a used bit, 7 hash bits, a 24-bit id)
// for lookups.
//
// Thread-safety: immutable after construction; encode() keeps its state on the stack and
// sentencepiece's Encode is const without shared mutable state, so encode() may run concurrently.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf.hpp"
#include "tokenizer/spm_proto.hpp"
#include "tokenizer/tokenizer_model.hpp"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace llmkit::tok {

class SpmModel final : public TokenizerModel {
 public:
  ~SpmModel() override;

  // A serialized ModelProto (tokenizer.model contents). CONFIG_JSON: tokenizer_config.json text
  // or empty (add_bos_token / add_eos_token override the default BOS-only policy).
  static Result<std::unique_ptr<SpmModel>> from_model_proto(std::string_view bytes,
                                                            const std::string& name,
                                                            std::string_view config_json = {});
  // A GGUF vocabulary with tokenizer.ggml.model == "llama".
  static Result<std::unique_ptr<SpmModel>> from_gguf(const io::GgufFile& gguf);

  Status encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const override;
  std::string token_bytes(int32_t id, bool render_special) const override;
  bool strips_leading_space() const override { return strips_leading_space_; }
  size_t vocab_size() const override { return offsets_.empty() ? 0 : offsets_.size() - 1; }
  std::string_view token_text(int32_t id) const override;
  TokenAttr token_attr(int32_t id) const override;
  int32_t find_token(std::string_view piece) const override;
  std::string kind() const override { return "spm"; }

  bool from_gguf_vocab() const { return gguf_mode_; }
  SpmModelType model_type() const { return model_type_; }

  // GGUF mode: the ModelProto whose sentencepiece BPE encoding of a segment (spaces escaped,
  // dummy prefix added, valid UTF-8) equals encode()'s. The tests load it with from_model_proto
  // to check the native encoder against the library.
  SpmModelSpec gguf_model_spec() const;

 private:
  SpmModel();
  Status init_processor(std::string_view serialized, const std::string& name);
  // Appends PIECE to the text buffer (ids in order).
  void add_text(std::string_view piece);
  // The lookup table's slot holding PIECE, or the empty slot where it would go.
  size_t slot_of(std::string_view piece) const;
  // Inserts id ID into the lookup table; returns the id already spelled the same, or -1.
  int32_t index_piece(int32_t id);
  void build_byte_ids();
  Status encode_run(std::string_view run, std::vector<int32_t>& out) const;
  Status encode_run_native(std::string_view run, std::vector<int32_t>& out) const;
  // Length of the longest user-defined piece that starts S (0 when none).
  size_t match_user_defined(std::string_view s) const;

  std::string_view text(size_t id) const {
    return std::string_view(text_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  SpmPieceType piece_type(size_t id) const { return SpmPieceType(types_[id]); }

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;  // tokenizer.model only
  std::string name_;
  std::string text_;               // every piece as stored in the source file, concatenated
  std::vector<uint32_t> offsets_;  // id -> start in text_; offsets_[n] = text_.size()
  std::vector<uint8_t> attrs_;     // id -> TokenAttr
  // id -> the SpmPieceType sentencepiece's ModelProto gives the piece (GGUF mode: the unknown
  // id is kUnknown whatever its token type, other unknown-typed tokens are kControl).
  std::vector<uint8_t> types_;
  std::vector<float> scores_;  // GGUF mode: id -> merge score
  // Open addressing, linear probing; a slot is 0 (empty) or 0x80000000 | hash bits << 24 | id.
  std::vector<uint32_t> slots_;
  std::array<int32_t, 256> byte_ids_{};  // byte -> <0xNN> id or -1
  // GGUF mode: user-defined piece ids sorted by text (the prefix matcher), and which bytes start
  // one.
  std::vector<int32_t> user_defined_;
  std::array<bool, 256> user_defined_first_{};
  size_t max_merge_len_ = 0;  // longest normal / user-defined / unused piece, in bytes
  bool byte_fallback_ = false;
  SpmModelType model_type_ = SpmModelType::kBpe;
  bool gguf_mode_ = false;
  bool add_space_prefix_ = false;  // GGUF mode: prepend " " to every segment
  bool strips_leading_space_ = false;
};

// Convenience wrappers returning the interface type.
Result<std::unique_ptr<TokenizerModel>> make_spm_from_gguf(const io::GgufFile& gguf);
// Reads PATH (a tokenizer.model) and, when CONFIG_PATH is not empty, tokenizer_config.json.
Result<std::unique_ptr<TokenizerModel>> load_spm_model_file(const std::string& path,
                                                            const std::string& config_path = {});

}  // namespace llmkit::tok
