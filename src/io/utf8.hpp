// UTF-8 validation helpers shared by parsers and tokenizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llmkit::io {

// Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 if it is invalid/truncated.
// Rejects overlongs, surrogates and code points above U+10FFFF.
size_t utf8_sequence_length(const unsigned char* s, size_t n) noexcept;
bool utf8_valid(std::string_view s) noexcept;

}  // namespace llmkit::io
