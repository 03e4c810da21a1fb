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

// The public handle types (llmkit_model, ...) stay incomplete in every translation unit: the data
// lives in these differently named structs and pointers are converted with H(). That keeps the
// ABI corpus (abidw) free of internal layouts, so changing them is not an ABI change.
namespace llmkit::capi {

struct ModelHandle {
  std::shared_ptr<const llmkit::Model> model;
  std::shared_ptr<const llmkit::io::ModelDescription> desc;  // metadata by key, memory estimate
};

struct TokenizerHandle {
  std::shared_ptr<const llmkit::Model> model;      // set when it came from a model (keeps it alive)
  std::shared_ptr<const llmkit::Tokenizer> owned;  // set when loaded on its own
  const llmkit::Tokenizer* tok = nullptr;          // the one to use
};

struct SessionHandle {
  std::shared_ptr<const llmkit::Model> model;
  std::unique_ptr<llmkit::Session> session;
  std::string last_text;             // text of the last generate call
  std::vector<int32_t> last_tokens;  // ids of the last generate call
  llmkit_timings last_timings{};     // of the last evaluate/generate call
};

#define LLMKIT_HANDLE_CAST(Pub, Priv)                                             \
  inline Priv* H(Pub* p) { return reinterpret_cast<Priv*>(p); }                   \
  inline const Priv* H(const Pub* p) { return reinterpret_cast<const Priv*>(p); } \
  inline Pub* to_public(Priv* p) { return reinterpret_cast<Pub*>(p); }
LLMKIT_HANDLE_CAST(llmkit_model, ModelHandle)
LLMKIT_HANDLE_CAST(llmkit_tokenizer, TokenizerHandle)
LLMKIT_HANDLE_CAST(llmkit_session, SessionHandle)
#undef LLMKIT_HANDLE_CAST

}  // namespace llmkit::capi
