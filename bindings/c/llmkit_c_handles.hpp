// The structs behind the opaque handles of llmkit.h (internal to the shared library).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/model_description.hpp"
#include "llmkit.h"
#include "llmkit/model.hpp"
#include "llmkit/session.hpp"

namespace llmkit {
class Tokenizer;
}

struct llmkit_model {
  std::shared_ptr<const llmkit::Model> model;
  std::shared_ptr<const llmkit::io::ModelDescription> desc;  // metadata by key, memory estimate
};

struct llmkit_tokenizer {
  std::shared_ptr<const llmkit::Model> model;        // set when it came from a model (keeps it alive)
  std::shared_ptr<const llmkit::Tokenizer> owned;    // set when loaded on its own
  const llmkit::Tokenizer* tok = nullptr;            // the one to use
};

struct llmkit_session {
  std::shared_ptr<const llmkit::Model> model;
  std::unique_ptr<llmkit::Session> session;
  std::string last_text;               // text of the last generate call
  std::vector<int32_t> last_tokens;    // ids of the last generate call
  llmkit_timings last_timings{};       // of the last evaluate/generate call
};
