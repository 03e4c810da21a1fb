#include "tokenizer/spm.hpp"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

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

// 64-bit hash of a piece's bytes for the lookup table: 8-byte words folded in with a
// multiply-xorshift, then a final avalanche so both the low bits (slot) and the top bits (tag)
// are usable.
uint64_t hash_piece(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t(s.size()) * 0xC2B2AE3D27D4EB4Full);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

// Slots for N pieces: a power of two at least twice N (load factor <= 0.5).
size_t table_size(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}

constexpr uint32_t kIdMask = 0x00FFFFFFu;  // ids < kMaxSpmPieces = 2^24
uint32_t slot_tag(uint64_t h) { return 0x80000000u | (uint32_t(h >> 57) << 24); }

// Piece types sentencepiece's BPE merges into (its `pieces_`; control, unknown and byte pieces are
// reserved and never produced by a merge).
bool mergeable(SpmPieceType t) {
  return t == SpmPieceType::kNormal || t == SpmPieceType::kUserDefined ||
         t == SpmPieceType::kUnused;
}

}  // namespace

SpmModel::SpmModel() { byte_ids_.fill(-1); }
SpmModel::~SpmModel() = default;

Status SpmModel::init_processor(std::string_view serialized, const std::string& name) {
  sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
  try {
    auto st = sp_->LoadFromSerializedProto(serialized);
    if (!st.ok())
      return Status(StatusCode::kCorruptFile,
                    name + ": sentencepiece rejected the model: " + std::string(st.message()));
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile, name + ": sentencepiece: " + std::string(e.what()));
  }
  if (size_t(sp_->GetPieceSize()) != vocab_size())
    return Status(StatusCode::kInternal, name + ": sentencepiece reports " +
                                             std::to_string(sp_->GetPieceSize()) +
                                             " pieces, expected " + std::to_string(vocab_size()));
  return Status::ok();
}

void SpmModel::add_text(std::string_view piece) {
  if (offsets_.empty()) offsets_.push_back(0);
  text_.append(piece);
  offsets_.push_back(uint32_t(text_.size()));
}

size_t SpmModel::slot_of(std::string_view piece) const {
  const uint64_t h = hash_piece(piece);
  const uint32_t tag = slot_tag(h);
  const size_t mask = slots_.size() - 1;
  for (size_t i = size_t(h) & mask;; i = (i + 1) & mask) {
    const uint32_t s = slots_[i];
    if (s == 0 || ((s & ~kIdMask) == tag && text(s & kIdMask) == piece)) return i;
  }
}

int32_t SpmModel::index_piece(int32_t id) {
  const std::string_view piece = text(size_t(id));
  const size_t i = slot_of(piece);
  if (slots_[i] != 0) return int32_t(slots_[i] & kIdMask);
  slots_[i] = slot_tag(hash_piece(piece)) | uint32_t(id);
  return -1;
}

int32_t SpmModel::find_token(std::string_view piece) const {
  if (slots_.empty()) return -1;
  const uint32_t s = slots_[slot_of(piece)];
  return s == 0 ? -1 : int32_t(s & kIdMask);
}

