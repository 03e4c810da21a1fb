#include "tokenizer/tokenizer_json.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe.hpp"

namespace llmkit::tok {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxTokenId = int64_t(1) << 23;
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 30;

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unknown value";
  }
}

// Builds a BpeConfig from the parsed documents; every error names NAME and the JSON path.
class Builder {
 public:
  explicit Builder(std::string name) : name_(std::move(name)) {}

  Status err(const std::string& path, const std::string& what,
             StatusCode code = StatusCode::kCorruptFile) const {
    return Status(code, name_ + ": " + path + ": " + what);
  }
  Status type_err(const std::string& path, const char* expected, const json& got) const {
    return err(path, std::string("expected ") + expected + ", got " + type_name(got));
  }

  // Optional typed members: absent or null -> default.
  Status opt_bool(const json& obj, const char* key, const std::string& path, bool* out) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_boolean()) return type_err(path + "." + key, "a boolean", *it);
    *out = it->get<bool>();
    return Status::ok();
  }
  Status opt_string(const json& obj, const char* key, const std::string& path, std::string* out,
                    bool* present = nullptr) const {
    auto it = obj.find(key);
    if (present) *present = false;
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_string()) return type_err(path + "." + key, "a string", *it);
    *out = it->get<std::string>();
    if (present) *present = true;
    return Status::ok();
  }
  Status req_object(const json& j, const std::string& path) const {
    if (!j.is_object()) return type_err(path, "an object", j);
    return Status::ok();
  }
  Status get_type(const json& obj, const std::string& path, std::string* type) const {
    LLMKIT_RETURN_IF_ERROR(req_object(obj, path));
    bool present = false;
    LLMKIT_RETURN_IF_ERROR(opt_string(obj, "type", path, type, &present));
    if (!present) return err(path + ".type", "missing");
    return Status::ok();
  }

  Result<std::shared_ptr<const Regex>> pattern(const json& obj, const std::string& path) const {
    auto it = obj.find("pattern");
    if (it == obj.end()) return err(path + ".pattern", "missing");
    if (!it->is_object()) return type_err(path + ".pattern", "an object", *it);
    if (auto s = it->find("String"); s != it->end()) {
      if (!s->is_string()) return type_err(path + ".pattern.String", "a string", *s);
      if (s->get_ref<const std::string&>().empty())
        return err(path + ".pattern.String", "empty pattern");
      return Regex::literal(s->get<std::string>(), name_ + ": " + path + ".pattern.String");
    }
    if (auto r = it->find("Regex"); r != it->end()) {
      if (!r->is_string()) return type_err(path + ".pattern.Regex", "a string", *r);
      return Regex::compile(r->get<std::string>(), name_ + ": " + path + ".pattern.Regex");
    }
    return err(path + ".pattern", "expected a String or Regex pattern");
  }

  Status normalizer(const json& j, const std::string& path, std::vector<NormalizerStep>& out,
                    int depth = 0) const {
    if (j.is_null()) return Status::ok();
    if (depth > 8) return err(path, "normalizers nested too deeply");
    std::string type;
    LLMKIT_RETURN_IF_ERROR(get_type(j, path, &type));
    NormalizerStep s;
    if (type == "Sequence") {
      auto it = j.find("normalizers");
      if (it == j.end() || !it->is_array()) return err(path + ".normalizers", "expected an array");
      for (size_t i = 0; i < it->size(); ++i)
        LLMKIT_RETURN_IF_ERROR(
            normalizer((*it)[i], path + ".normalizers[" + std::to_string(i) + "]", out, depth + 1));
      return Status::ok();
    } else if (type == "NFC") {
      s.kind = NormalizerStep::Kind::kNfc;
    } else if (type == "Prepend") {
      s.kind = NormalizerStep::Kind::kPrepend;
      bool present = false;
      LLMKIT_RETURN_IF_ERROR(opt_string(j, "prepend", path, &s.text, &present));
      if (!present) return err(path + ".prepend", "missing");
    } else if (type == "Replace") {
      s.kind = NormalizerStep::Kind::kReplace;
      LLMKIT_ASSIGN_OR_RETURN(s.regex, pattern(j, path));
      bool present = false;
      LLMKIT_RETURN_IF_ERROR(opt_string(j, "content", path, &s.text, &present));
      if (!present) return err(path + ".content", "missing");
    } else if (type == "Strip") {
      s.kind = NormalizerStep::Kind::kStrip;
      s.strip_left = s.strip_right = true;
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "strip_left", path, &s.strip_left));
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "strip_right", path, &s.strip_right));
    } else {
      return err(path + ".type", "normalizer '" + type + "' is not supported",
                 StatusCode::kUnsupported);
    }
    out.push_back(std::move(s));
    return Status::ok();
  }

  Result<SplitBehavior> behavior(const json& j, const std::string& path, SplitBehavior dflt) const {
    auto it = j.find("behavior");
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_string()) return type_err(path + ".behavior", "a string", *it);
    const std::string& b = it->get_ref<const std::string&>();
    if (b == "Removed") return SplitBehavior::kRemoved;
    if (b == "Isolated") return SplitBehavior::kIsolated;
    if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
    if (b == "Contiguous") return SplitBehavior::kContiguous;
    return err(path + ".behavior", "unknown split behavior '" + b + "'");
  }

  Status split_step(const std::string& pat, SplitBehavior b, bool invert, const std::string& path,
                    PreTokenizer& pt) const {
    PreTokenizerStep s;
    s.kind = PreTokenizerStep::Kind::kSplit;
    LLMKIT_ASSIGN_OR_RETURN(s.regex, Regex::compile(pat, name_ + ": " + path));
    s.behavior = b;
    s.invert = invert;
    pt.steps.push_back(std::move(s));
    return Status::ok();
  }

  Status pre_tokenizer(const json& j, const std::string& path, PreTokenizer& pt,
                       int depth = 0) const {
    if (j.is_null()) return Status::ok();
    if (depth > 8) return err(path, "pre-tokenizers nested too deeply");
    std::string type;
    LLMKIT_RETURN_IF_ERROR(get_type(j, path, &type));
    if (type == "Sequence") {
      auto it = j.find("pretokenizers");
      if (it == j.end() || !it->is_array())
        return err(path + ".pretokenizers", "expected an array");
      for (size_t i = 0; i < it->size(); ++i)
        LLMKIT_RETURN_IF_ERROR(pre_tokenizer(
            (*it)[i], path + ".pretokenizers[" + std::to_string(i) + "]", pt, depth + 1));
      return Status::ok();
    }
    PreTokenizerStep s;
    if (type == "Split") {
      s.kind = PreTokenizerStep::Kind::kSplit;
      LLMKIT_ASSIGN_OR_RETURN(s.regex, pattern(j, path));
      LLMKIT_ASSIGN_OR_RETURN(s.behavior, behavior(j, path, SplitBehavior::kIsolated));
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "invert", path, &s.invert));
    } else if (type == "ByteLevel") {
      if (pt.has_byte_level())
        return err(path, "more than one ByteLevel pre-tokenizer", StatusCode::kUnsupported);
      s.kind = PreTokenizerStep::Kind::kByteLevel;
      s.use_regex = true;
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "add_prefix_space", path, &s.add_prefix_space));
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "use_regex", path, &s.use_regex));
      if (s.use_regex) {
        LLMKIT_ASSIGN_OR_RETURN(s.regex, Regex::compile(kGpt2Pattern, name_ + ": " + path));
      }
    } else if (type == "Digits") {
      bool individual = false;
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "individual_digits", path, &individual));
      return split_step(individual ? R"(\p{N})" : R"(\p{N}+)", SplitBehavior::kIsolated, false,
                        path, pt);
    } else if (type == "Punctuation") {
      // HF: char::is_ascii_punctuation() || Unicode punctuation (P*), one char per match.
      LLMKIT_ASSIGN_OR_RETURN(SplitBehavior b, behavior(j, path, SplitBehavior::kIsolated));
      return split_step(R"([\p{P}!-/:-@\[-`{-~])", b, false, path, pt);
    } else if (type == "Whitespace") {
      return split_step(R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, true, path, pt);
    } else if (type == "WhitespaceSplit") {
      return split_step(R"(\s+)", SplitBehavior::kRemoved, false, path, pt);
    } else if (type == "Metaspace") {
      s.kind = PreTokenizerStep::Kind::kMetaspace;
      std::string rep = "\xE2\x96\x81";
      LLMKIT_RETURN_IF_ERROR(opt_string(j, "replacement", path, &rep));
      if (rep.empty()) return err(path + ".replacement", "empty replacement");
      s.replacement = rep;
      std::string scheme;
      bool have_scheme = false;
      LLMKIT_RETURN_IF_ERROR(opt_string(j, "prepend_scheme", path, &scheme, &have_scheme));
      if (have_scheme) {
        if (scheme == "always")
          s.prepend = PreTokenizerStep::Prepend::kAlways;
        else if (scheme == "first")
          s.prepend = PreTokenizerStep::Prepend::kFirst;
        else if (scheme == "never")
          s.prepend = PreTokenizerStep::Prepend::kNever;
        else
          return err(path + ".prepend_scheme", "unknown scheme '" + scheme + "'");
      } else {
        bool add = true;
        LLMKIT_RETURN_IF_ERROR(opt_bool(j, "add_prefix_space", path, &add));
        s.prepend = add ? PreTokenizerStep::Prepend::kAlways : PreTokenizerStep::Prepend::kNever;
      }
      s.split = true;
      LLMKIT_RETURN_IF_ERROR(opt_bool(j, "split", path, &s.split));
      if (s.split) {
        LLMKIT_ASSIGN_OR_RETURN(s.regex, Regex::literal(rep, name_ + ": " + path));
      }
    } else {
      return err(path + ".type", "pre-tokenizer '" + type + "' is not supported",
                 StatusCode::kUnsupported);
    }
    pt.steps.push_back(std::move(s));
    return Status::ok();
  }

  // Resolves a token given as "text" or {"content": "text"} (tokenizer_config.json style).
  int32_t config_token(const json& cfg, const char* key, const BpeConfig& c,
                       const std::unordered_map<std::string, int32_t>& ids) const {
    auto it = cfg.find(key);
    if (it == cfg.end()) return -1;
    const json* v = &*it;
    if (v->is_object()) {
      auto ct = v->find("content");
      if (ct == v->end()) return -1;
      v = &*ct;
    }
    if (!v->is_string()) return -1;
    auto f = ids.find(v->get<std::string>());
    return f == ids.end() ? -1 : f->second;
  }

  Status post_processor(const json& j, const std::string& path, BpeConfig& c,
                        const std::unordered_map<std::string, int32_t>& ids, bool* found,
                        int depth = 0) const {
    if (j.is_null()) return Status::ok();
    if (depth > 8) return err(path, "post-processors nested too deeply");
    std::string type;
    LLMKIT_RETURN_IF_ERROR(get_type(j, path, &type));
    if (type == "Sequence") {
      auto it = j.find("processors");
      if (it == j.end() || !it->is_array()) return err(path + ".processors", "expected an array");
      for (size_t i = 0; i < it->size(); ++i)
        LLMKIT_RETURN_IF_ERROR(post_processor(
            (*it)[i], path + ".processors[" + std::to_string(i) + "]", c, ids, found, depth + 1));
      return Status::ok();
    }
    if (type == "ByteLevel") return Status::ok();
    if (type == "RobertaProcessing" || type == "BertProcessing") {
      auto id_of = [&](const char* key, int32_t* out) -> Status {
        auto it = j.find(key);
        if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[1].is_number_integer())
          return err(path + "." + key, "expected [token, id]");
        int64_t v = (*it)[1].get<int64_t>();
        if (v < 0 || v >= int64_t(c.tokens.size())) return err(path + "." + key, "id out of range");
        *out = int32_t(v);
        return Status::ok();
      };
      LLMKIT_RETURN_IF_ERROR(id_of("cls", &c.special.bos));
      LLMKIT_RETURN_IF_ERROR(id_of("sep", &c.special.eos));
      c.special.add_bos = c.special.add_eos = true;
      *found = true;
      return Status::ok();
    }
    if (type == "TemplateProcessing") {
      auto single = j.find("single");
      if (single == j.end() || !single->is_array())
        return err(path + ".single", "expected an array");
      bool seen_seq = false;
      for (size_t i = 0; i < single->size(); ++i) {
        const json& e = (*single)[i];
        const std::string ep = path + ".single[" + std::to_string(i) + "]";
        if (!e.is_object()) return type_err(ep, "an object", e);
        if (e.contains("Sequence")) {
          seen_seq = true;
          continue;
        }
        auto st = e.find("SpecialToken");
        if (st == e.end() || !st->is_object()) return err(ep, "expected Sequence or SpecialToken");
        std::string tok;
        bool present = false;
        LLMKIT_RETURN_IF_ERROR(opt_string(*st, "id", ep + ".SpecialToken", &tok, &present));
        if (!present) return err(ep + ".SpecialToken.id", "missing");
        int32_t id = -1;
        // special_tokens maps the name to its ids; fall back to the vocabulary.
        if (auto sp = j.find("special_tokens"); sp != j.end() && sp->is_object()) {
          if (auto t = sp->find(tok); t != sp->end() && t->is_object()) {
            if (auto v = t->find("ids");
                v != t->end() && v->is_array() && v->size() == 1 && (*v)[0].is_number_integer())
              id = int32_t(std::clamp<int64_t>((*v)[0].get<int64_t>(), -1, kMaxTokenId));
          }
        }
        if (id < 0) {
          auto f = ids.find(tok);
          if (f != ids.end()) id = f->second;
        }
        if (id < 0 || id >= int32_t(c.tokens.size()))
          return err(ep + ".SpecialToken.id", "token '" + tok + "' is not in the vocabulary");
        if (!seen_seq) {
          c.special.bos = id;
          c.special.add_bos = true;
        } else {
          c.special.eos = id;
          c.special.add_eos = true;
        }
      }
      *found = true;
      return Status::ok();
    }
    return err(path + ".type", "post-processor '" + type + "' is not supported",
               StatusCode::kUnsupported);
  }

  // True when the decoder drops one leading space (SPM-style Strip / Metaspace decoders).
  bool decoder_strips(const json& j, int depth = 0) const {
    if (!j.is_object() || depth > 8) return false;
    auto t = j.find("type");
    if (t == j.end() || !t->is_string()) return false;
    const std::string& type = t->get_ref<const std::string&>();
    if (type == "Sequence") {
      auto it = j.find("decoders");
      if (it == j.end() || !it->is_array()) return false;
      for (const auto& d : *it)
        if (decoder_strips(d, depth + 1)) return true;
      return false;
    }
    if (type == "Strip") {
      auto s = j.find("start");
      auto c = j.find("content");
      return s != j.end() && s->is_number_integer() && s->get<int64_t>() >= 1 && c != j.end() &&
             c->is_string() && c->get<std::string>() == " ";
    }
    if (type == "Metaspace") {
      if (auto ps = j.find("prepend_scheme"); ps != j.end() && ps->is_string())
        return ps->get<std::string>() != "never";
      auto ap = j.find("add_prefix_space");
      return ap == j.end() || !ap->is_boolean() || ap->get<bool>();
    }
    return false;
  }

  Result<std::unique_ptr<TokenizerModel>> build(const json& root, const json* cfg) {
    if (!root.is_object()) return type_err("(root)", "an object", root);
    auto mit = root.find("model");
    if (mit == root.end()) return err("model", "missing");
    const json& model = *mit;
    LLMKIT_RETURN_IF_ERROR(req_object(model, "model"));
    std::string mtype;
    bool has_type = false;
    LLMKIT_RETURN_IF_ERROR(opt_string(model, "type", "model", &mtype, &has_type));
    if (has_type && mtype != "BPE")
      return err("model.type", "model '" + mtype + "' is not BPE", StatusCode::kUnsupported);

    BpeConfig c;
    c.name = name_;
    c.strict_merges = true;
    // --- vocab
    auto vit = model.find("vocab");
    if (vit == model.end()) return err("model.vocab", "missing");
    if (!vit->is_object()) return type_err("model.vocab", "an object", *vit);
    int64_t max_id = -1;
    for (auto it = vit->begin(); it != vit->end(); ++it) {
      if (!it.value().is_number_integer())
        return type_err("model.vocab[" + quote_piece(it.key()) + "]", "an integer", it.value());
      int64_t id = it.value().get<int64_t>();
      if (id < 0 || id >= kMaxTokenId)
        return err(
            "model.vocab[" + quote_piece(it.key()) + "]",
            "id " + std::to_string(id) + " out of range [0, " + std::to_string(kMaxTokenId) + ")");
      max_id = std::max(max_id, id);
    }
    // --- added tokens (may extend the id space)
    std::vector<AddedToken> added;
    if (auto at = root.find("added_tokens"); at != root.end() && !at->is_null()) {
      if (!at->is_array()) return type_err("added_tokens", "an array", *at);
      for (size_t i = 0; i < at->size(); ++i) {
        const json& e = (*at)[i];
        const std::string p = "added_tokens[" + std::to_string(i) + "]";
        LLMKIT_RETURN_IF_ERROR(req_object(e, p));
        AddedToken a;
        auto idit = e.find("id");
        if (idit == e.end() || !idit->is_number_integer())
          return err(p + ".id", "expected an integer");
        int64_t id = idit->get<int64_t>();
        if (id < 0 || id >= kMaxTokenId) return err(p + ".id", "id out of range");
        a.id = int32_t(id);
        bool present = false;
        LLMKIT_RETURN_IF_ERROR(opt_string(e, "content", p, &a.content, &present));
        if (!present || a.content.empty()) return err(p + ".content", "missing or empty");
        a.special = false;
        LLMKIT_RETURN_IF_ERROR(opt_bool(e, "special", p, &a.special));
        LLMKIT_RETURN_IF_ERROR(opt_bool(e, "lstrip", p, &a.lstrip));
        LLMKIT_RETURN_IF_ERROR(opt_bool(e, "rstrip", p, &a.rstrip));
        LLMKIT_RETURN_IF_ERROR(opt_bool(e, "normalized", p, &a.normalized));
        LLMKIT_RETURN_IF_ERROR(opt_bool(e, "single_word", p, &a.single_word));
        max_id = std::max(max_id, id);
        added.push_back(std::move(a));
      }
    }
    if (max_id < 0) return err("model.vocab", "empty vocabulary");
    // Ids are dense in real files; a few holes are tolerated, but a tiny file must not be able to
    // claim id 8'000'000 and make us allocate a table that large.
    const int64_t entries = int64_t(vit->size() + added.size());
    if (max_id >= 2 * entries + 1024)
      return err("model.vocab", "ids are too sparse: largest id " + std::to_string(max_id) +
                                    " for " + std::to_string(entries) + " entries");
    c.tokens.assign(size_t(max_id + 1), std::string());
    c.attrs.assign(size_t(max_id + 1), TokenAttr::kNormal);
    std::vector<bool> filled(size_t(max_id + 1), false);
    for (auto it = vit->begin(); it != vit->end(); ++it) {
      size_t id = size_t(it.value().get<int64_t>());
      if (filled[id])
        return err("model.vocab[" + quote_piece(it.key()) + "]",
                   "id " + std::to_string(id) + " is also used by " + quote_piece(c.tokens[id]));
      if (it.key().empty()) return err("model.vocab", "empty token at id " + std::to_string(id));
      c.tokens[id] = it.key();
      filled[id] = true;
    }
    for (size_t i = 0; i < added.size(); ++i) {
      const AddedToken& a = added[i];
      size_t id = size_t(a.id);
      // An added token may restate a vocabulary entry; HF resolves the id to the added content.
      c.tokens[id] = a.content;
      filled[id] = true;
      c.attrs[id] = a.special ? TokenAttr::kControl : TokenAttr::kUserDefined;
    }
    for (size_t i = 0; i < filled.size(); ++i)
      if (!filled[i]) c.attrs[i] = TokenAttr::kUnused;  // holes in the id space
    c.added = std::move(added);

    // --- model flags
    LLMKIT_RETURN_IF_ERROR(opt_bool(model, "byte_fallback", "model", &c.byte_fallback));
    LLMKIT_RETURN_IF_ERROR(opt_bool(model, "ignore_merges", "model", &c.ignore_merges));
    LLMKIT_RETURN_IF_ERROR(opt_bool(model, "fuse_unk", "model", &c.fuse_unk));
    if (auto d = model.find("dropout"); d != model.end() && !d->is_null()) {
      if (!d->is_number()) return type_err("model.dropout", "a number or null", *d);
      if (d->get<double>() > 0.0)
        return err("model.dropout", "BPE dropout is not supported", StatusCode::kUnsupported);
    }
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      std::string v;
      LLMKIT_RETURN_IF_ERROR(opt_string(model, k, "model", &v));
      if (!v.empty())
        return err(std::string("model.") + k, "non-empty value is not supported",
                   StatusCode::kUnsupported);
    }
    std::unordered_map<std::string, int32_t> ids;
    ids.reserve(c.tokens.size());
    for (size_t i = 0; i < c.tokens.size(); ++i)
      if (!c.tokens[i].empty()) ids.emplace(c.tokens[i], int32_t(i));
    std::string unk;
    bool has_unk = false;
    LLMKIT_RETURN_IF_ERROR(opt_string(model, "unk_token", "model", &unk, &has_unk));
    if (has_unk) {
      auto f = ids.find(unk);
      if (f == ids.end())
        return err("model.unk_token", quote_piece(unk) + " is not in the vocabulary");
      c.unk_id = f->second;
      c.special.unk = f->second;
      if (c.attrs[size_t(f->second)] == TokenAttr::kNormal)
        c.attrs[size_t(f->second)] = TokenAttr::kUnknown;
    }

    // --- merges
    auto mg = model.find("merges");
    if (mg == model.end()) return err("model.merges", "missing");
    if (!mg->is_array()) return type_err("model.merges", "an array", *mg);
    c.merges.reserve(mg->size());
    for (size_t i = 0; i < mg->size(); ++i) {
      const json& e = (*mg)[i];
      if (e.is_string()) {
        const std::string& s = e.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        if (sp != std::string::npos && s.find(' ', sp + 1) != std::string::npos) {
          // Pieces containing a plain space (HF itself rejects such files): accept the split
          // only when exactly one space position yields two vocabulary pieces.
          size_t found = std::string::npos, count = 0;
          for (size_t k = s.find(' '); k != std::string::npos; k = s.find(' ', k + 1)) {
            if (k == 0 || k + 1 >= s.size()) continue;
            if (ids.count(s.substr(0, k)) && ids.count(s.substr(k + 1))) {
              found = k;
              ++count;
            }
          }
          sp = count == 1 ? found : std::string::npos;
        }
        if (sp == std::string::npos)
          return err("model.merges[" + std::to_string(i) + "]",
                     quote_piece(s) + " is not of the form 'LEFT RIGHT'");
        c.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        c.merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        return type_err("model.merges[" + std::to_string(i) + "]", "a string or a pair of strings",
                        e);
      }
    }

    // --- normalizer / pre-tokenizer / post-processor / decoder
    if (auto n = root.find("normalizer"); n != root.end())
      LLMKIT_RETURN_IF_ERROR(normalizer(*n, "normalizer", c.normalizers));
    if (auto p = root.find("pre_tokenizer"); p != root.end())
      LLMKIT_RETURN_IF_ERROR(pre_tokenizer(*p, "pre_tokenizer", c.pre));
    // Each step is one level of recursion per piece; real pipelines have at most a handful.
    if (c.pre.steps.size() > 64 || c.normalizers.size() > 64)
      return err(c.pre.steps.size() > 64 ? "pre_tokenizer" : "normalizer", "more than 64 steps",
                 StatusCode::kUnsupported);
    c.byte_level = c.pre.has_byte_level();
    bool have_post = false;
    if (auto p = root.find("post_processor"); p != root.end())
      LLMKIT_RETURN_IF_ERROR(post_processor(*p, "post_processor", c, ids, &have_post));
    if (auto d = root.find("decoder"); d != root.end()) c.strips_leading_space = decoder_strips(*d);

    // --- tokenizer_config.json
    if (cfg) {
      if (!cfg->is_object()) return type_err("tokenizer_config.json (root)", "an object", *cfg);
      if (int32_t id = config_token(*cfg, "bos_token", c, ids); id >= 0) c.special.bos = id;
      if (int32_t id = config_token(*cfg, "eos_token", c, ids); id >= 0) c.special.eos = id;
      if (int32_t id = config_token(*cfg, "pad_token", c, ids); id >= 0) c.special.pad = id;
      if (int32_t id = config_token(*cfg, "unk_token", c, ids); id >= 0) c.special.unk = id;
      LLMKIT_RETURN_IF_ERROR(
          opt_bool(*cfg, "add_bos_token", "tokenizer_config.json", &c.special.add_bos));
      LLMKIT_RETURN_IF_ERROR(
          opt_bool(*cfg, "add_eos_token", "tokenizer_config.json", &c.special.add_eos));
    }
    if (c.special.add_bos && c.special.bos < 0) c.special.add_bos = false;
    if (c.special.add_eos && c.special.eos < 0) c.special.add_eos = false;
    fill_end_of_generation(c.tokens, c.attrs, c.special);

    LLMKIT_ASSIGN_OR_RETURN(auto m, BpeModel::create(std::move(c)));
    return std::unique_ptr<TokenizerModel>(std::move(m));
  }

 private:
  std::string name_;
};

