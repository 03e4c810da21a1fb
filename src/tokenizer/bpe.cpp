#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>

#include "tokenizer/unicode.hpp"

namespace llmkit::tok {
namespace {

// Bounds on what a file may declare; far above any real tokenizer (the largest have ~262k tokens
// and ~515k merges), low enough that a hostile file cannot make us allocate gigabytes.
constexpr size_t kMaxVocab = size_t(1) << 23;
constexpr size_t kMaxMerges = size_t(1) << 24;
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kSmallWord = 48;  // up to this many symbols: linear scan instead of a heap

std::string byte_token_name(unsigned b) {
  char buf[8];
  snprintf(buf, sizeof(buf), "<0x%02X>", b);
  return buf;
}

}  // namespace

std::string quote_piece(std::string_view piece) {
  std::string out = "'";
  size_t n = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  for (size_t i = 0; i < piece.size();) {
    if (++n > 48) {
      out += "...";
      break;
    }
    size_t len;
    int32_t cp = utf8_decode(p + i, piece.size() - i, &len);
    if (cp < 0x20 || cp == 0x7F || cp == '\'' || cp == '\\') {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02X", p[i]);
      out += buf;
    } else {
      out.append(piece.substr(i, len));
    }
    i += len;
  }
  return out + "'";
}

// ---- merge table -------------------------------------------------------------------------------

void BpeModel::MergeTable::init(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;  // load factor <= 0.5 keeps probe chains short
  keys.assign(cap, 0);
  vals.assign(cap, 0);
  mask = cap - 1;
}

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

bool BpeModel::MergeTable::insert(uint64_t key, uint32_t rank, uint32_t id, bool overwrite) {
  const uint64_t k = key + 1;
  for (uint64_t i = mix64(k) & mask;; i = (i + 1) & mask) {
    if (keys[i] == 0) {
      keys[i] = k;
      vals[i] = (uint64_t(rank) << 32) | id;
      return true;
    }
    if (keys[i] == k) {
      if (overwrite) vals[i] = (uint64_t(rank) << 32) | id;
      return false;
    }
  }
}

bool BpeModel::MergeTable::find(uint32_t left, uint32_t right, uint32_t* rank, uint32_t* id) const {
  const uint64_t k = ((uint64_t(left) << 32) | right) + 1;
  for (uint64_t i = mix64(k) & mask;; i = (i + 1) & mask) {
    if (keys[i] == k) {
      *rank = uint32_t(vals[i] >> 32);
      *id = uint32_t(vals[i]);
      return true;
    }
    if (keys[i] == 0) return false;
  }
}

// ---- word cache --------------------------------------------------------------------------------

// word -> ids, sharded so concurrent encoders rarely contend; each shard is cleared when full,
// which bounds memory at kShards * kPerShard words of at most kMaxCachedWordBytes.
class BpeModel::WordCache {
 public:
  static constexpr size_t kShards = 64;
  static constexpr size_t kPerShard = 2048;

  bool get(std::string_view w, size_t h, std::vector<int32_t>& out) {
    Shard& s = shards_[shard_of(h)];
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(w);
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string_view w, size_t h, const int32_t* ids, size_t n) {
    Shard& s = shards_[shard_of(h)];
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.map.size() >= kPerShard) s.map.clear();
    s.map.emplace(std::string(w), std::vector<int32_t>(ids, ids + n));
  }

 private:
  static size_t shard_of(size_t h) { return (uint64_t(h) * 0x9E3779B97F4A7C15ULL) >> 58; }
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, SvHash, std::equal_to<>> map;
  };
  std::array<Shard, kShards> shards_;
};

BpeModel::~BpeModel() = default;

// ---- construction ------------------------------------------------------------------------------

