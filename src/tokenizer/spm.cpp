#include "tokenizer/spm.hpp"

#include <sentencepiece_processor.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "io/mapped_file.hpp"
#include "io/utf8.hpp"
#include "tokenizer/bpe.hpp"  // fill_end_of_generation

namespace llmkit::tok {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, from.size(), from) == 0) {
      out.append(to);
      i += from.size();
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// llama.cpp's unicode_len_utf8: the sequence length its SPM tokenizer assumes from a lead byte,
// without validating the continuation bytes.
size_t llama_cpp_char_len(unsigned char lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

Result<std::string> read_file(const std::string& path) {
  LLMKIT_ASSIGN_OR_RETURN(auto mf, io::MappedFile::open(path));
  return std::string(reinterpret_cast<const char*>(mf->data()), size_t(mf->size()));
}

// tokenizer_config.json: add_bos_token / add_eos_token (booleans) override the defaults.
Status apply_tokenizer_config(std::string_view json, const std::string& name, SpecialIds& sp) {
  if (json.empty()) return Status::ok();
  try {
    nlohmann::json cfg = nlohmann::json::parse(json.begin(), json.end());
    if (!cfg.is_object())
      return Status(StatusCode::kCorruptFile, name + ": tokenizer_config.json is not an object");
    const std::pair<const char*, bool*> keys[] = {{"add_bos_token", &sp.add_bos},
                                                  {"add_eos_token", &sp.add_eos}};
    for (const auto& [key, dst] : keys) {
      auto it = cfg.find(key);
      if (it == cfg.end() || it->is_null()) continue;
      if (!it->is_boolean())
        return Status(StatusCode::kCorruptFile,
                      name + ": tokenizer_config.json: " + key + " is not a boolean");
      *dst = it->get<bool>();
    }
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile,
                  name + ": tokenizer_config.json: " + std::string(e.what()));
  }
  return Status::ok();
}

}  // namespace

SpmModel::SpmModel() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  byte_ids_.fill(-1);
}
SpmModel::~SpmModel() = default;

Status SpmModel::init_processor(std::string_view serialized, const std::string& name) {
  try {
    auto st = sp_->LoadFromSerializedProto(serialized);
    if (!st.ok())
      return Status(StatusCode::kCorruptFile,
                    name + ": sentencepiece rejected the model: " + std::string(st.message()));
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile, name + ": sentencepiece: " + std::string(e.what()));
  }
  if (size_t(sp_->GetPieceSize()) != text_.size())
    return Status(StatusCode::kInternal, name + ": sentencepiece reports " +
                                             std::to_string(sp_->GetPieceSize()) +
                                             " pieces, expected " + std::to_string(text_.size()));
  return Status::ok();
}

void SpmModel::build_lookup() {
  piece_to_id_.reserve(text_.size() * 2);
  for (size_t i = 0; i < text_.size(); ++i) {
    piece_to_id_.emplace(text_[i], int32_t(i));
    if (attrs_[i] == TokenAttr::kByte) {
      int b = parse_byte_piece(text_[i]);
      if (b >= 0 && byte_ids_[size_t(b)] < 0) byte_ids_[size_t(b)] = int32_t(i);
    }
  }
}

Result<std::unique_ptr<SpmModel>> SpmModel::from_model_proto(std::string_view bytes,
                                                             const std::string& name,
                                                             std::string_view config_json) {
  LLMKIT_ASSIGN_OR_RETURN(SpmModelSpec spec, parse_spm_model_proto(bytes, name));
  LLMKIT_RETURN_IF_ERROR(validate_spm_pieces(spec.pieces, name));
  for (size_t i = 0; i < spec.pieces.size(); ++i)
    if (!std::isfinite(spec.pieces[i].score))
      return Status(StatusCode::kCorruptFile,
                    name + ": token " + std::to_string(i) + " has a non-finite score");
  bool has_bytes = false;
  for (const SpmPiece& p : spec.pieces) has_bytes |= p.type == SpmPieceType::kByte;
  if (has_bytes && !spec.byte_fallback)
    return Status(StatusCode::kCorruptFile,
                  name + ": byte pieces (<0xNN>) present but trainer_spec.byte_fallback is false");

  std::unique_ptr<SpmModel> m(new SpmModel());
  m->name_ = name;
  m->model_type_ = spec.model_type;
  m->gguf_mode_ = false;
  m->strips_leading_space_ = spec.add_dummy_prefix && !spec.treat_whitespace_as_suffix;
  m->text_.reserve(spec.pieces.size());
  m->attrs_.reserve(spec.pieces.size());
  for (const SpmPiece& p : spec.pieces) {
    m->text_.push_back(p.piece);
    m->attrs_.push_back(TokenAttr(int32_t(p.type)));
  }
  LLMKIT_RETURN_IF_ERROR(m->init_processor(bytes, name));
  m->build_lookup();

  const int32_t n = int32_t(m->text_.size());
  auto in_range = [n](int32_t id) { return id >= 0 && id < n ? id : -1; };
  SpecialIds& sp = m->special_;
  sp.bos = in_range(spec.bos_id);
  sp.eos = in_range(spec.eos_id);
  sp.pad = in_range(spec.pad_id);
  sp.unk = in_range(spec.unk_id);
  // sentencepiece adds nothing itself; transformers' Llama-style tokenizers (and llama.cpp's
  // converter) add BOS by default.
  sp.add_bos = sp.bos >= 0;
  sp.add_eos = false;
  LLMKIT_RETURN_IF_ERROR(apply_tokenizer_config(config_json, name, sp));
  if (sp.bos < 0) sp.add_bos = false;
  if (sp.eos < 0) sp.add_eos = false;
  fill_end_of_generation(m->text_, m->attrs_, sp);

  // Control and unknown pieces are recognised in input text only with parse_special;
  // user-defined pieces are matched by sentencepiece itself, as the reference does.
  for (size_t i = 0; i < m->text_.size(); ++i) {
    if (m->attrs_[i] != TokenAttr::kControl && m->attrs_[i] != TokenAttr::kUnknown) continue;
    AddedToken a;
    a.id = int32_t(i);
    a.content = m->text_[i];
    a.special = true;
    m->added_.push_back(std::move(a));
  }
  return m;
}