void SpmModel::build_byte_ids() {
  for (size_t i = 0; i < attrs_.size(); ++i) {
    if (TokenAttr(attrs_[i]) != TokenAttr::kByte) continue;
    int b = parse_byte_piece(text(i));
    if (b >= 0 && byte_ids_[size_t(b)] < 0) byte_ids_[size_t(b)] = int32_t(i);
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
  size_t total = 0;
  for (const SpmPiece& p : spec.pieces) {
    has_bytes |= p.type == SpmPieceType::kByte;
    total += p.piece.size();
  }
  if (has_bytes && !spec.byte_fallback)
    return Status(StatusCode::kCorruptFile,
                  name + ": byte pieces (<0xNN>) present but trainer_spec.byte_fallback is false");
  if (total > UINT32_MAX)
    return Status(StatusCode::kCorruptFile, name + ": more than 4 GiB of piece text");

  std::unique_ptr<SpmModel> m(new SpmModel());
  m->name_ = name;
  m->model_type_ = spec.model_type;
  m->gguf_mode_ = false;
  m->strips_leading_space_ = spec.add_dummy_prefix && !spec.treat_whitespace_as_suffix;
  const size_t n = spec.pieces.size();
  m->text_.reserve(total);
  m->offsets_.reserve(n + 1);
  m->attrs_.reserve(n);
  m->types_.reserve(n);
  for (const SpmPiece& p : spec.pieces) {
    m->add_text(p.piece);
    m->attrs_.push_back(uint8_t(p.type));
    m->types_.push_back(uint8_t(p.type));
  }
  m->slots_.assign(table_size(n), 0);
  for (size_t i = 0; i < n; ++i) m->index_piece(int32_t(i));  // validated: no duplicates
  m->build_byte_ids();
  LLMKIT_RETURN_IF_ERROR(m->init_processor(bytes, name));

  auto in_range = [n](int32_t id) { return id >= 0 && size_t(id) < n ? id : -1; };
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
  const SpmModel& model = *m;
  fill_end_of_generation(
      [&model](std::string_view piece) -> int32_t {
        const int32_t id = model.find_token(piece);
        const TokenAttr a = model.token_attr(id);
        return a == TokenAttr::kControl || a == TokenAttr::kUserDefined ? id : -1;
      },
      sp);

  // Control and unknown pieces are recognised in input text only with parse_special;
  // user-defined pieces are matched by sentencepiece itself, as the reference does.
  for (size_t i = 0; i < n; ++i) {
    const TokenAttr a = TokenAttr(m->attrs_[i]);
    if (a != TokenAttr::kControl && a != TokenAttr::kUnknown) continue;
    AddedToken t;
    t.id = int32_t(i);
    t.content = std::string(m->text(i));
    t.special = true;
    m->added_.push_back(std::move(t));
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
  size_t total = 0;
  for (const std::string& s : tok->arr_str) total += s.size();
  if (total > UINT32_MAX)
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.tokens holds more than 4 GiB of text");

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
  m->text_.reserve(total);
  m->offsets_.reserve(n + 1);
  for (const std::string& s : tok->arr_str) m->add_text(s);
  m->attrs_.assign(n, uint8_t(TokenAttr::kNormal));
  m->scores_.assign(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    if (sc) {
      double s = sc->arr_float[i];
      if (!std::isfinite(s))
        return Status(StatusCode::kCorruptFile,
                      file + ": tokenizer.ggml.scores[" + std::to_string(i) + "] is not finite");
      m->scores_[i] = float(s);
    }
    if (tt) {
      int64_t v = tt->arr_int[i];
      if (v < 0 || v > 6)
        return Status(StatusCode::kCorruptFile, file + ": tokenizer.ggml.token_type[" +
                                                    std::to_string(i) + "] = " + std::to_string(v) +
                                                    " is not 0..6");
      m->attrs_[i] = uint8_t(v == 0 ? TokenAttr::kNormal : TokenAttr(int32_t(v)));
    }
  }

  // SentencePiece reserves ids 0..2 for <unk>, <s>, </s>. Some converters label these slots
  // user-defined (Phi-3's "</s>"); both llama.cpp (which retypes EOG-looking tokens as control)
  // and HF treat them as special, so they are control tokens here. Only the reserved slots:
  // Gemma's user-defined "<s>"/"</s>" at ids 203/212 are HTML tags and stay user-defined.
  {
    static const char* const kReserved[] = {"<unk>", "<s>", "</s>"};
    for (size_t i = 0; i < 3 && i < n; ++i)
      if (TokenAttr(m->attrs_[i]) == TokenAttr::kUserDefined && m->text(i) == kReserved[i])
        m->attrs_[i] = uint8_t(TokenAttr::kControl);
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

  // The BPE needs exactly one unknown piece: the file's unknown id (whatever its type, e.g.
  // Gemma's <unk> is a control token), else the first unknown-typed token. Other unknown-typed
  // tokens (Phi-3's [PAD...]) become control pieces — never produced by merging, like llama.cpp.
  int32_t unk = sp.unk;
  if (unk < 0)
    for (size_t i = 0; i < n && unk < 0; ++i)
      if (TokenAttr(m->attrs_[i]) == TokenAttr::kUnknown) unk = int32_t(i);
  if (unk < 0)
    return Status(StatusCode::kUnsupported,
                  file + ": the SentencePiece vocabulary has no unknown token");
  sp.unk = unk;
  m->types_.resize(n);
  size_t n_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    SpmPieceType t = SpmPieceType(m->attrs_[i]);
    if (int32_t(i) == unk)
      t = SpmPieceType::kUnknown;
    else if (t == SpmPieceType::kUnknown)
      t = SpmPieceType::kControl;
    m->types_[i] = uint8_t(t);
    n_bytes += t == SpmPieceType::kByte;
  }
  if (n <= kMaxSpmPieces) m->slots_.assign(table_size(n), 0);
  SpmModel& mm = *m;
  LLMKIT_RETURN_IF_ERROR(validate_spm_vocab(
      n, [&mm](size_t i) { return mm.text(i); }, [&mm](size_t i) { return mm.piece_type(i); },
      [&mm](size_t i) -> int64_t { return mm.index_piece(int32_t(i)); },
      file + ": tokenizer.ggml.tokens"));
  // Byte fallback resegments unknown symbols into all of their bytes, so it needs every byte
  // (sentencepiece refuses the model otherwise).
  if (n_bytes != 0 && n_bytes != 256)
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.tokens has " + std::to_string(n_bytes) +
                      " byte tokens (<0xNN>); byte fallback needs all 256");
  m->byte_fallback_ = n_bytes == 256;
  m->build_byte_ids();
  for (size_t i = 0; i < n; ++i) {
    const SpmPieceType t = m->piece_type(i);
    if (!mergeable(t)) continue;
    m->max_merge_len_ = std::max(m->max_merge_len_, m->text(i).size());
    if (t == SpmPieceType::kUserDefined) {
      m->user_defined_.push_back(int32_t(i));
      m->user_defined_first_[uint8_t(m->text(i)[0])] = true;
    }
  }
  std::sort(m->user_defined_.begin(), m->user_defined_.end(),
            [&mm](int32_t a, int32_t b) { return mm.text(size_t(a)) < mm.text(size_t(b)); });
  fill_end_of_generation(
      [&mm](std::string_view piece) -> int32_t {
        const int32_t id = mm.find_token(piece);
        const TokenAttr a = mm.token_attr(id);
        return a == TokenAttr::kControl || a == TokenAttr::kUserDefined ? id : -1;
      },
      sp);

  // llama.cpp matches control/unknown tokens only with parse_special and user-defined tokens
  // always.
  for (size_t i = 0; i < n; ++i) {
    const TokenAttr a = TokenAttr(m->attrs_[i]);
    if (a != TokenAttr::kControl && a != TokenAttr::kUnknown && a != TokenAttr::kUserDefined)
      continue;
    AddedToken t;
    t.id = int32_t(i);
    t.content = std::string(m->text(i));
    t.special = a != TokenAttr::kUserDefined;
    if (!t.special && t.content.find(' ') != std::string::npos) {
      AddedToken escaped = t;
      escaped.content = replace_all(t.content, " ", kSpace);
      if (m->find_token(escaped.content) < 0) m->added_.push_back(std::move(escaped));
    }
    m->added_.push_back(std::move(t));
  }
  return m;
}

SpmModelSpec SpmModel::gguf_model_spec() const {
  SpmModelSpec spec;
  if (!gguf_mode_) return spec;
  const size_t n = vocab_size();
  spec.model_type = SpmModelType::kBpe;
  spec.pieces.resize(n);
  for (size_t i = 0; i < n; ++i)
    spec.pieces[i] = SpmPiece{std::string(text(i)), scores_[i], piece_type(i)};
  spec.byte_fallback = byte_fallback_;
  const SpecialIds& sp = special_;
  const int32_t unk = sp.unk;
  spec.unk_id = unk;
  spec.bos_id = sp.bos;
  spec.eos_id = sp.eos == sp.bos ? -1 : sp.eos;
  spec.pad_id = (sp.pad == sp.bos || sp.pad == sp.eos || sp.pad == unk) ? -1 : sp.pad;
  if (spec.bos_id == unk) spec.bos_id = -1;
  if (spec.eos_id == unk) spec.eos_id = -1;
  // sentencepiece only needs ids that point at control pieces (a normal piece used as BOS would
  // otherwise confuse it); encode() adds no BOS/EOS itself.
  for (int32_t* id : {&spec.bos_id, &spec.eos_id, &spec.pad_id})
    if (*id >= 0 && spec.pieces[size_t(*id)].type != SpmPieceType::kControl) *id = -1;
  spec.normalizer_name = "identity";
  spec.add_dummy_prefix = false;  // prepended per segment in encode(), as llama.cpp does
  spec.remove_extra_whitespaces = false;
  spec.escape_whitespaces = true;
  return spec;
}

size_t SpmModel::match_user_defined(std::string_view s) const {
  // user_defined_ is sorted by text; [lo, hi) holds the pieces that start with s[0, k).
  size_t lo = 0, hi = user_defined_.size(), best = 0;
  for (size_t k = 0; k < s.size() && lo < hi; ++k) {
    if (text(size_t(user_defined_[lo])).size() == k) ++lo;  // the piece s[0, k) itself
    const unsigned char c = uint8_t(s[k]);
    auto byte_at = [&](int32_t id) { return uint8_t(text(size_t(id))[k]); };
    auto first = std::partition_point(user_defined_.begin() + std::ptrdiff_t(lo),
                                      user_defined_.begin() + std::ptrdiff_t(hi),
                                      [&](int32_t id) { return byte_at(id) < c; });
    auto last = std::partition_point(first, user_defined_.begin() + std::ptrdiff_t(hi),
                                     [&](int32_t id) { return byte_at(id) == c; });
    lo = size_t(first - user_defined_.begin());
    hi = size_t(last - user_defined_.begin());
    if (lo < hi && text(size_t(user_defined_[lo])).size() == k + 1) best = k + 1;
  }
  return best;
}

Status SpmModel::encode_run_native(std::string_view run, std::vector<int32_t>& out) const {
  if (run.size() >= size_t(INT32_MAX))
    return Status(StatusCode::kInvalidArgument, name_ + ": text segment longer than 2 GiB");
  struct Symbol {
    uint32_t start, len;  // len 0: merged into its left neighbour
    int32_t prev, next;   // -1 at the ends
    int32_t id;           // the piece, once merged (-1: a character or user-defined piece)
    bool frozen;          // a user-defined piece: never merged
  };
  struct Pair {
    float score;
    int32_t left, right, id;
    uint32_t len;
  };
  const auto* u = reinterpret_cast<const unsigned char*>(run.data());
  std::vector<Symbol> sym;
  sym.reserve(run.size());
  for (size_t pos = 0; pos < run.size();) {
    size_t len = user_defined_first_[u[pos]] ? match_user_defined(run.substr(pos)) : 0;
    const bool frozen = len > 0;
    if (!frozen) len = std::min(llama_cpp_char_len(u[pos]), run.size() - pos);
    const int32_t i = int32_t(sym.size());
    sym.push_back({uint32_t(pos), uint32_t(len), i - 1, i + 1, -1, frozen});
    pos += len;
  }
  sym.back().next = -1;

  // A max-heap: the highest score first, then the leftmost.
  auto lower = [](const Pair& a, const Pair& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::vector<Pair> heap;
  heap.reserve(sym.size());
  // Unused pieces: the left part's length for the last pair pushed that spells the piece
  // (sentencepiece's rev_merge, keyed by text; a piece's text is its id).
  std::unordered_map<int32_t, uint32_t> unused_split;
  auto add_pair = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || sym[size_t(l)].frozen || sym[size_t(r)].frozen) return;
    const uint32_t len = sym[size_t(l)].len + sym[size_t(r)].len;
    if (len > max_merge_len_) return;
    const int32_t id = find_token(run.substr(sym[size_t(l)].start, len));
    if (id < 0) return;
    const SpmPieceType t = piece_type(size_t(id));
    if (!mergeable(t)) return;
    heap.push_back({scores_[size_t(id)], l, r, id, len});
    std::push_heap(heap.begin(), heap.end(), lower);
    if (t == SpmPieceType::kUnused) unused_split[id] = sym[size_t(l)].len;
  };
  for (size_t i = 1; i < sym.size(); ++i) add_pair(int32_t(i - 1), int32_t(i));

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), lower);
    const Pair top = heap.back();
    heap.pop_back();
    Symbol& l = sym[size_t(top.left)];
    Symbol& r = sym[size_t(top.right)];
    // Stale: one side was merged elsewhere since the pair was pushed.
    if (l.len == 0 || r.len == 0 || l.len + r.len != top.len) continue;
    l.len = top.len;
    l.id = top.id;
    l.next = r.next;
    if (r.next >= 0) sym[size_t(r.next)].prev = top.left;
    r.len = 0;
    add_pair(l.prev, top.left);
    add_pair(top.left, l.next);
  }

  const int32_t unk = special_.unk;
  bool prev_unknown = false;
  std::vector<std::pair<uint32_t, uint32_t>> stack;  // (start, len) still to resegment
  for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next) {
    const Symbol& s = sym[size_t(i)];
    int32_t known = s.id;  // the id of the stack's top when already known
    stack.assign(1, {s.start, s.len});
    while (!stack.empty()) {
      const auto [start, len] = stack.back();
      stack.pop_back();
      const int32_t id = known >= 0 ? known : find_token(run.substr(start, len));
      known = -1;
      const SpmPieceType t = id >= 0 ? piece_type(size_t(id)) : SpmPieceType::kUnknown;
      if (id >= 0 && mergeable(t)) {
        if (t == SpmPieceType::kUnused) {
          auto it = unused_split.find(id);
          if (it != unused_split.end()) {  // back to the two symbols it was merged from
            stack.push_back({start + it->second, len - it->second});
            stack.push_back({start, it->second});
            continue;
          }
        }
        out.push_back(id);
        prev_unknown = false;
      } else if (byte_fallback_) {
        for (uint32_t k = 0; k < len; ++k) out.push_back(byte_ids_[u[start + k]]);
      } else {
        if (!prev_unknown) out.push_back(unk);  // a run of unknowns is one unknown token
        prev_unknown = true;
      }
    }
  }
  return Status::ok();
}

Status SpmModel::encode_run(std::string_view run, std::vector<int32_t>& out) const {
  if (run.empty()) return Status::ok();
  if (gguf_mode_) return encode_run_native(run, out);
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
  if (id < 0 || size_t(id) >= vocab_size()) return {};
  const std::string_view t = text(size_t(id));
  switch (TokenAttr(attrs_[size_t(id)])) {
    case TokenAttr::kControl:
    case TokenAttr::kUnknown:
      return render_special ? std::string(t) : std::string();
    case TokenAttr::kByte: {
      int b = parse_byte_piece(t);
      return b >= 0 ? std::string(1, char(b)) : std::string(t);
    }
    default:
      return replace_all(t, kSpace, " ");
  }
}

std::string_view SpmModel::token_text(int32_t id) const {
  if (id < 0 || size_t(id) >= vocab_size()) return {};
  return text(size_t(id));
}

TokenAttr SpmModel::token_attr(int32_t id) const {
  if (id < 0 || size_t(id) >= attrs_.size()) return TokenAttr::kUndefined;
  return TokenAttr(attrs_[size_t(id)]);
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