Result<std::unique_ptr<BpeModel>> BpeModel::create(BpeConfig c) {
  const std::string& name = c.name;
  if (c.tokens.empty()) return Status(StatusCode::kCorruptFile, name + ": empty vocabulary");
  if (c.tokens.size() > kMaxVocab)
    return Status(StatusCode::kCorruptFile,
                  name + ": vocabulary of " + std::to_string(c.tokens.size()) +
                      " tokens exceeds the limit of " + std::to_string(kMaxVocab));
  if (c.attrs.size() != c.tokens.size())
    return Status(StatusCode::kInternal, name + ": token attribute count mismatch");
  if (c.merges.size() > kMaxMerges)
    return Status(StatusCode::kCorruptFile, name + ": " + std::to_string(c.merges.size()) +
                                                " merges exceed the limit of " +
                                                std::to_string(kMaxMerges));
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->name_ = name;
  m->byte_level_ = c.byte_level;
  m->byte_fallback_ = c.byte_fallback;
  m->ignore_merges_ = c.ignore_merges;
  m->fuse_unk_ = c.fuse_unk;
  m->unk_id_ = c.unk_id;
  if (c.unk_id >= int64_t(c.tokens.size()))
    return Status(StatusCode::kCorruptFile,
                  name + ": unk id " + std::to_string(c.unk_id) + " is outside the vocabulary");
  m->normalizers_ = std::move(c.normalizers);
  m->pre_ = std::move(c.pre);
  m->strips_leading_space_ = c.strips_leading_space;
  m->added_ = std::move(c.added);
  m->special_ = c.special;

  m->piece_to_id_.reserve(c.tokens.size());
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    if (c.tokens[i].empty()) continue;
    m->piece_to_id_.insert_or_assign(c.tokens[i], int32_t(i));  // llama.cpp: last one wins
  }
  // Added tokens always resolve to their own id.
  for (const auto& a : m->added_) {
    if (a.id < 0 || size_t(a.id) >= c.tokens.size())
      return Status(StatusCode::kCorruptFile, name + ": added token " + quote_piece(a.content) +
                                                  " has id " + std::to_string(a.id) +
                                                  " outside the vocabulary");
  }

  const auto& alpha = byte_level_alphabet();
  m->byte_ids_.fill(-1);
  m->decoded_.resize(c.tokens.size());
  if (m->byte_level_) {
    for (int b = 0; b < 256; ++b) {
      auto it = m->piece_to_id_.find(alpha.byte_to_utf8[size_t(b)]);
      if (it != m->piece_to_id_.end()) m->byte_ids_[size_t(b)] = it->second;
    }
    m->raw_to_id_.reserve(c.tokens.size());
    for (size_t i = 0; i < c.tokens.size(); ++i) {
      std::string raw;
      if (c.attrs[i] != TokenAttr::kControl && byte_level_decode(c.tokens[i], raw)) {
        if (!raw.empty()) m->raw_to_id_.insert_or_assign(raw, int32_t(i));
        m->decoded_[i] = std::move(raw);
      } else {
        m->decoded_[i] = c.tokens[i];  // HF's ByteLevel decoder keeps such pieces verbatim
      }
    }
  } else {
    for (unsigned b = 0; b < 256; ++b) {
      auto it = m->piece_to_id_.find(byte_token_name(b));
      if (it != m->piece_to_id_.end()) m->byte_ids_[b] = it->second;
    }
    for (size_t i = 0; i < c.tokens.size(); ++i) {
      const std::string& t = c.tokens[i];
      if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && m->byte_fallback_ &&
          c.attrs[i] != TokenAttr::kControl) {
        auto hex = [](char ch) -> int {
          if (ch >= '0' && ch <= '9') return ch - '0';
          if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
          return -1;
        };
        const int hi = hex(t[3]), lo = hex(t[4]);
        const unsigned v = unsigned(hi * 16 + lo);
        if (hi >= 0 && lo >= 0 && m->byte_ids_[v] == int32_t(i)) {
          m->decoded_[i] = std::string(1, char(v));
          if (c.attrs[i] == TokenAttr::kNormal) c.attrs[i] = TokenAttr::kByte;
          continue;
        }
      }
      std::string d;
      d.reserve(t.size());
      for (size_t k = 0; k < t.size();) {
        if (t.compare(k, 3, "\xE2\x96\x81") == 0) {
          d.push_back(' ');
          k += 3;
        } else {
          d.push_back(t[k++]);
        }
      }
      m->decoded_[i] = std::move(d);
    }
  }

  m->merges_.init(c.merges.size());
  for (size_t r = 0; r < c.merges.size(); ++r) {
    const auto& [a, b] = c.merges[r];
    auto ia = m->piece_to_id_.find(a);
    auto ib = m->piece_to_id_.find(b);
    std::string ab = a + b;
    auto im = m->piece_to_id_.find(ab);
    const std::string* missing = ia == m->piece_to_id_.end()   ? &a
                                 : ib == m->piece_to_id_.end() ? &b
                                 : im == m->piece_to_id_.end() ? &ab
                                                               : nullptr;
    if (missing) {
      if (c.strict_merges)
        return Status(StatusCode::kCorruptFile, name + ": merges[" + std::to_string(r) + "] (" +
                                                    quote_piece(a) + " " + quote_piece(b) +
                                                    "): piece " + quote_piece(*missing) +
                                                    " is not in the vocabulary");
      ++m->skipped_merges_;
      continue;
    }
    const uint64_t key = (uint64_t(uint32_t(ia->second)) << 32) | uint32_t(ib->second);
    // HF builds its merge map with later duplicates overwriting; llama.cpp keeps the first.
    m->merges_.insert(key, uint32_t(r), uint32_t(im->second), c.strict_merges);
    ++m->merge_count_;
  }
  m->tokens_ = std::move(c.tokens);
  m->attrs_ = std::move(c.attrs);
  m->cache_ = std::make_unique<WordCache>();
  return m;
}

