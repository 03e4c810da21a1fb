#include "tokenizer/spm_proto.hpp"

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "io/utf8.hpp"

namespace llmkit::tok {
namespace {

constexpr size_t kMaxPieces = kMaxSpmPieces;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// A bounds-checked cursor over one message's bytes. OFFSET_BASE maps positions to file offsets
// for messages nested in the file.
class WireReader {
 public:
  WireReader(std::string_view bytes, size_t offset_base, const std::string& what)
      : p_(bytes), base_(offset_base), what_(what) {}

  bool done() const { return pos_ >= p_.size(); }
  size_t offset() const { return base_ + pos_; }

  Status varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= p_.size()) return error("truncated varint");
      uint8_t b = uint8_t(p_[pos_++]);
      r |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return Status::ok();
      }
    }
    return error("varint longer than 10 bytes");
  }

  Status tag(uint32_t* field, uint32_t* wire) {
    uint64_t t = 0;
    LLMKIT_RETURN_IF_ERROR(varint(&t));
    if ((t >> 3) == 0 || (t >> 3) > 0x1fffffff) return error("invalid field number");
    *field = uint32_t(t >> 3);
    *wire = uint32_t(t & 7);
    return Status::ok();
  }

  Status bytes(std::string_view* out, size_t* start) {
    uint64_t len = 0;
    LLMKIT_RETURN_IF_ERROR(varint(&len));
    if (len > p_.size() - pos_)
      return error("length " + std::to_string(len) + " runs past the end of the message");
    *start = base_ + pos_;
    *out = p_.substr(pos_, size_t(len));
    pos_ += size_t(len);
    return Status::ok();
  }

  Status fixed32(uint32_t* v) {
    if (p_.size() - pos_ < 4) return error("truncated fixed32");
    std::memcpy(v, p_.data() + pos_, 4);  // little-endian hosts only (x86-64, aarch64)
    pos_ += 4;
    return Status::ok();
  }

  Status skip(uint32_t wire) {
    switch (wire) {
      case kVarint: {
        uint64_t v = 0;
        return varint(&v);
      }
      case kFixed64:
        if (p_.size() - pos_ < 8) return error("truncated fixed64");
        pos_ += 8;
        return Status::ok();
      case kLengthDelimited: {
        std::string_view s;
        size_t start;
        return bytes(&s, &start);
      }
      case kFixed32: {
        uint32_t v;
        return fixed32(&v);
      }
      default:
        return error("unsupported wire type " + std::to_string(wire));
    }
  }

  Status error(const std::string& msg) const {
    return Status(StatusCode::kCorruptFile,
                  what_ + ": protobuf at offset " + std::to_string(offset()) + ": " + msg);
  }

 private:
  std::string_view p_;
  size_t pos_ = 0;
  size_t base_;
  const std::string& what_;
};

Status expect_wire(const WireReader& r, uint32_t wire, uint32_t want, const char* field) {
  if (wire == want) return Status::ok();
  return r.error(std::string("field ") + field + " has wire type " + std::to_string(wire) +
                 ", expected " + std::to_string(want));
}

Status parse_piece(std::string_view msg, size_t base, const std::string& what, SpmPiece* out) {
  WireReader r(msg, base, what);
  while (!r.done()) {
    uint32_t f = 0, w = 0;
    LLMKIT_RETURN_IF_ERROR(r.tag(&f, &w));
    if (f == 1) {
      LLMKIT_RETURN_IF_ERROR(expect_wire(r, w, kLengthDelimited, "SentencePiece.piece"));
      std::string_view s;
      size_t start;
      LLMKIT_RETURN_IF_ERROR(r.bytes(&s, &start));
      out->piece.assign(s);
    } else if (f == 2) {
      LLMKIT_RETURN_IF_ERROR(expect_wire(r, w, kFixed32, "SentencePiece.score"));
      uint32_t bits = 0;
      LLMKIT_RETURN_IF_ERROR(r.fixed32(&bits));
      std::memcpy(&out->score, &bits, 4);
    } else if (f == 3) {
      LLMKIT_RETURN_IF_ERROR(expect_wire(r, w, kVarint, "SentencePiece.type"));
      uint64_t v = 0;
      LLMKIT_RETURN_IF_ERROR(r.varint(&v));
      if (v < 1 || v > 6)
        return r.error("SentencePiece.type " + std::to_string(v) + " is not 1..6");
      out->type = SpmPieceType(int32_t(v));
    } else {
      LLMKIT_RETURN_IF_ERROR(r.skip(w));
    }
  }
  return Status::ok();
}

