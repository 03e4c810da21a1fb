#include "tokenizer/pretokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <map>

#include "tokenizer/unicode.hpp"

namespace llmkit::tok {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Per-thread PCRE2 match state: match data and a JIT stack large enough for long whitespace
// runs (the default 32 KiB machine stack overflows on patterns like `\s+(?!\S)` over huge runs).
struct ThreadMatchState {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mc = nullptr;
  pcre2_jit_stack* js = nullptr;
  ThreadMatchState() {
    md = pcre2_match_data_create(1, nullptr);
    mc = pcre2_match_context_create(nullptr);
    js = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    if (mc && js) pcre2_jit_stack_assign(mc, nullptr, js);
  }
  ~ThreadMatchState() {
    if (md) pcre2_match_data_free(md);
    if (mc) pcre2_match_context_free(mc);
    if (js) pcre2_jit_stack_free(js);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState s;
  return s;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  int n = pcre2_get_error_message(code, buf, sizeof(buf));
  if (n < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buf), size_t(n));
}

size_t char_len_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return 1;
  size_t len;
  utf8_decode(reinterpret_cast<const unsigned char*>(s.data()) + pos, s.size() - pos, &len);
  return len;
}

}  // namespace

Regex::~Regex() {
  if (code_) pcre2_code_free(static_cast<pcre2_code*>(code_));
}

Result<std::shared_ptr<const Regex>> Regex::compile(std::string_view pattern,
                                                    const std::string& what) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, nullptr);
  if (!code) {
    return Status(StatusCode::kUnsupported, what + ": cannot compile regex at pattern offset " +
                                                std::to_string(off) + ": " + pcre2_message(err));
  }
  std::shared_ptr<Regex> r(new Regex());
  r->code_ = code;
  // JIT is an optimisation: without it (e.g. SELinux forbids executable memory) the interpreter
  // gives the same matches.
  r->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  r->pattern_ = std::string(pattern);
  r->what_ = what;
  return std::shared_ptr<const Regex>(std::move(r));
}

Result<std::shared_ptr<const Regex>> Regex::literal(std::string_view literal,
                                                    const std::string& what) {
  std::string p;
  for (char c : literal) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && !((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z'))) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x{%X}", u);
      p += buf;
    } else {
      p.push_back(c);
    }
  }
  return compile(p, what);
}

int Regex::find(std::string_view subject, size_t start, size_t* begin, size_t* end,
                Status* err) const {
  auto& ts = thread_state();
  if (!ts.md || !ts.mc) {
    *err = Status(StatusCode::kOutOfMemory, what_ + ": cannot allocate PCRE2 match data");
    return -1;
  }
  auto* code = static_cast<const pcre2_code*>(code_);
  const auto* subj = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t pos = start;
  while (pos <= subject.size()) {
    int rc = jit_ ? pcre2_jit_match(code, subj, subject.size(), pos, 0, ts.md, ts.mc)
                  : pcre2_match(code, subj, subject.size(), pos, 0, ts.md, ts.mc);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
      *err = Status(StatusCode::kOutOfRange, what_ + ": regex matching failed at byte " +
                                                 std::to_string(pos) + ": " + pcre2_message(rc));
      return -1;
    }
    // rc == 0 only means the ovector is too small for the capture groups; group 0 is valid.
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.md);
    if (ov[1] > ov[0]) {
      *begin = ov[0];
      *end = ov[1];
      return 1;
    }
    if (ov[0] >= subject.size()) return 0;
    pos = ov[0] + char_len_at(subject, ov[0]);  // skip an empty match
  }
  return 0;
}

bool PreTokenizer::has_byte_level() const {
  for (const auto& s : steps)
    if (s.kind == PreTokenizerStep::Kind::kByteLevel) return true;
  return false;
}

Status PreTokenizer::run(std::string_view text, bool at_start, PieceSink sink, void* ctx) const {
  if (text.empty()) return Status::ok();
  return run_from(0, text, at_start, false, sink, ctx);
}

