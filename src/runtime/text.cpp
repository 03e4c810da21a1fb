#include "runtime/text.hpp"

#include <algorithm>

#include "llmkit/tokenizer.hpp"
#include "runtime/model_impl.hpp"

namespace llmkit::runtime {

Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const io::ModelDescription& desc) {
  // GGUF: the vocabulary is in the file's metadata. HF folder: tokenizer.json / tokenizer.model.
  if (desc.format == io::SourceFormat::kSafetensors && desc.tokenizer_json.empty() &&
      desc.tokenizer_model.empty())
    return std::shared_ptr<const Tokenizer>();  // weights only: token-id APIs still work
  auto t = Tokenizer::load(desc.path);
  if (!t) return Status(t.status().code(), "tokenizer: " + t.status().message());
  return std::shared_ptr<const Tokenizer>(std::move(t).value());
}

Result<std::vector<int32_t>> encode_prompt(const Model& model, std::string_view text) {
  const Tokenizer* tok = model.tokenizer();
  if (!tok)
    return Status(StatusCode::kUnsupported,
                  model.info().path + ": the model has no tokenizer; pass token ids");
  EncodeOptions eo;
  eo.add_special = true;    // BOS per the file's policy
  eo.add_eos = false;       // a prompt never ends with EOS
  eo.parse_special = true;  // chat markup such as <|im_start|> becomes control tokens
  return tok->encode(text, eo);
}

std::vector<int32_t> end_of_generation_ids(const Model& model) {
  std::vector<int32_t> ids;
  if (const Tokenizer* tok = model.tokenizer()) ids = tok->end_of_generation_ids();
  const auto& hp = model.impl().desc->hparams;
  if (hp.eos_token_id != UINT32_MAX &&
      std::find(ids.begin(), ids.end(), int32_t(hp.eos_token_id)) == ids.end())
    ids.push_back(static_cast<int32_t>(hp.eos_token_id));
  return ids;
}

struct TextStream::State {
  std::unique_ptr<StreamingDetokenizer> detok;
};

TextStream::TextStream(const Model& model, bool at_document_start)
    : state_(std::make_unique<State>()) {
  if (const Tokenizer* tok = model.tokenizer()) {
    DecodeOptions o;
    o.skip_special = true;  // control tokens are not text
    o.strip_leading_space = at_document_start;
    state_->detok = std::make_unique<StreamingDetokenizer>(*tok, o);
  }
}
TextStream::~TextStream() = default;

std::string TextStream::push(int32_t token) {
  if (!state_->detok) return "";
  auto r = state_->detok->push(token);
  return r ? std::move(r).value() : std::string();
}

std::string TextStream::flush() { return state_->detok ? state_->detok->flush() : std::string(); }

}  // namespace llmkit::runtime
