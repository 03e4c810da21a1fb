// Internal definition of Model::Impl, shared by the runtime sources (not a public header).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "io/model_description.hpp"
#include "llmkit/model.hpp"
#include "models/arch_registry.hpp"
#include "models/decoder.hpp"

namespace llmkit {

struct Model::Impl {
  std::shared_ptr<const io::ModelDescription> desc;
  models::ArchConfig arch;
  std::unique_ptr<models::Decoder> decoder;
  std::shared_ptr<const Tokenizer> tokenizer;  // null only when the file carries no tokenizer
  ModelInfo info;
  std::optional<std::string> chat_template;
};

}  // namespace llmkit
