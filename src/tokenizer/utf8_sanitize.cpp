#include "tokenizer/utf8_sanitize.hpp"

namespace llmkit::tok {

size_t utf8_sanitize(std::string_view in, bool final, bool keep_invalid, std::string& out) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  const auto* u = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  auto invalid = [&](size_t from, size_t to) {
    if (keep_invalid)
      out.append(in.substr(from, to - from));
    else
      out.append(kReplacement);
  };
  size_t i = 0;
  while (i < n) {
    const unsigned char c = u[i];
    if (c < 0x80) {
      // Copy the ASCII run in one go.
      size_t j = i + 1;
      while (j < n && u[j] < 0x80) ++j;
      out.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0)
        lo = 0xA0;  // no overlongs
      else if (c == 0xED)
        hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;  // <= U+10FFFF
    } else {
      invalid(i, i + 1);  // continuation byte, C0/C1 or F5..FF
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k <= need; ++k) {
      if (i + k >= n) break;
      const unsigned char b = u[i + k];
      const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
      if (b < l || b > h) break;
    }
    if (k > need) {
      out.append(in.substr(i, need + 1));
      i += need + 1;
    } else if (i + k >= n) {
      if (!final) return n - i;  // incomplete: wait for more bytes
      invalid(i, n);
      i = n;
    } else {
      invalid(i, i + k);  // the maximal subpart [i, i+k) is one replacement
      i += k;
    }
  }
  return 0;
}

}  // namespace llmkit::tok