// ---- encoding ----------------------------------------------------------------------------------

void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& ids) const {
  const auto* p = reinterpret_cast<const unsigned char*>(word.data());
  if (byte_level_) {
    for (size_t i = 0; i < word.size(); ++i) {
      int32_t id = byte_ids_[p[i]];
      if (id >= 0) ids.push_back(id);  // a byte missing from the alphabet is dropped, as in HF
    }
    return;
  }
  bool last_unk = false;
  for (size_t i = 0; i < word.size();) {
    size_t len;
    utf8_decode(p + i, word.size() - i, &len);
    auto it = piece_to_id_.find(word.substr(i, len));
    if (it != piece_to_id_.end()) {
      ids.push_back(it->second);
      last_unk = false;
    } else {
      bool done = false;
      if (byte_fallback_) {
        bool all = true;
        for (size_t k = 0; k < len; ++k) all = all && byte_ids_[p[i + k]] >= 0;
        if (all) {
          for (size_t k = 0; k < len; ++k) ids.push_back(byte_ids_[p[i + k]]);
          done = true;
          last_unk = false;
        }
      }
      if (!done && unk_id_ >= 0) {
        if (!(fuse_unk_ && last_unk)) ids.push_back(unk_id_);
        last_unk = true;
      }
    }
    i += len;
  }
}

void BpeModel::merge_symbols(std::vector<int32_t>& ids) const {
  size_t n = ids.size();
  if (n < 2) return;
  constexpr uint32_t kNone = UINT32_MAX;
  if (n <= kSmallWord) {
    uint32_t rank[kSmallWord], nid[kSmallWord];
    auto pair_rank = [&](size_t i) {
      uint32_t r, id;
      if (merges_.find(uint32_t(ids[i]), uint32_t(ids[i + 1]), &r, &id)) {
        rank[i] = r;
        nid[i] = id;
      } else {
        rank[i] = kNone;
      }
    };
    for (size_t i = 0; i + 1 < n; ++i) pair_rank(i);
    while (n > 1) {
      size_t best = 0;
      uint32_t best_rank = kNone;
      for (size_t i = 0; i + 1 < n; ++i) {
        if (rank[i] < best_rank) {
          best_rank = rank[i];
          best = i;
        }
      }
      if (best_rank == kNone) break;
      ids[best] = int32_t(nid[best]);
      for (size_t i = best + 1; i + 1 < n; ++i) {
        ids[i] = ids[i + 1];
        rank[i] = rank[i + 1];
        nid[i] = nid[i + 1];
      }
      --n;
      if (best + 1 < n) pair_rank(best);
      if (best > 0) pair_rank(best - 1);
    }
    ids.resize(n);
    return;
  }
  // Long word: doubly linked symbols + min-heap of (rank, left position). Stale heap entries are
  // detected by re-looking-up the pair: a rank identifies its merge pair uniquely.
  struct Sym {
    int32_t id, prev, next;
  };
  std::vector<Sym> syms(n);
  for (size_t i = 0; i < n; ++i)
    syms[i] = {ids[i], int32_t(i) - 1, i + 1 < n ? int32_t(i + 1) : -1};
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<uint64_t>> heap;
  auto push = [&](int32_t left) {
    if (left < 0 || syms[size_t(left)].next < 0) return;
    uint32_t r, id;
    if (merges_.find(uint32_t(syms[size_t(left)].id),
                     uint32_t(syms[size_t(syms[size_t(left)].next)].id), &r, &id))
      heap.push((uint64_t(r) << 32) | uint32_t(left));
  };
  for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
  while (!heap.empty()) {
    const uint64_t top = heap.top();
    heap.pop();
    const uint32_t rank = uint32_t(top >> 32);
    const size_t pos = size_t(uint32_t(top));
    Sym& s = syms[pos];
    if (s.id < 0 || s.next < 0) continue;
    Sym& nx = syms[size_t(s.next)];
    uint32_t r, id;
    if (!merges_.find(uint32_t(s.id), uint32_t(nx.id), &r, &id) || r != rank) continue;
    s.id = int32_t(id);
    nx.id = -1;
    s.next = nx.next;
    if (s.next >= 0) syms[size_t(s.next)].prev = int32_t(pos);
    push(s.prev);
    push(int32_t(pos));
  }
  ids.clear();
  for (int32_t i = 0; i >= 0; i = syms[size_t(i)].next) ids.push_back(syms[size_t(i)].id);
}

