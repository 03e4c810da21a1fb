// Lossy UTF-8 clean-up for detokenized bytes, usable incrementally.
//
// Invalid input is replaced by U+FFFD once per maximal invalid subsequence (the Unicode
// "substitution of maximal subparts" practice that Python's errors="replace" and Rust's
// String::from_utf8_lossy follow), so running it over a whole string and running it chunk by
// chunk (holding back an incomplete tail) give the same output.
#pragma once

#include <string>
#include <string_view>

namespace llmkit::tok {

// Appends the sanitized form of IN to OUT. When FINAL is false, a trailing incomplete (but so far
// valid) sequence is not consumed: the return value is the number of trailing bytes held back
// (0..3). When FINAL is true everything is consumed and 0 is returned. KEEP_INVALID copies invalid
// bytes through unchanged instead of substituting U+FFFD.
size_t utf8_sanitize(std::string_view in, bool final, bool keep_invalid, std::string& out);

}  // namespace llmkit::tok