Result<json> parse_json(std::string_view text, const std::string& name) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return Status(StatusCode::kCorruptFile,
                  name + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, name + ": out of memory while parsing JSON");
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile, name + ": invalid JSON: " + e.what());
  }
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return Status(StatusCode::kNotFound, path + ": cannot open");
  std::streamoff size = f.tellg();
  if (size < 0) return Status(StatusCode::kIoError, path + ": cannot determine size");
  if (uint64_t(size) > kMaxFileBytes)
    return Status(StatusCode::kCorruptFile,
                  path + ": " + std::to_string(size) + " bytes is too large for a tokenizer file");
  std::string data(size_t(size), '\0');
  f.seekg(0);
  if (!f.read(data.data(), size)) return Status(StatusCode::kIoError, path + ": read failed");
  return data;
}

}  // namespace

Result<std::unique_ptr<TokenizerModel>> parse_tokenizer_json(std::string_view text,
                                                             const std::string& name,
                                                             std::string_view config_json) {
  try {
    LLMKIT_ASSIGN_OR_RETURN(json root, parse_json(text, name));
    json cfg;
    bool have_cfg = false;
    if (!config_json.empty()) {
      LLMKIT_ASSIGN_OR_RETURN(cfg, parse_json(config_json, name + " (tokenizer_config.json)"));
      have_cfg = true;
    }
    Builder b(name);
    return b.build(root, have_cfg ? &cfg : nullptr);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, name + ": out of memory");
  } catch (const std::exception& e) {
    // Defensive: typed accessors are checked first, so this is a bug if it ever triggers.
    return Status(StatusCode::kCorruptFile, name + ": malformed tokenizer.json: " + e.what());
  } catch (...) {
    return Status(StatusCode::kInternal, name + ": unexpected exception");
  }
}

Result<std::unique_ptr<TokenizerModel>> load_tokenizer_json(const std::string& path,
                                                            const std::string& config_path) {
  LLMKIT_ASSIGN_OR_RETURN(std::string text, read_file(path));
  std::string cfg;
  if (!config_path.empty()) {
    LLMKIT_ASSIGN_OR_RETURN(cfg, read_file(config_path));
  }
  return parse_tokenizer_json(text, path, cfg);
}

}  // namespace llmkit::tok