Result<std::unique_ptr<SpmModel>> SpmModel::from_gguf(const io::GgufFile& g) {
  const std::string file = g.path().empty() ? std::string("<gguf>") : g.path();
  auto model = g.get_string("tokenizer.ggml.model");
  if (!model) return Status(StatusCode::kNotFound, file + ": tokenizer.ggml.model is missing");
  if (*model != "llama")
    return Status(StatusCode::kUnsupported, file + ": tokenizer.ggml.model is '" + *model +
                                                "', not a SentencePiece vocabulary ('llama')");
  const io::GgufValue* tok = g.find("tokenizer.ggml.tokens");
  if (!tok || !tok->is_array() || tok->elem_type != io::GgufType::STRING)
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.tokens is missing or not an array of strings");
  const size_t n = tok->arr_str.size();
  if (n == 0) return Status(StatusCode::kCorruptFile, file + ": tokenizer.ggml.tokens is empty");
  if (n > size_t(INT32_MAX))
    return Status(StatusCode::kCorruptFile, file + ": tokenizer.ggml.tokens is absurdly large");

  const io::GgufValue* sc = g.find("tokenizer.ggml.scores");
  if (sc && (!sc->is_array() ||
             (sc->elem_type != io::GgufType::FLOAT32 && sc->elem_type != io::GgufType::FLOAT64)))
    return Status(
        StatusCode::kCorruptFile,
        file + ": tokenizer.ggml.scores must be an array of floats, found " +
            (sc->is_array() ? std::string("an array of ") + io::gguf_type_name(sc->elem_type)
                            : std::string(io::gguf_type_name(sc->type))));
  if (sc && sc->arr_float.size() != n)
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.scores has " + std::to_string(sc->arr_float.size()) +
                      " entries, expected one per token (" + std::to_string(n) + ")");
  const io::GgufValue* tt = g.find("tokenizer.ggml.token_type");
  if (tt && (!tt->is_array() || tt->arr_int.size() != n))
    return Status(StatusCode::kCorruptFile,
                  file +
                      ": tokenizer.ggml.token_type must be an integer array with one entry per "
                      "token (" +
                      std::to_string(n) + "), got " +
                      std::to_string(tt->is_array() ? tt->array_size() : 0) + " entries");

  auto id_key = [&](const char* key, int32_t dflt) -> int32_t {
    const io::GgufValue* v = g.find(key);
    if (!v) return dflt < int64_t(n) ? dflt : -1;  // llama.cpp's SPM defaults
    auto i = v->as_int();
    if (!i || *i < 0 || uint64_t(*i) >= n) return -1;
    return int32_t(*i);
  };

  std::unique_ptr<SpmModel> m(new SpmModel());
  m->name_ = file;
  m->gguf_mode_ = true;
  m->model_type_ = SpmModelType::kBpe;
  m->text_ = tok->arr_str;
  m->attrs_.assign(n, TokenAttr::kNormal);
  SpmModelSpec spec;
  spec.model_type = SpmModelType::kBpe;
  spec.pieces.resize(n);
  for (size_t i = 0; i < n; ++i) {
    SpmPiece& p = spec.pieces[i];
    p.piece = m->text_[i];
    if (sc) {
      double s = sc->arr_float[i];
      if (!std::isfinite(s))
        return Status(StatusCode::kCorruptFile,
                      file + ": tokenizer.ggml.scores[" + std::to_string(i) + "] is not finite");
      p.score = float(s);
    }
    if (tt) {
      int64_t v = tt->arr_int[i];
      if (v < 0 || v > 6)
        return Status(StatusCode::kCorruptFile, file + ": tokenizer.ggml.token_type[" +
                                                    std::to_string(i) + "] = " + std::to_string(v) +
                                                    " is not 0..6");
      m->attrs_[i] = v == 0 ? TokenAttr::kNormal : TokenAttr(int32_t(v));
    }
  }

  // SentencePiece reserves ids 0..2 for <unk>, <s>, </s>. Some converters label these slots
  // user-defined (Phi-3's "</s>"); both llama.cpp (which retypes EOG-looking tokens as control)
  // and HF treat them as special, so they are control tokens here. Only the reserved slots:
  // Gemma's user-defined "<s>"/"</s>" at ids 203/212 are HTML tags and stay user-defined.
  {
    static const char* const kReserved[] = {"<unk>", "<s>", "</s>"};
    for (size_t i = 0; i < 3 && i < n; ++i)
      if (m->attrs_[i] == TokenAttr::kUserDefined && m->text_[i] == kReserved[i])
        m->attrs_[i] = TokenAttr::kControl;
  }

  SpecialIds& sp = m->special_;
  sp.bos = id_key("tokenizer.ggml.bos_token_id", 1);
  sp.eos = id_key("tokenizer.ggml.eos_token_id", 2);
  sp.unk = id_key("tokenizer.ggml.unknown_token_id", 0);
  sp.pad = id_key("tokenizer.ggml.padding_token_id", -1);
  sp.eot = id_key("tokenizer.ggml.eot_token_id", -1);
  sp.add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(true);
  sp.add_eos = g.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  if (sp.bos < 0) sp.add_bos = false;
  if (sp.eos < 0) sp.add_eos = false;
  if (int32_t eom = id_key("tokenizer.ggml.eom_token_id", -1); eom >= 0)
    sp.end_of_generation.push_back(eom);
  m->add_space_prefix_ = g.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  m->strips_leading_space_ = m->add_space_prefix_;

  // sentencepiece needs exactly one unknown piece: the file's unknown id (whatever its type, e.g.
  // Gemma's <unk> is a control token), else the first unknown-typed token. Other unknown-typed
  // tokens (Phi-3's [PAD...]) become control pieces — never produced by merging, like llama.cpp.
  int32_t unk = sp.unk;
  if (unk < 0)
    for (size_t i = 0; i < n && unk < 0; ++i)
      if (m->attrs_[i] == TokenAttr::kUnknown) unk = int32_t(i);
  if (unk < 0)
    return Status(StatusCode::kUnsupported,
                  file + ": the SentencePiece vocabulary has no unknown token");
  sp.unk = unk;
  bool has_bytes = false;
  for (size_t i = 0; i < n; ++i) {
    SpmPieceType t = SpmPieceType(int32_t(m->attrs_[i]));
    if (int32_t(i) == unk)
      t = SpmPieceType::kUnknown;
    else if (t == SpmPieceType::kUnknown)
      t = SpmPieceType::kControl;
    spec.pieces[i].type = t;
    has_bytes |= t == SpmPieceType::kByte;
  }
  LLMKIT_RETURN_IF_ERROR(validate_spm_pieces(spec.pieces, file + ": tokenizer.ggml.tokens"));
  spec.byte_fallback = has_bytes;
  spec.unk_id = unk;
  spec.bos_id = sp.bos;
  spec.eos_id = sp.eos == sp.bos ? -1 : sp.eos;
  spec.pad_id = (sp.pad == sp.bos || sp.pad == sp.eos || sp.pad == unk) ? -1 : sp.pad;
  if (spec.bos_id == unk) spec.bos_id = -1;
  if (spec.eos_id == unk) spec.eos_id = -1;
  spec.normalizer_name = "identity";
  spec.add_dummy_prefix = false;  // prepended per segment in encode(), as llama.cpp does
  spec.remove_extra_whitespaces = false;
  spec.escape_whitespaces = true;
  // The facade handles BOS/EOS/PAD itself; sentencepiece only needs ids that point at control
  // pieces (a normal piece used as BOS would otherwise confuse it), so drop the others.
  for (int32_t* id : {&spec.bos_id, &spec.eos_id, &spec.pad_id})
    if (*id >= 0 && spec.pieces[size_t(*id)].type != SpmPieceType::kControl) *id = -1;

  const std::string serialized = serialize_spm_model_proto(spec);
  spec.pieces.clear();
  spec.pieces.shrink_to_fit();
  LLMKIT_RETURN_IF_ERROR(m->init_processor(serialized, file));
  m->build_lookup();
  fill_end_of_generation(m->text_, m->attrs_, sp);

  // llama.cpp matches control/unknown tokens only with parse_special and user-defined tokens
  // always.
  for (size_t i = 0; i < n; ++i) {
    TokenAttr a = m->attrs_[i];
    if (a != TokenAttr::kControl && a != TokenAttr::kUnknown && a != TokenAttr::kUserDefined)
      continue;
    AddedToken t;
    t.id = int32_t(i);
    t.content = m->text_[i];
    t.special = a != TokenAttr::kUserDefined;
    if (!t.special && t.content.find(' ') != std::string::npos) {
      AddedToken escaped = t;
      escaped.content = replace_all(t.content, " ", kSpace);
      if (m->piece_to_id_.count(escaped.content) == 0) m->added_.push_back(std::move(escaped));
    }
    m->added_.push_back(std::move(t));
  }
  return m;
}

