#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <vector>

#include "io/utf8.hpp"

namespace llmkit::tok {
namespace {
#include "tokenizer/unicode_nfc_data.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t ccc_of(uint32_t cp) {
  if (cp < 0x300) return 0;
  size_t lo = 0, hi = std::size(kCccRanges);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (kCccRanges[mid][1] < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < std::size(kCccRanges) && kCccRanges[lo][0] <= cp) return uint8_t(kCccRanges[lo][2]);
  return 0;
}

bool nfc_unsafe(uint32_t cp) {
  if (cp < 0x300) return false;
  size_t lo = 0, hi = std::size(kNfcUnsafe);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (kNfcUnsafe[mid][1] < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < std::size(kNfcUnsafe) && kNfcUnsafe[lo][0] <= cp;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {  // Hangul syllable: algorithmic
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= 0xC0) {
    auto it = std::lower_bound(std::begin(kDecompIndex), std::end(kDecompIndex), cp,
                               [](const uint32_t* e, uint32_t v) { return e[0] < v; });
    if (it != std::end(kDecompIndex) && (*it)[0] == cp) {
      for (uint32_t i = 0; i < (*it)[2]; ++i) out.push_back(kDecompData[(*it)[1] + i]);
      return;
    }
  }
  out.push_back(cp);
}

// -1 when A and B do not compose.
int64_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = std::lower_bound(std::begin(kCompose), std::end(kCompose), std::pair{a, b},
                             [](const uint32_t* e, const std::pair<uint32_t, uint32_t>& v) {
                               return e[0] < v.first || (e[0] == v.first && e[1] < v.second);
                             });
  if (it != std::end(kCompose) && (*it)[0] == a && (*it)[1] == b) return (*it)[2];
  return -1;
}

// NFC of one run of valid code points (decompose, canonical reorder, compose).
void nfc_run(const std::vector<uint32_t>& cps, std::string& out) {
  std::vector<uint32_t> d;
  d.reserve(cps.size() * 2);
  for (uint32_t cp : cps) decompose(cp, d);
  // Canonical ordering: stable sort each maximal run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (ccc_of(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && ccc_of(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](uint32_t x, uint32_t y) { return ccc_of(x) < ccc_of(y); });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> r;
  r.reserve(d.size());
  int64_t starter = -1;  // index in r of the last starter
  int last_ccc = -1;
  for (uint32_t cp : d) {
    int c = ccc_of(cp);
    if (starter >= 0) {
      bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= c);
      if (!blocked) {
        int64_t comp = compose_pair(r[size_t(starter)], cp);
        if (comp >= 0) {
          r[size_t(starter)] = uint32_t(comp);
          continue;
        }
      }
    }
    if (c == 0) {
      starter = int64_t(r.size());
      last_ccc = -1;
    } else {
      last_ccc = c;
    }
    r.push_back(cp);
  }
  for (uint32_t cp : r) utf8_append(cp, out);
}

}  // namespace

int32_t utf8_decode(const unsigned char* s, size_t n, size_t* len) noexcept {
  if (n > 0 && s[0] < 0x80) {
    *len = 1;
    return s[0];
  }
  // io::utf8_sequence_length is the one definition of a valid sequence (no overlongs, no
  // surrogates, nothing above U+10FFFF); here only the code point is assembled.
  const size_t l = io::utf8_sequence_length(s, n);
  if (l == 0) {
    *len = 1;
    return -1;
  }
  static constexpr unsigned char kLeadBits[5] = {0, 0, 0x1F, 0x0F, 0x07};
  uint32_t cp = s[0] & kLeadBits[l];
  for (size_t i = 1; i < l; ++i) cp = (cp << 6) | (s[i] & 0x3F);
  *len = l;
  return int32_t(cp);
}

void utf8_append(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

bool nfc_normalize(std::string_view text, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  // Quick check: a string without any code point that can change under NFC is already NFC.
  bool need = false;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0xCC) {
      ++i;
      continue;
    }  // every code point below U+0300 is NFC-stable
    size_t len;
    int32_t cp = utf8_decode(p + i, n - i, &len);
    if (cp >= 0 && nfc_unsafe(uint32_t(cp))) {
      need = true;
      break;
    }
    i += len;
  }
  if (!need) return false;
  out.clear();
  out.reserve(n + 8);
  std::vector<uint32_t> run;
  for (size_t i = 0; i < n;) {
    size_t len;
    int32_t cp = utf8_decode(p + i, n - i, &len);
    if (cp < 0) {  // invalid byte: flush the run, copy the byte verbatim
      nfc_run(run, out);
      run.clear();
      out.push_back(char(p[i]));
    } else {
      run.push_back(uint32_t(cp));
    }
    i += len;
  }
  nfc_run(run, out);
  return true;
}

const ByteLevelAlphabet& byte_level_alphabet() {
  static const ByteLevelAlphabet table = [] {
    ByteLevelAlphabet t;
    t.cp_to_byte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      uint32_t cp = printable ? uint32_t(b) : next++;
      t.byte_to_cp[size_t(b)] = cp;
      t.cp_to_byte[cp] = int16_t(b);
      utf8_append(cp, t.byte_to_utf8[size_t(b)]);
    }
    return t;
  }();
  return table;
}

void byte_level_encode(std::string_view raw, std::string& out) {
  const auto& a = byte_level_alphabet();
  for (unsigned char c : raw) out += a.byte_to_utf8[c];
}

bool byte_level_decode(std::string_view text, std::string& out) {
  const auto& a = byte_level_alphabet();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    size_t len;
    int32_t cp = utf8_decode(p + i, text.size() - i, &len);
    if (cp < 0 || cp >= 0x144 || a.cp_to_byte[size_t(cp)] < 0) return false;
    out.push_back(char(a.cp_to_byte[size_t(cp)]));
    i += len;
  }
  return true;
}

}  // namespace llmkit::tok
