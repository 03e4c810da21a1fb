// WordPiece tokenizer (see wpm.hpp).
#include "tokenizer/wpm.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <string>
#include <unordered_map>

#include "tokenizer/bpe.hpp"
#include "tokenizer/unicode.hpp"

namespace llmkit::tok {

namespace {

const std::string kWordPrefix = "\xE2\x96\x81";  // U+2581

bool is_whitespace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// BERT's "Chinese character" blocks (CJK Unified Ideographs and extensions, compatibility).
bool is_cjk(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

enum class Cat { kOther, kControl, kMark, kPunct, kSymbol };

Cat category(uint32_t c) {
  switch (utf8proc_category(utf8proc_int32_t(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return Cat::kControl;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return Cat::kMark;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return Cat::kPunct;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      return Cat::kSymbol;
    default:
      return Cat::kOther;
  }
}

class WpmModel final : public TokenizerModel {
 public:
  WpmModel(std::vector<std::string> tokens, std::vector<TokenAttr> attrs, bool lowercase,
           bool strip_accents, SpecialIds special, std::vector<AddedToken> added)
      : tokens_(std::move(tokens)),
        attrs_(std::move(attrs)),
        lowercase_(lowercase),
        strip_accents_(strip_accents) {
    special_ = std::move(special);
    added_ = std::move(added);
    index_.reserve(tokens_.size());
    for (size_t i = 0; i < tokens_.size(); ++i) {
      index_.emplace(std::string_view(tokens_[i]), int32_t(i));  // first id wins on duplicates
      max_len_ = std::max(max_len_, tokens_[i].size());
    }
  }

  Status encode(std::string_view text, bool /*at_start*/,
                std::vector<int32_t>& out) const override {
    for (const std::string& word : words(text)) {
      const std::string w = kWordPrefix + word;
      const size_t n = w.size(), before = out.size();
      bool ok = true;
      for (size_t i = 0; i < n && ok;) {
        ok = false;
        for (size_t j = std::min(n, i + max_len_); j > i; --j) {
          auto it = index_.find(std::string_view(w).substr(i, j - i));
          if (it != index_.end()) {
            out.push_back(it->second);
            i = j;
            ok = true;
            break;
          }
        }
      }
      if (!ok) out.resize(before);
      if (out.size() == before) {
        if (special_.unk < 0)
          return Status(StatusCode::kInvalidArgument,
                        "WordPiece: no vocabulary piece matches a word and the vocabulary has no "
                        "unknown token");
        out.push_back(special_.unk);
      }
    }
    return Status::ok();
  }

  std::string token_bytes(int32_t id, bool render_special) const override {
    if (id < 0 || size_t(id) >= tokens_.size()) return {};
    const TokenAttr a = attrs_[size_t(id)];
    if (a == TokenAttr::kControl || a == TokenAttr::kUnknown)
      return render_special ? tokens_[size_t(id)] : std::string();
    std::string s;
    const std::string& t = tokens_[size_t(id)];
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, 3, kWordPrefix) == 0) {
        s += ' ';
        i += 3;
      } else {
        s += t[i++];
      }
    }
    return s;
  }

  bool strips_leading_space() const override { return true; }
  size_t vocab_size() const override { return tokens_.size(); }
  std::string_view token_text(int32_t id) const override {
    return id >= 0 && size_t(id) < tokens_.size() ? std::string_view(tokens_[size_t(id)])
                                                  : std::string_view();
  }
  TokenAttr token_attr(int32_t id) const override {
    return id >= 0 && size_t(id) < attrs_.size() ? attrs_[size_t(id)] : TokenAttr::kUndefined;
  }
  int32_t find_token(std::string_view piece) const override {
    auto it = index_.find(piece);
    return it == index_.end() ? -1 : it->second;
  }
  std::string kind() const override { return "wpm"; }

 private:
  // Steps 1-2 of wpm.hpp: normalized words.
  std::vector<std::string> words(std::string_view text) const {
    std::vector<std::string> out(1);
    auto flush = [&] {
      if (!out.back().empty()) out.emplace_back();
    };
    auto add = [&](uint32_t c) {
      const Cat cat = category(c);
      if (c == 0 || c == 0xFFFD || cat == Cat::kControl) return;
      if (strip_accents_ && cat == Cat::kMark) return;
      const uint32_t lc = lowercase_ ? uint32_t(utf8proc_tolower(utf8proc_int32_t(c))) : c;
      if (cat == Cat::kPunct || (c < 0x7F && cat == Cat::kSymbol) || is_cjk(c)) {
        flush();
        utf8_append(lc, out.back());
        out.emplace_back();
      } else {
        utf8_append(lc, out.back());
      }
    };
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
      size_t len = 1;
      const int32_t cp = utf8_decode(s + i, text.size() - i, &len);
      i += len;
      const uint32_t c = cp < 0 ? 0xFFFD : uint32_t(cp);  // invalid bytes are dropped like U+FFFD
      if (is_whitespace(c)) {
        flush();
        continue;
      }
      if (!strip_accents_) {
        add(c);
        continue;
      }
      // NFD: the canonical decomposition (the order of the marks does not matter: they go).
      utf8proc_int32_t buf[32];
      utf8proc_int32_t last = 0;
      const utf8proc_ssize_t n =
          utf8proc_decompose_char(utf8proc_int32_t(c), buf, 32, UTF8PROC_DECOMPOSE, &last);
      if (n <= 0 || n > 32) {
        add(c);
        continue;
      }
      for (utf8proc_ssize_t k = 0; k < n; ++k) add(uint32_t(buf[k]));
    }
    if (out.back().empty()) out.pop_back();
    return out;
  }

