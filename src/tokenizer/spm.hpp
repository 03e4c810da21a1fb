// SentencePiece tokenizers through the sentencepiece library (kept behind this pImpl: no
// sentencepiece type leaves spm.cpp).
//
// Two sources:
//  * tokenizer.model files: loaded as they are; encoding is sentencepiece's (normalizer, dummy
//    prefix, user-defined pieces, invalid UTF-8 -> U+FFFD) so `sentencepiece` is the reference.
//  * GGUF vocabularies with tokenizer.ggml.model = "llama": we encode a ModelProto (BPE over the
//    scores, byte fallback when <0xNN> tokens exist, identity normalizer, no dummy prefix) and load
//    it with LoadFromSerializedProto. llama.cpp's SPM tokenizer merges the highest-scoring adjacent
//    pair first, leftmost on ties, and resegments unknown symbols into byte tokens — exactly
//    sentencepiece's BPE model — so the semantics llama.cpp adds around it live here:
//      - the dummy-prefix space (tokenizer.ggml.add_space_prefix, default true) is prepended to
//        every text segment (after BOS and after every special/added token too), as llama.cpp and
//        Hugging Face's Prepend("▁") normalizer do;
//      - invalid UTF-8 is split as llama.cpp splits it (sequence length from the lead byte) and
//        each invalid sequence becomes its byte tokens, a barrier no merge crosses.
//    User-defined tokens are matched in raw text by the facade; GGUF converters store them with
//    spaces where the original piece had U+2581 ("  " for "▁▁"), so both spellings are offered
//    as added tokens (Hugging Face matches the U+2581 spelling, llama.cpp the spaces).
//
// Thread-safety: immutable after construction; sentencepiece's Encode is const and keeps no
// shared mutable state, so encode() may run concurrently.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
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
  size_t vocab_size() const override { return text_.size(); }
  const std::string& token_text(int32_t id) const override;
  TokenAttr token_attr(int32_t id) const override;
  int32_t find_token(std::string_view piece) const override;
  std::string kind() const override { return "spm"; }

  bool from_gguf_vocab() const { return gguf_mode_; }
  SpmModelType model_type() const { return model_type_; }

 private:
  SpmModel();
  Status init_processor(std::string_view serialized, const std::string& name);
  void build_lookup();
  Status encode_run(std::string_view run, std::vector<int32_t>& out) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string name_;
  std::vector<std::string> text_;  // id -> piece as stored in the source file
  std::vector<TokenAttr> attrs_;
  std::unordered_map<std::string_view, int32_t> piece_to_id_;  // views into text_
  std::array<int32_t, 256> byte_ids_{};                        // byte -> <0xNN> id or -1
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
