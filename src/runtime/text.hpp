// The runtime's only contact with the tokenizer API: prompt encoding, end-of-generation ids and
// incremental (UTF-8-complete) detokenization for streaming.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/model_description.hpp"
#include "llmkit/model.hpp"
#include "llmkit/status.hpp"

namespace llmkit::runtime {

// The tokenizer the model files carry (GGUF metadata or HF tokenizer files); nullptr when none.
Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const io::ModelDescription& desc);

// Encodes TEXT with the tokenizer's BOS setting and special tokens parsed.
Result<std::vector<int32_t>> encode_prompt(const Model& model, std::string_view text);

// Token ids that end a generation (EOS, EOT, <|im_end|>, <end_of_turn>, ...).
std::vector<int32_t> end_of_generation_ids(const Model& model);

// Turns generated ids into UTF-8-complete text pieces.
class TextStream {
 public:
  // AT_DOCUMENT_START: the text begins a document (context was only BOS), so a SentencePiece
  // leading space is dropped as in Tokenizer::decode; otherwise it continues the prompt.
  TextStream(const Model& model, bool at_document_start);
  ~TextStream();
  std::string push(int32_t token);
  std::string flush();  // whatever is left (incomplete UTF-8 replaced)

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llmkit::runtime
