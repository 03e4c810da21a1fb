// Internal construction of llmkit::Tokenizer from model sources (keeps io:: types out of the
// public header). Tokenizer::load(path) uses these too.
#pragma once

#include <memory>
#include <string>

#include "io/gguf.hpp"
#include "io/model_description.hpp"
#include "llmkit/tokenizer.hpp"
#include "tokenizer/tokenizer_model.hpp"

namespace llmkit::tok {

class TokenizerFactory {
 public:
  // Wraps MODEL (built by spm.cpp / bpe.cpp / tokenizer_json.cpp). SOURCE names it in messages.
  // EXTRA_EOG: more end-of-generation ids (generation_config.json), out-of-range ones dropped.
  static Result<std::shared_ptr<const Tokenizer>> wrap(std::unique_ptr<TokenizerModel> model,
                                                       std::string source,
                                                       const std::vector<int32_t>& extra_eog = {},
                                                       std::vector<std::string> warnings = {});
};

// The vocabulary embedded in a GGUF file: tokenizer.ggml.model "llama" (SentencePiece) or
// "gpt2" (byte-level BPE). Other tokenizer types are Unsupported; none at all is NotFound.
Result<std::shared_ptr<const Tokenizer>> tokenizer_from_gguf(const io::GgufFile& gguf);

// The tokenizer a model description carries: its GGUF, or the HF folder's tokenizer.json
// (preferred) / tokenizer.model with tokenizer_config.json and generation_config.json.
Result<std::shared_ptr<const Tokenizer>> tokenizer_from_model_description(
    const io::ModelDescription& desc);

// An HF-style folder (tokenizer files only are enough; no weights needed).
Result<std::shared_ptr<const Tokenizer>> tokenizer_from_folder(const std::string& dir);

}  // namespace llmkit::tok