Status SpmModel::encode_run(std::string_view run, std::vector<int32_t>& out) const {
  if (run.empty()) return Status::ok();
  std::vector<int> ids;
  auto st = sp_->Encode(run, &ids);
  if (!st.ok())
    return Status(StatusCode::kInternal, name_ + ": sentencepiece: " + std::string(st.message()));
  out.insert(out.end(), ids.begin(), ids.end());
  return Status::ok();
}

Status SpmModel::encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const {
  (void)at_start;  // both references prefix every segment, not just the first
  if (text.empty()) return Status::ok();
  if (!gguf_mode_) return encode_run(text, out);

  // llama.cpp escapes spaces to U+2581 before it splits the text into characters, so an invalid
  // sequence can swallow bytes of an escaped space; do the same (sentencepiece treats a literal
  // U+2581 exactly like an escaped space).
  std::string buf;
  buf.reserve(text.size() + 8);
  if (add_space_prefix_) buf.append(kSpace);
  for (char c : text) {
    if (c == ' ')
      buf.append(kSpace);
    else
      buf.push_back(c);
  }
  std::string_view s = buf;
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  size_t run_start = 0, i = 0;
  while (i < s.size()) {
    size_t len = std::min(llama_cpp_char_len(u[i]), s.size() - i);
    if (io::utf8_sequence_length(u + i, s.size() - i) == len) {
      i += len;
      continue;
    }
    // An invalid sequence: its bytes become byte tokens (unk without byte tokens).
    LLMKIT_RETURN_IF_ERROR(encode_run(s.substr(run_start, i - run_start), out));
    for (size_t k = 0; k < len; ++k) {
      int32_t id = byte_ids_[u[i + k]];
      out.push_back(id >= 0 ? id : special_.unk);
    }
    i += len;
    run_start = i;
  }
  return encode_run(s.substr(run_start), out);
}