namespace {

// Streams the segments of PIECE under RE (gaps and matches, in order), applies BEHAVIOR/INVERT
// with Hugging Face's merge rules, and calls EMIT(begin, end) for each resulting sub-piece.
template <typename Emit>
Status split_piece(const Regex& re, std::string_view piece, SplitBehavior behavior, bool invert,
                   Emit&& emit) {
  struct Seg {
    size_t b = 0, e = 0;
    bool m = false;
    bool valid = false;
  } pending;
  Status st;
  auto flush = [&]() -> Status {
    if (pending.valid) {
      pending.valid = false;
      return emit(pending.b, pending.e);
    }
    return Status::ok();
  };
  auto on_seg = [&](size_t b, size_t e, bool m) -> Status {
    if (invert) m = !m;
    switch (behavior) {
      case SplitBehavior::kIsolated:
        return emit(b, e);
      case SplitBehavior::kRemoved:
        return m ? Status::ok() : emit(b, e);
      case SplitBehavior::kContiguous:
        if (pending.valid && m && pending.m) {
          pending.e = e;
          return Status::ok();
        }
        LLMKIT_RETURN_IF_ERROR(flush());
        pending = {b, e, m, true};
        return Status::ok();
      case SplitBehavior::kMergedWithPrevious:
        if (m && pending.valid && !pending.m) {
          pending.e = e;
          pending.m = true;
          return Status::ok();
        }
        LLMKIT_RETURN_IF_ERROR(flush());
        pending = {b, e, m, true};
        return Status::ok();
      case SplitBehavior::kMergedWithNext:
        if (pending.valid && pending.m && !m) {
          pending.valid = false;
          return emit(pending.b, e);
        }
        LLMKIT_RETURN_IF_ERROR(flush());
        if (m) {
          pending = {b, e, m, true};
          return Status::ok();
        }
        return emit(b, e);
    }
    return Status::ok();
  };
  size_t pos = 0;
  while (pos < piece.size()) {
    size_t mb = 0, me = 0;
    int rc = re.find(piece, pos, &mb, &me, &st);
    if (rc < 0) return st;
    if (rc == 0) break;
    if (mb > pos) LLMKIT_RETURN_IF_ERROR(on_seg(pos, mb, false));
    LLMKIT_RETURN_IF_ERROR(on_seg(mb, me, true));
    pos = me;
  }
  if (pos < piece.size()) LLMKIT_RETURN_IF_ERROR(on_seg(pos, piece.size(), false));
  return flush();
}

}  // namespace

Status PreTokenizer::run_from(size_t step, std::string_view piece, bool at_origin, bool mapped,
                              PieceSink sink, void* ctx) const {
  if (piece.empty()) return Status::ok();
  if (step == steps.size()) {
    sink(ctx, piece, mapped);
    return Status::ok();
  }
  const PreTokenizerStep& s = steps[step];
  switch (s.kind) {
    case PreTokenizerStep::Kind::kSplit:
      return split_piece(*s.regex, piece, s.behavior, s.invert, [&](size_t b, size_t e) {
        return run_from(step + 1, piece.substr(b, e - b), at_origin && b == 0, mapped, sink, ctx);
      });
    case PreTokenizerStep::Kind::kByteLevel: {
      std::string prefixed;
      std::string_view p = piece;
      if (s.add_prefix_space && piece.front() != ' ') {
        prefixed.reserve(piece.size() + 1);
        prefixed.push_back(' ');
        prefixed.append(piece);
        p = prefixed;
      }
      const bool last = step + 1 == steps.size();
      auto next = [&](std::string_view sub, bool origin) -> Status {
        if (last) {
          sink(ctx, sub, false);  // raw bytes: the byte-level model maps them itself
          return Status::ok();
        }
        std::string m;
        byte_level_encode(sub, m);
        return run_from(step + 1, m, origin, true, sink, ctx);
      };
      if (!s.use_regex) return next(p, at_origin);
      return split_piece(*s.regex, p, SplitBehavior::kIsolated, false, [&](size_t b, size_t e) {
        return next(p.substr(b, e - b), at_origin && b == 0);
      });
    }
    case PreTokenizerStep::Kind::kMetaspace: {
      std::string r;
      r.reserve(piece.size() + 8);
      bool prepend = s.prepend == PreTokenizerStep::Prepend::kAlways ||
                     (s.prepend == PreTokenizerStep::Prepend::kFirst && at_origin);
      for (char c : piece) {
        if (c == ' ')
          r += s.replacement;
        else
          r.push_back(c);
      }
      if (prepend && !std::string_view(r).starts_with(s.replacement)) r.insert(0, s.replacement);
      if (!s.split || !s.regex) return run_from(step + 1, r, at_origin, mapped, sink, ctx);
      std::string_view rv = r;
      return split_piece(
          *s.regex, rv, SplitBehavior::kMergedWithNext, false, [&](size_t b, size_t e) {
            return run_from(step + 1, rv.substr(b, e - b), at_origin && b == 0, mapped, sink, ctx);
          });
    }
  }
  return Status::ok();
}