Status read_bool(WireReader& r, uint32_t w, const char* field, bool* out) {
  LLMKIT_RETURN_IF_ERROR(expect_wire(r, w, kVarint, field));
  uint64_t v = 0;
  LLMKIT_RETURN_IF_ERROR(r.varint(&v));
  *out = v != 0;
  return Status::ok();
}

Status read_int32(WireReader& r, uint32_t w, const char* field, int32_t* out) {
  LLMKIT_RETURN_IF_ERROR(expect_wire(r, w, kVarint, field));
  uint64_t v = 0;
  LLMKIT_RETURN_IF_ERROR(r.varint(&v));
  *out = int32_t(uint32_t(v));  // int32 fields are sign-extended to 64 bits on the wire
  return Status::ok();
}

Status parse_trainer(std::string_view msg, size_t base, const std::string& what, SpmModelSpec* s) {
  WireReader r(msg, base, what);
  while (!r.done()) {
    uint32_t f = 0, w = 0;
    LLMKIT_RETURN_IF_ERROR(r.tag(&f, &w));
    switch (f) {
      case 3: {
        int32_t t;
        LLMKIT_RETURN_IF_ERROR(read_int32(r, w, "TrainerSpec.model_type", &t));
        if (t < 1 || t > 4)
          return r.error("TrainerSpec.model_type " + std::to_string(t) + " is not 1..4");
        s->model_type = SpmModelType(t);
        break;
      }
      case 24:
        LLMKIT_RETURN_IF_ERROR(read_bool(r, w, "TrainerSpec.treat_whitespace_as_suffix",
                                         &s->treat_whitespace_as_suffix));
        break;
      case 35:
        LLMKIT_RETURN_IF_ERROR(read_bool(r, w, "TrainerSpec.byte_fallback", &s->byte_fallback));
        break;
      case 40:
        LLMKIT_RETURN_IF_ERROR(read_int32(r, w, "TrainerSpec.unk_id", &s->unk_id));
        break;
      case 41:
        LLMKIT_RETURN_IF_ERROR(read_int32(r, w, "TrainerSpec.bos_id", &s->bos_id));
        break;
      case 42:
        LLMKIT_RETURN_IF_ERROR(read_int32(r, w, "TrainerSpec.eos_id", &s->eos_id));
        break;
      case 43:
        LLMKIT_RETURN_IF_ERROR(read_int32(r, w, "TrainerSpec.pad_id", &s->pad_id));
        break;
      default:
        LLMKIT_RETURN_IF_ERROR(r.skip(w));
    }
  }
  return Status::ok();
}

Status parse_normalizer(std::string_view msg, size_t base, const std::string& what,
                        SpmModelSpec* s) {
  WireReader r(msg, base, what);
  while (!r.done()) {
    uint32_t f = 0, w = 0;
    LLMKIT_RETURN_IF_ERROR(r.tag(&f, &w));
    switch (f) {
      case 1:
      case 2: {
        LLMKIT_RETURN_IF_ERROR(
            expect_wire(r, w, kLengthDelimited,
                        f == 1 ? "NormalizerSpec.name" : "NormalizerSpec.precompiled_charsmap"));
        std::string_view v;
        size_t start;
        LLMKIT_RETURN_IF_ERROR(r.bytes(&v, &start));
        if (f == 1)
          s->normalizer_name.assign(v);
        else
          s->has_precompiled_charsmap = !v.empty();
        break;
      }
      case 3:
        LLMKIT_RETURN_IF_ERROR(
            read_bool(r, w, "NormalizerSpec.add_dummy_prefix", &s->add_dummy_prefix));
        break;
      case 4:
        LLMKIT_RETURN_IF_ERROR(read_bool(r, w, "NormalizerSpec.remove_extra_whitespaces",
                                         &s->remove_extra_whitespaces));
        break;
      case 5:
        LLMKIT_RETURN_IF_ERROR(
            read_bool(r, w, "NormalizerSpec.escape_whitespaces", &s->escape_whitespaces));
        break;
      default:
        LLMKIT_RETURN_IF_ERROR(r.skip(w));
    }
  }
  return Status::ok();
}

