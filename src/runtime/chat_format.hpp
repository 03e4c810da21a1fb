// Chat formats: recognising a model's chat template and rendering conversations.
//
// The template (Jinja text from GGUF tokenizer.chat_template or tokenizer_config.json) is matched
// to a known family by its markers; no Jinja is evaluated. Each family's renderer reproduces what
// the reference template produces for plain system/user/assistant messages. A full Jinja engine can
// later implement render_chat for arbitrary templates behind the same Model API.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmkit/model.hpp"
#include "llmkit/status.hpp"

namespace llmkit::runtime {

struct ChatSpec {
  ChatFormat format = ChatFormat::kNone;
  std::string default_system;  // system prompt the template inserts when none is given (ChatML)
};

// TEMPLATE may be absent; then ARCHITECTURE decides for families with a single format (gemma3).
Result<ChatSpec> detect_chat_format(const std::optional<std::string>& tmpl,
                                    const std::string& architecture);

// Renders MESSAGES without BOS (see Model::apply_chat_template).
Result<std::string> render_chat(const ChatSpec& spec, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt);

const char* chat_format_name(ChatFormat f) noexcept;

}  // namespace llmkit::runtime
