// StreamingDetokenizer: decode() one token at a time. Bytes are held back only while they form an
// incomplete but still valid UTF-8 prefix (at most 3); the leading-space rule is applied to the
// first non-empty piece, so the concatenated output equals decode() of the whole sequence.
#include "llmkit/tokenizer.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/utf8_sanitize.hpp"

namespace llmkit {

struct StreamingDetokenizer::State {
  const Tokenizer* tokenizer = nullptr;
  DecodeOptions options;
  std::string pending;   // incomplete UTF-8 tail
  bool started = false;  // a non-empty piece was seen (the leading-space rule is spent)
};

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, const DecodeOptions& options)
    : state_(std::make_unique<State>()) {
  state_->tokenizer = &tokenizer;
  state_->options = options;
}
StreamingDetokenizer::~StreamingDetokenizer() = default;
StreamingDetokenizer::StreamingDetokenizer(StreamingDetokenizer&&) noexcept = default;
StreamingDetokenizer& StreamingDetokenizer::operator=(StreamingDetokenizer&&) noexcept = default;

Result<std::string> StreamingDetokenizer::push(int32_t id) {
  if (!state_) return Status(StatusCode::kInvalidArgument, "StreamingDetokenizer: moved-from");
  const Tokenizer::Impl& impl = *state_->tokenizer->impl_;
  if (!impl.in_range(id))
    return Status(StatusCode::kInvalidArgument, "StreamingDetokenizer: token id " +
                                                    std::to_string(id) +
                                                    " is outside the vocabulary (size " +
                                                    std::to_string(impl.model->vocab_size()) + ")");
  try {
    std::string piece = impl.piece(id, state_->options);
    if (piece.empty()) return std::string();
    std::string_view p = piece;
    if (!state_->started) {
      state_->started = true;
      if (impl.strips(state_->options) && p[0] == ' ') p.remove_prefix(1);
    }
    state_->pending.append(p);
    std::string out;
    size_t held = tok::utf8_sanitize(state_->pending, /*final=*/false,
                                     state_->options.keep_invalid_utf8, out);
    state_->pending.erase(0, state_->pending.size() - held);
    return out;
  } catch (const std::exception& e) {
    return Status(StatusCode::kOutOfMemory, std::string("StreamingDetokenizer: ") + e.what());
  }
}

std::string StreamingDetokenizer::flush() {
  if (!state_) return {};
  std::string out;
  tok::utf8_sanitize(state_->pending, /*final=*/true, state_->options.keep_invalid_utf8, out);
  reset();
  return out;
}

void StreamingDetokenizer::reset() {
  if (!state_) return;
  state_->pending.clear();
  state_->started = false;
}

}  // namespace llmkit