// ---- writer -------------------------------------------------------------------------------------

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void put_tag(std::string& out, uint32_t field, uint32_t wire) {
  put_varint(out, (uint64_t(field) << 3) | wire);
}
void put_bytes(std::string& out, uint32_t field, std::string_view b) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, b.size());
  out.append(b);
}
void put_int(std::string& out, uint32_t field, int64_t v) {
  put_tag(out, field, kVarint);
  put_varint(out, uint64_t(v));  // negative int32 -> 10-byte two's complement, as protobuf does
}

}  // namespace

Result<SpmModelSpec> parse_spm_model_proto(std::string_view bytes, const std::string& name) {
  SpmModelSpec spec;
  if (bytes.empty())
    return Status(StatusCode::kCorruptFile, name + ": empty file, not a SentencePiece model");
  WireReader r(bytes, 0, name);
  bool have_trainer = false;
  while (!r.done()) {
    uint32_t f = 0, w = 0;
    LLMKIT_RETURN_IF_ERROR(r.tag(&f, &w));
    if (f == 1 || f == 2 || f == 3) {
      LLMKIT_RETURN_IF_ERROR(expect_wire(r, w, kLengthDelimited,
                                         f == 1   ? "ModelProto.pieces"
                                         : f == 2 ? "ModelProto.trainer_spec"
                                                  : "ModelProto.normalizer_spec"));
      std::string_view msg;
      size_t start;
      LLMKIT_RETURN_IF_ERROR(r.bytes(&msg, &start));
      if (f == 1) {
        if (spec.pieces.size() >= kMaxPieces)
          return r.error("more than " + std::to_string(kMaxPieces) + " pieces");
        SpmPiece p;
        LLMKIT_RETURN_IF_ERROR(parse_piece(msg, start, name, &p));
        spec.pieces.push_back(std::move(p));
      } else if (f == 2) {
        have_trainer = true;
        LLMKIT_RETURN_IF_ERROR(parse_trainer(msg, start, name, &spec));
      } else {
        LLMKIT_RETURN_IF_ERROR(parse_normalizer(msg, start, name, &spec));
      }
    } else {
      LLMKIT_RETURN_IF_ERROR(r.skip(w));
    }
  }
  if (spec.pieces.empty())
    return Status(StatusCode::kCorruptFile, name + ": SentencePiece model has no pieces");
  if (!have_trainer)
    return Status(StatusCode::kCorruptFile, name + ": SentencePiece model has no trainer_spec");
  return spec;
}