  std::vector<std::string> tokens_;
  std::vector<TokenAttr> attrs_;
  bool lowercase_, strip_accents_;
  std::unordered_map<std::string_view, int32_t> index_;
  size_t max_len_ = 1;
};

}  // namespace

Result<std::unique_ptr<TokenizerModel>> make_wpm_from_gguf(const io::GgufFile& g) {
  const std::string file = g.path().empty() ? std::string("<gguf>") : g.path();
  const io::GgufValue* tok = g.find("tokenizer.ggml.tokens");
  if (!tok || !tok->is_array() || tok->elem_type != io::GgufType::STRING || tok->arr_str.empty())
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.tokens is missing, empty or not an array of strings");
  std::vector<std::string> tokens = tok->arr_str;
  LLMKIT_ASSIGN_OR_RETURN(std::vector<TokenAttr> attrs, gguf_token_attrs(g, tokens.size(), file));
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].empty()) {
      if (attrs[i] == TokenAttr::kNormal)
        return Status(StatusCode::kCorruptFile,
                      file + ": tokenizer.ggml.tokens[" + std::to_string(i) + "] is empty");
      continue;
    }
    auto [it, fresh] = seen.emplace(std::string_view(tokens[i]), i);
    if (!fresh)
      return Status(StatusCode::kCorruptFile,
                    file + ": tokenizer.ggml.tokens[" + std::to_string(i) + "] " +
                        quote_piece(tokens[i]) + " duplicates token " + std::to_string(it->second));
  }
  auto id_key = [&](const char* key, int64_t dflt) -> int32_t {
    const int64_t v = g.get_int(key).value_or(dflt);
    return v >= 0 && size_t(v) < tokens.size() ? int32_t(v) : -1;
  };
  // BERT's defaults (llama.cpp): [CLS] 101 opens, [SEP] 102 closes, [UNK] 100, [PAD] 0.
  SpecialIds sp;
  sp.bos = id_key("tokenizer.ggml.cls_token_id", id_key("tokenizer.ggml.bos_token_id", 101));
  sp.eos = id_key("tokenizer.ggml.seperator_token_id", id_key("tokenizer.ggml.eos_token_id", 102));
  sp.unk = id_key("tokenizer.ggml.unknown_token_id", 100);
  sp.pad = id_key("tokenizer.ggml.padding_token_id", 0);
  sp.add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(true) && sp.bos >= 0;
  sp.add_eos = g.get_bool("tokenizer.ggml.add_eos_token").value_or(true) && sp.eos >= 0;
  std::vector<AddedToken> added = gguf_added_tokens(tokens, attrs);
  const bool lowercase = g.get_bool("tokenizer.ggml.normalizer.lowercase").value_or(true);
  const bool strip = g.get_bool("tokenizer.ggml.normalizer.strip_accents").value_or(lowercase);
  return std::unique_ptr<TokenizerModel>(
      new WpmModel(std::move(tokens), std::move(attrs), lowercase, strip, sp, std::move(added)));
}

}  // namespace llmkit::tok