namespace {

// HF originals where llama.cpp adapted a pattern to its own regex engine: PCRE2 runs the
// originals, whose case-insensitive contractions fold like Oniguruma's (as HF tokenizers does).
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt2NoTrail =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-"
    "\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1"
    "\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD"
    "\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D"
    "\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-"
    "\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4"
    "\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D"
    "\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4"
    "\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E"
    "\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F"
    "\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2"
    "\U000118A0-\U000118DF\U0001E900-\U0001E943]+";
constexpr const char* kDeepseekLlmPunct =
    "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
constexpr const char* kCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kBloom = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
constexpr const char* kSeedCoder =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kBailing =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";

struct PreSpec {
  std::vector<const char*> patterns;
  bool ignore_merges = false;
};

const std::map<std::string, PreSpec>& pre_table() {
  static const std::map<std::string, PreSpec> table = [] {
    std::map<std::string, PreSpec> t;
    const PreSpec llama3{{kLlama3}, true};
    const PreSpec llama3_like{{kLlama3}, false};
    const PreSpec gpt2{{kGpt2NoTrail}, false};
    const PreSpec qwen2{{kQwen2}, false};
    const PreSpec starcoder{{R"(\p{N})", kGpt2NoTrail}, false};
    const PreSpec gpt4o{{kGpt4o}, false};
    t["default"] = {{R"([\p{P}\$\+<=>\^~\|]+)", kGpt2NoTrail, R"(\p{N}+)", "[0-9][0-9][0-9]"}};
    for (const char* n :
         {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"})
      t[n] = llama3;
    for (const char* n : {"dbrx", "smaug-bpe"}) t[n] = llama3_like;
    t["chatglm-bpe"] = t["glm4"] = llama3_like;
    t["deepseek-llm"] = {
        {"[\r\n]", kDeepseekLlmLetters, kDeepseekLlmPunct, R"(\s+$)", kCjk, R"(\p{N}+)"}};
    t["deepseek-coder"] = {{"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, R"(\p{N})"}};
    t["deepseek-v3"] = {
        {R"(\p{N}{1,3})", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
         R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}};
    t["falcon"] = {{R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2NoTrail, "[0-9][0-9][0-9]"}};
    for (const char* n :
         {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"})
      t[n] = starcoder;
    for (const char* n : {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                          "jina-v2-de", "a.x-4.0", "mellum", "jina-v1-en", "jina-v2-code",
                          "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling"})
      t[n] = gpt2;
    for (const char* n : {"qwen2", "deepseek-r1-qwen", "kormo", "stablelm2", "hunyuan", "grok-2"})
      t[n] = qwen2;
    for (const char* n : {"poro-chat", "bloom", "gpt3-finnish"}) t[n] = {{kBloom}};
    t["viking"] = {{kBloom, R"(\p{N})"}};
    t["tekken"] = {{kTekken}};
    t["chameleon"] = {{"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                       "([\\t\\n]|    |  )", R"(\p{N})", R"([\p{P}!-/:-@\[-`{-~])", kGpt2NoTrail}};
    for (const char* n : {"gpt-4o", "minimax-m2"}) t[n] = gpt4o;
    t["llama4"] = {{kGpt4o}, true};
    t["superbpe"] = {{R"(\p{N}+)", R"((?=(\d{3})+(?!\d)))"}};
    t["bailingmoe"] = t["bailingmoe2"] = t["llada-moe"] = {{kBailing}};
    t["seed-coder"] = {{kSeedCoder}};
    return t;
  }();
  return table;
}

}  // namespace

std::vector<std::string> known_gguf_pre_names() {
  std::vector<std::string> names;
  for (const auto& [k, v] : pre_table()) names.push_back(k);
  return names;
}

Result<PreTokenizer> pretokenizer_for_gguf_pre(const std::string& name, bool* ignore_merges,
                                               std::string* warning) {
  std::string key = name;
  if (key.empty()) {
    key = "default";
    if (warning)
      *warning =
          "GGUF has no tokenizer.ggml.pre; using llama.cpp's 'default' pre-tokenizer "
          "(token ids may differ from the original tokenizer)";
  }
  auto it = pre_table().find(key);
  if (it == pre_table().end()) {
    std::string known;
    for (const auto& n : known_gguf_pre_names()) known += (known.empty() ? "" : ", ") + n;
    return Status(StatusCode::kUnsupported, "tokenizer.ggml.pre: unknown pre-tokenizer '" + name +
                                                "' (known: " + known + ")");
  }
  PreTokenizer pt;
  for (size_t i = 0; i < it->second.patterns.size(); ++i) {
    PreTokenizerStep s;
    s.kind = PreTokenizerStep::Kind::kSplit;
    s.behavior = SplitBehavior::kIsolated;
    LLMKIT_ASSIGN_OR_RETURN(
        s.regex, Regex::compile(it->second.patterns[i],
                                "tokenizer.ggml.pre '" + key + "' pattern " + std::to_string(i)));
    pt.steps.push_back(std::move(s));
  }
  PreTokenizerStep bl;
  bl.kind = PreTokenizerStep::Kind::kByteLevel;
  pt.steps.push_back(std::move(bl));
  if (ignore_merges) *ignore_merges = it->second.ignore_merges;
  return pt;
}

}  // namespace llmkit::tok