std::string serialize_spm_model_proto(const SpmModelSpec& spec) {
  std::string out;
  out.reserve(spec.pieces.size() * 24 + 256);
  std::string msg;
  for (const SpmPiece& p : spec.pieces) {
    msg.clear();
    put_bytes(msg, 1, p.piece);
    put_tag(msg, 2, kFixed32);
    uint32_t bits = 0;
    std::memcpy(&bits, &p.score, 4);
    for (int i = 0; i < 4; ++i) msg.push_back(char(uint8_t(bits >> (8 * i))));
    if (p.type != SpmPieceType::kNormal) put_int(msg, 3, int32_t(p.type));
    put_bytes(out, 1, msg);
  }
  msg.clear();
  put_int(msg, 3, int32_t(spec.model_type));
  put_int(msg, 4, int64_t(spec.pieces.size()));
  put_int(msg, 24, spec.treat_whitespace_as_suffix ? 1 : 0);
  put_int(msg, 35, spec.byte_fallback ? 1 : 0);
  put_int(msg, 40, spec.unk_id);
  put_int(msg, 41, spec.bos_id);
  put_int(msg, 42, spec.eos_id);
  put_int(msg, 43, spec.pad_id);
  put_bytes(out, 2, msg);
  msg.clear();
  put_bytes(msg, 1,
            spec.normalizer_name.empty() ? std::string_view("identity") : spec.normalizer_name);
  put_int(msg, 3, spec.add_dummy_prefix ? 1 : 0);
  put_int(msg, 4, spec.remove_extra_whitespaces ? 1 : 0);
  put_int(msg, 5, spec.escape_whitespaces ? 1 : 0);
  put_bytes(out, 3, msg);
  return out;
}

int parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(piece[3]), lo = hex(piece[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

std::string byte_piece(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", unsigned(b));
  return buf;
}

Status validate_spm_pieces(const std::vector<SpmPiece>& pieces, const std::string& what) {
  std::unordered_map<std::string_view, size_t> seen;
  if (pieces.size() <= kMaxPieces) seen.reserve(pieces.size() * 2);
  return validate_spm_vocab(
      pieces.size(), [&](size_t i) -> std::string_view { return pieces[i].piece; },
      [&](size_t i) { return pieces[i].type; },
      [&](size_t i) -> int64_t {
        auto [it, inserted] = seen.emplace(pieces[i].piece, i);
        return inserted ? -1 : int64_t(it->second);
      },
      what);
}

Status validate_spm_vocab(size_t n, const std::function<std::string_view(size_t)>& piece,
                          const std::function<SpmPieceType(size_t)>& type,
                          const std::function<int64_t(size_t)>& duplicate_of,
                          const std::string& what) {
  if (n == 0) return Status(StatusCode::kCorruptFile, what + ": the vocabulary is empty");
  if (n > kMaxPieces)
    return Status(StatusCode::kCorruptFile, what + ": " + std::to_string(n) +
                                                " tokens is more than the supported " +
                                                std::to_string(kMaxPieces));
  auto quote = [](std::string_view s) {
    std::string q = "'";
    for (unsigned char c : s.substr(0, 40)) {
      if (c < 0x20 || c >= 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", c);
        q += buf;
      } else {
        q += char(c);
      }
    }
    return q + (s.size() > 40 ? "...'" : "'");
  };
  int64_t unknown = -1;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view p = piece(i);
    const SpmPieceType t = type(i);
    auto at = [&] { return what + ": token " + std::to_string(i); };
    if (p.empty()) return Status(StatusCode::kCorruptFile, at() + " is empty");
    if (!io::utf8_valid(p))
      return Status(StatusCode::kCorruptFile, at() + " " + quote(p) + " is not valid UTF-8");
    if (int64_t first = duplicate_of(i); first >= 0)
      return Status(StatusCode::kCorruptFile,
                    at() + " " + quote(p) + " duplicates token " + std::to_string(first));
    if (t == SpmPieceType::kByte) {
      const int b = parse_byte_piece(p);
      if (b < 0 || p != byte_piece(uint8_t(b)))
        return Status(StatusCode::kCorruptFile,
                      at() + " " + quote(p) + " has the byte type but is not of the form <0xNN>");
    }
    if (t == SpmPieceType::kUnknown) {
      if (unknown >= 0)
        return Status(StatusCode::kCorruptFile,
                      at() + " is a second unknown token (first: " + std::to_string(unknown) + ")");
      unknown = int64_t(i);
    }
  }
  if (unknown < 0) return Status(StatusCode::kCorruptFile, what + ": no unknown token (<unk>)");
  return Status::ok();
}

}  // namespace llmkit::tok
