#include "runtime/text.hpp"

#include <algorithm>

#include "runtime/model_impl.hpp"

namespace llmkit::runtime {

// NOTE: the tokenizer library (include/llmkit/tokenizer.hpp) is being written in parallel; until it
// lands, models load without a tokenizer and only the token-id APIs work.

Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const io::ModelDescription& desc) {
  (void)desc;
  return std::shared_ptr<const Tokenizer>();
}

Result<std::vector<int32_t>> encode_prompt(const Model& model, std::string_view text) {
  (void)text;
  return Status(StatusCode::kUnsupported, model.info().path + ": no tokenizer available for text prompts");
}

std::vector<int32_t> end_of_generation_ids(const Model& model) {
  std::vector<int32_t> ids;
  const auto& hp = model.impl().desc->hparams;
  if (hp.eos_token_id != UINT32_MAX) ids.push_back(static_cast<int32_t>(hp.eos_token_id));
  return ids;
}

struct TextStream::State {};
TextStream::TextStream(const Model& model) : state_(std::make_unique<State>()) { (void)model; }
TextStream::~TextStream() = default;
std::string TextStream::push(int32_t token) {
  (void)token;
  return "";
}
std::string TextStream::flush() { return ""; }

}  // namespace llmkit::runtime
