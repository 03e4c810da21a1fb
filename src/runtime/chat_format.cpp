#include "runtime/chat_format.hpp"

#include <cstdio>

namespace llmkit::runtime {

namespace {

// FNV-1a, to name an unrecognised template compactly in error messages.
std::string short_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string printable_prefix(const std::string& s, size_t n) {
  std::string r;
  for (size_t i = 0; i < s.size() && r.size() < n; ++i) {
    const char c = s[i];
    if (c == '\n')
      r += "\\n";
    else
      r += c;
  }
  return r;
}

// ChatML templates often insert a default system message for conversations without one:
//   {{ '<|im_start|>system\nYou are ...<|im_end|>\n' }}   (newline as "\n" escape or literal)
std::string chatml_default_system(const std::string& t) {
  for (const std::string& marker :
       {std::string("<|im_start|>system\\n"), std::string("<|im_start|>system\n")}) {
    size_t p = t.find(marker);
    while (p != std::string::npos) {
      const size_t start = p + marker.size();
      const size_t end = t.find("<|im_end|>", start);
      if (end == std::string::npos) break;
      std::string body = t.substr(start, end - start);
      // A literal default (not the message-content expression).
      if (body.find("{{") == std::string::npos && body.find("{%") == std::string::npos &&
          body.find("message") == std::string::npos && body.find('\'') == std::string::npos) {
        std::string out;
        for (size_t i = 0; i < body.size(); ++i) {
          if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == 'n') {
            out += '\n';
            ++i;
          } else {
            out += body[i];
          }
        }
        return out;
      }
      p = t.find(marker, end);
    }
  }
  return "";
}

}  // namespace

const char* chat_format_name(ChatFormat f) noexcept {
  switch (f) {
    case ChatFormat::kNone:
      return "none";
    case ChatFormat::kChatMl:
      return "chatml";
    case ChatFormat::kLlama3:
      return "llama3";
    case ChatFormat::kGemma:
      return "gemma";
    case ChatFormat::kLlama2:
      return "llama2";
    case ChatFormat::kMistral:
      return "mistral";
  }
  return "?";
}

Result<ChatSpec> detect_chat_format(const std::optional<std::string>& tmpl,
                                    const std::string& arch) {
  ChatSpec spec;
  if (!tmpl || tmpl->empty()) {
    if (arch == "gemma3" || arch == "gemma2" || arch == "gemma") {
      spec.format = ChatFormat::kGemma;
      return spec;
    }
    return Status(StatusCode::kUnsupported, "the model has no chat template (architecture '" +
                                                arch + "'); use a plain prompt");
  }
  const std::string& t = *tmpl;
  if (t.find("<|im_start|>") != std::string::npos) {
    spec.format = ChatFormat::kChatMl;
    spec.default_system = chatml_default_system(t);
  } else if (t.find("<|start_header_id|>") != std::string::npos) {
    spec.format = ChatFormat::kLlama3;
  } else if (t.find("<start_of_turn>") != std::string::npos) {
    spec.format = ChatFormat::kGemma;
  } else if (t.find("[INST]") != std::string::npos) {
    spec.format =
        t.find("<<SYS>>") != std::string::npos ? ChatFormat::kLlama2 : ChatFormat::kMistral;
  } else {
    return Status(StatusCode::kUnsupported,
                  "unrecognised chat template (fnv1a " + short_hash(t) + ", starts '" +
                      printable_prefix(t, 60) +
                      "'); supported: ChatML, Llama 3, Gemma, Llama 2/Mistral [INST]");
  }
  return spec;
}

Result<std::string> render_chat(const ChatSpec& spec, const std::vector<ChatMessage>& msgs,
                                bool add_generation_prompt) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    const std::string& r = msgs[i].role;
    if (r != "system" && r != "user" && r != "assistant")
      return Status(StatusCode::kInvalidArgument, "chat message " + std::to_string(i) + ": role '" +
                                                      r + "' (expected system, user or assistant)");
  }
  std::string out;
  switch (spec.format) {
    case ChatFormat::kChatMl: {
      if (!spec.default_system.empty() && (msgs.empty() || msgs[0].role != "system"))
        out += "<|im_start|>system\n" + spec.default_system + "<|im_end|>\n";
      for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    }
    case ChatFormat::kLlama3: {
      for (const auto& m : msgs)
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    }
    case ChatFormat::kGemma: {
      // Gemma has no system role: the system text is prefixed to the first user turn.
      std::string system;
      size_t i = 0;
      if (!msgs.empty() && msgs[0].role == "system") {
        system = msgs[0].content + "\n\n";
        i = 1;
      }
      for (; i < msgs.size(); ++i) {
        const std::string role = msgs[i].role == "assistant" ? "model" : msgs[i].role;
        if (msgs[i].role == "system")
          return Status(StatusCode::kInvalidArgument,
                        "gemma chat: a system message must come first");
        out += "<start_of_turn>" + role + "\n" + system + msgs[i].content + "<end_of_turn>\n";
        system.clear();
      }
      if (add_generation_prompt) out += "<start_of_turn>model\n";
      return out;
    }
    case ChatFormat::kLlama2:
    case ChatFormat::kMistral: {
      // [INST] user [/INST] answer</s>[INST] ... ; BOS of later turns is written as "<s>".
      std::string system;
      size_t i = 0;
      if (!msgs.empty() && msgs[0].role == "system") {
        system = spec.format == ChatFormat::kLlama2
                     ? "<<SYS>>\n" + msgs[0].content + "\n<</SYS>>\n\n"
                     : msgs[0].content + "\n\n";
        i = 1;
      }
      bool first = true;
      for (; i < msgs.size(); ++i) {
        if (msgs[i].role == "user") {
          if (!first) out += "<s>";
          out += "[INST] " + system + msgs[i].content + " [/INST]";
          system.clear();
          first = false;
        } else if (msgs[i].role == "assistant") {
          out += " " + msgs[i].content + "</s>";
        } else {
          return Status(StatusCode::kInvalidArgument,
                        "[INST] chat: a system message must come first");
        }
      }
      (void)add_generation_prompt;  // the assistant turn starts right after [/INST]
      return out;
    }
    case ChatFormat::kNone:
      break;
  }
  return Status(StatusCode::kUnsupported, "no chat format");
}

}  // namespace llmkit::runtime