std::string SpmModel::token_bytes(int32_t id, bool render_special) const {
  if (id < 0 || size_t(id) >= text_.size()) return {};
  const std::string& t = text_[size_t(id)];
  switch (attrs_[size_t(id)]) {
    case TokenAttr::kControl:
    case TokenAttr::kUnknown:
      return render_special ? t : std::string();
    case TokenAttr::kByte: {
      int b = parse_byte_piece(t);
      return b >= 0 ? std::string(1, char(b)) : t;
    }
    default:
      return replace_all(t, kSpace, " ");
  }
}

const std::string& SpmModel::token_text(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || size_t(id) >= text_.size()) return kEmpty;
  return text_[size_t(id)];
}

TokenAttr SpmModel::token_attr(int32_t id) const {
  if (id < 0 || size_t(id) >= attrs_.size()) return TokenAttr::kUndefined;
  return attrs_[size_t(id)];
}

int32_t SpmModel::find_token(std::string_view piece) const {
  auto it = piece_to_id_.find(piece);
  return it == piece_to_id_.end() ? -1 : it->second;
}

Result<std::unique_ptr<TokenizerModel>> make_spm_from_gguf(const io::GgufFile& gguf) {
  LLMKIT_ASSIGN_OR_RETURN(auto m, SpmModel::from_gguf(gguf));
  return std::unique_ptr<TokenizerModel>(std::move(m));
}

Result<std::unique_ptr<TokenizerModel>> load_spm_model_file(const std::string& path,
                                                            const std::string& config_path) {
  LLMKIT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  std::string config;
  if (!config_path.empty()) {
    LLMKIT_ASSIGN_OR_RETURN(config, read_file(config_path));
  }
  LLMKIT_ASSIGN_OR_RETURN(auto m, SpmModel::from_model_proto(bytes, path, config));
  return std::unique_ptr<TokenizerModel>(std::move(m));
}

}  // namespace llmkit::tok