void BpeModel::encode_word_uncached(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    const PieceMap& map = byte_level_ ? raw_to_id_ : piece_to_id_;
    auto it = map.find(word);
    if (it != map.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  initial_symbols(word, ids);
  merge_symbols(ids);
  out.insert(out.end(), ids.begin(), ids.end());
}

void BpeModel::encode_word(std::string_view word, bool mapped, std::vector<int32_t>& out) const {
  std::string raw;
  if (byte_level_ && mapped) {
    byte_level_decode(word, raw);  // pieces were mapped from raw bytes: always decodable
    word = raw;
  }
  if (byte_level_ && word.size() == 1) {
    int32_t id = byte_ids_[static_cast<unsigned char>(word[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (word.size() > kMaxCachedWordBytes) {
    encode_word_uncached(word, out);
    return;
  }
  const size_t h = SvHash{}(word);
  if (cache_->get(word, h, out)) return;
  const size_t before = out.size();
  encode_word_uncached(word, out);
  cache_->put(word, h, out.data() + before, out.size() - before);
}

Status BpeModel::normalize(std::string_view text, std::string& out, bool* changed) const {
  std::string a, b;
  std::string_view cur = text;
  bool any = false;
  for (const auto& n : normalizers_) {
    switch (n.kind) {
      case NormalizerStep::Kind::kNfc:
        if (!nfc_normalize(cur, b)) continue;
        break;
      case NormalizerStep::Kind::kPrepend:
        if (cur.empty()) continue;
        b.assign(n.text);
        b.append(cur);
        break;
      case NormalizerStep::Kind::kReplace: {
        b.clear();
        size_t pos = 0, last = 0;
        bool hit = false;
        Status st;
        while (pos < cur.size()) {
          size_t mb, me;
          int rc = n.regex->find(cur, pos, &mb, &me, &st);
          if (rc < 0) return st;
          if (rc == 0) break;
          b.append(cur.substr(last, mb - last));
          b.append(n.text);
          last = pos = me;
          hit = true;
        }
        if (!hit) continue;
        b.append(cur.substr(last));
        break;
      }
      case NormalizerStep::Kind::kStrip: {
        size_t s = 0, e = cur.size();
        auto is_ws = [](int32_t cp) {
          return (cp >= 9 && cp <= 13) || cp == 32 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
                 (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
                 cp == 0x205F || cp == 0x3000;
        };
        const auto* p = reinterpret_cast<const unsigned char*>(cur.data());
        if (n.strip_left) {
          while (s < e) {
            size_t len;
            int32_t cp = utf8_decode(p + s, e - s, &len);
            if (!is_ws(cp)) break;
            s += len;
          }
        }
        if (n.strip_right) {
          while (e > s) {
            size_t k = e - 1;
            while (k > s && (p[k] & 0xC0) == 0x80) --k;
            size_t len;
            int32_t cp = utf8_decode(p + k, e - k, &len);
            if (k + len != e || !is_ws(cp)) break;
            e = k;
          }
        }
        if (s == 0 && e == cur.size()) continue;
        b.assign(cur.substr(s, e - s));
        break;
      }
    }
    std::swap(a, b);
    cur = a;
    any = true;
  }
  if (any) out = std::move(a);
  *changed = any;
  return Status::ok();
}

Status BpeModel::encode(std::string_view text, bool at_start, std::vector<int32_t>& out) const {
  std::string norm;
  bool changed = false;
  if (!normalizers_.empty()) LLMKIT_RETURN_IF_ERROR(normalize(text, norm, &changed));
  const std::string_view t = changed ? std::string_view(norm) : text;
  if (t.empty()) return Status::ok();
  if (pre_.steps.empty()) {
    encode_word(t, false, out);
    return Status::ok();
  }
  struct Ctx {
    const BpeModel* model;
    std::vector<int32_t>* out;
  } ctx{this, &out};
  return pre_.run(
      t, at_start,
      [](void* c, std::string_view piece, bool mapped) {
        auto* x = static_cast<Ctx*>(c);
        x->model->encode_word(piece, mapped, *x->out);
      },
      &ctx);
}

// ---- vocabulary access -------------------------------------------------------------------------

std::string BpeModel::token_bytes(int32_t id, bool render_special) const {
  if (id < 0 || size_t(id) >= tokens_.size()) return {};
  const TokenAttr a = attrs_[size_t(id)];
  if (a == TokenAttr::kControl || a == TokenAttr::kUnknown)
    return render_special ? tokens_[size_t(id)] : std::string();
  return decoded_[size_t(id)];
}

std::string_view BpeModel::token_text(int32_t id) const {
  if (id < 0 || size_t(id) >= tokens_.size()) return {};
  return tokens_[size_t(id)];
}

TokenAttr BpeModel::token_attr(int32_t id) const {
  if (id < 0 || size_t(id) >= attrs_.size()) return TokenAttr::kUndefined;
  return attrs_[size_t(id)];
}

int32_t BpeModel::find_token(std::string_view piece) const {
  auto it = piece_to_id_.find(piece);
  return it == piece_to_id_.end() ? -1 : it->second;
}

// ---- special ids -------------------------------------------------------------------------------

void fill_end_of_generation(const std::vector<std::string>& tokens,
                            const std::vector<TokenAttr>& attrs, SpecialIds& special) {
  fill_end_of_generation(
      [&](std::string_view piece) -> int32_t {
        for (size_t i = 0; i < tokens.size(); ++i)
          if ((attrs[i] == TokenAttr::kControl || attrs[i] == TokenAttr::kUserDefined) &&
              tokens[i] == piece)
            return int32_t(i);
        return -1;
      },
      special);
}

void fill_end_of_generation(const std::function<int32_t(std::string_view)>& lookup,
                            SpecialIds& special) {
  // Pieces llama.cpp also treats as end-of-turn / end-of-generation markers.
  static const char* const kEot[] = {"<|eot_id|>",
                                     "<|im_end|>",
                                     "<|end|>",
                                     "<end_of_turn>",
                                     "<|endoftext|>",
                                     "<EOT>",
                                     "_<EOT>",
                                     "<\xEF\xBD\x9C"
                                     "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
  static const char* const kEog[] = {"<|eom_id|>",      "<|return|>", "<|call|>",
                                     "<|end_of_text|>", "</s>",       "<|end_of_turn|>"};
  std::vector<int32_t> ids;
  if (special.eos >= 0) ids.push_back(special.eos);
  for (const char* p : kEot) {
    int32_t id = lookup(p);
    if (id < 0) continue;
    if (special.eot < 0) special.eot = id;
    ids.push_back(id);
  }
  if (special.eot >= 0) ids.push_back(special.eot);
  for (const char* p : kEog) {
    int32_t id = lookup(p);
    if (id >= 0) ids.push_back(id);
  }
  for (int32_t id : special.end_of_generation) ids.push_back(id);
  std::vector<int32_t> dedup;
  for (int32_t id : ids)
    if (std::find(dedup.begin(), dedup.end(), id) == dedup.end()) dedup.push_back(id);
  special.end_of_generation = std::move(dedup);
}

// ---- GGUF --------------------------------------------------------------------------------------

Result<std::vector<TokenAttr>> gguf_token_attrs(const io::GgufFile& g, size_t n,
                                                const std::string& file) {
  std::vector<TokenAttr> attrs(n, TokenAttr::kNormal);
  if (const io::GgufValue* tt = g.find("tokenizer.ggml.token_type")) {
    if (!tt->is_array() || tt->arr_int.size() != n)
      return Status(StatusCode::kCorruptFile,
                    file +
                        ": tokenizer.ggml.token_type must be an integer array with one entry per "
                        "token (" +
                        std::to_string(n) + ")");
    for (size_t i = 0; i < n; ++i) {
      const int64_t v = tt->arr_int[i];
      attrs[i] = (v >= 0 && v <= 6) ? TokenAttr(v) : TokenAttr::kUndefined;
    }
  }
  return attrs;
}

std::vector<AddedToken> gguf_added_tokens(const std::vector<std::string>& tokens,
                                          const std::vector<TokenAttr>& attrs) {
  std::vector<AddedToken> added;
  for (size_t i = 0; i < tokens.size() && i < attrs.size(); ++i) {
    if (attrs[i] != TokenAttr::kControl && attrs[i] != TokenAttr::kUserDefined) continue;
    if (tokens[i].empty()) continue;
    AddedToken a;
    a.id = int32_t(i);
    a.content = tokens[i];
    a.special = attrs[i] == TokenAttr::kControl;
    added.push_back(std::move(a));
  }
  return added;
}

Result<std::unique_ptr<TokenizerModel>> make_bpe_from_gguf(const io::GgufFile& g,
                                                           std::string* warning) {
  const std::string& file = g.path().empty() ? std::string("<gguf>") : g.path();
  auto model = g.get_string("tokenizer.ggml.model");
  if (!model) return Status(StatusCode::kNotFound, file + ": tokenizer.ggml.model is missing");
  if (*model != "gpt2")
    return Status(StatusCode::kUnsupported, file + ": tokenizer.ggml.model is '" + *model +
                                                "', not a byte-level BPE ('gpt2')");
  const io::GgufValue* tok = g.find("tokenizer.ggml.tokens");
  if (!tok || !tok->is_array() || tok->elem_type != io::GgufType::STRING)
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.tokens is missing or not an array of strings");
  const io::GgufValue* mer = g.find("tokenizer.ggml.merges");
  if (!mer || !mer->is_array() || mer->elem_type != io::GgufType::STRING)
    return Status(StatusCode::kCorruptFile,
                  file + ": tokenizer.ggml.merges is missing or not an array of strings");
  BpeConfig c;
  c.name = file;
  c.tokens = tok->arr_str;
  LLMKIT_ASSIGN_OR_RETURN(c.attrs, gguf_token_attrs(g, c.tokens.size(), file));
  c.merges.reserve(mer->arr_str.size());
  for (size_t i = 0; i < mer->arr_str.size(); ++i) {
    const std::string& s = mer->arr_str[i];
    // llama.cpp splits at the first space after the first byte (a piece may itself be " ").
    size_t pos = s.size() > 1 ? s.find(' ', 1) : std::string::npos;
    if (pos == std::string::npos)
      return Status(StatusCode::kCorruptFile, file + ": tokenizer.ggml.merges[" +
                                                  std::to_string(i) + "] " + quote_piece(s) +
                                                  " is not of the form 'LEFT RIGHT'");
    c.merges.emplace_back(s.substr(0, pos), s.substr(pos + 1));
  }
  c.strict_merges = false;
  c.byte_level = true;
  const std::string pre_name = g.get_string("tokenizer.ggml.pre").value_or("");
  std::string warn;
  LLMKIT_ASSIGN_OR_RETURN(c.pre, pretokenizer_for_gguf_pre(pre_name, &c.ignore_merges, &warn));
  if (warning) *warning = warn.empty() ? warn : file + ": " + warn;

  auto id_key = [&](const char* key) -> int32_t {
    auto v = g.get_int(key);
    if (!v || *v < 0 || size_t(*v) >= c.tokens.size()) return -1;
    return int32_t(*v);
  };
  SpecialIds& sp = c.special;
  sp.bos = id_key("tokenizer.ggml.bos_token_id");
  sp.eos = id_key("tokenizer.ggml.eos_token_id");
  sp.eot = id_key("tokenizer.ggml.eot_token_id");
  sp.pad = id_key("tokenizer.ggml.padding_token_id");
  sp.unk = id_key("tokenizer.ggml.unknown_token_id");
  // llama.cpp: BPE vocabularies add no BOS unless the Llama 3 family or the file says so.
  sp.add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(c.ignore_merges);
  sp.add_eos = g.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  if (sp.add_bos && sp.bos < 0) sp.add_bos = false;
  if (sp.add_eos && sp.eos < 0) sp.add_eos = false;
  if (int32_t eom = id_key("tokenizer.ggml.eom_token_id"); eom >= 0)
    sp.end_of_generation.push_back(eom);
  fill_end_of_generation(c.tokens, c.attrs, sp);

  c.added = gguf_added_tokens(c.tokens, c.attrs);
  LLMKIT_ASSIGN_OR_RETURN(auto m, BpeModel::create(std::move(c)));
  return std::unique_ptr<TokenizerModel>(std::move(m));
}

}  // namespace llmkit::tok
