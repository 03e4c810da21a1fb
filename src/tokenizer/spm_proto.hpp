// The SentencePiece ModelProto (sentencepiece_model.proto) in protobuf wire format, read and
// written by hand: Debian's sentencepiece package ships no generated .pb.h, and we only need a
// handful of fields. The bytes we write are loaded with
// SentencePieceProcessor::LoadFromSerializedProto; the reader validates tokenizer.model files
// before sentencepiece sees them and recovers the piece types its public API does not expose.
//
// Field numbers (proto2):
//   ModelProto      pieces=1 (repeated SentencePiece), trainer_spec=2, normalizer_spec=3
//   SentencePiece   piece=1 (string), score=2 (float), type=3 (enum, default NORMAL)
//   TrainerSpec     model_type=3, vocab_size=4, treat_whitespace_as_suffix=24, byte_fallback=35,
//                   unk_id=40, bos_id=41, eos_id=42, pad_id=43
//   NormalizerSpec  name=1, precompiled_charsmap=2, add_dummy_prefix=3,
//                   remove_extra_whitespaces=4, escape_whitespaces=5
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/status.hpp"

namespace llmkit::tok {

// sentencepiece::ModelProto::SentencePiece::Type; the values equal GGUF token types (TokenAttr).
enum class SpmPieceType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// sentencepiece::TrainerSpec::ModelType.
enum class SpmModelType : int32_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

struct SpmPiece {
  std::string piece;
  float score = 0.0f;
  SpmPieceType type = SpmPieceType::kNormal;
};

// More pieces than any real vocabulary (the largest are ~260k): bounds allocations driven by a
// hostile count, and keeps every id within 24 bits.
constexpr size_t kMaxSpmPieces = size_t(1) << 24;

// The subset of ModelProto llmkit reads and writes. Defaults are the proto defaults.
struct SpmModelSpec {
  std::vector<SpmPiece> pieces;
  SpmModelType model_type = SpmModelType::kUnigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  std::string normalizer_name;
  bool has_precompiled_charsmap = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Reads the fields above from a serialized ModelProto. Checks the wire format only (every length
// and varint against the remaining bytes, piece count bounded); semantic checks (duplicates,
// UTF-8, byte pieces) are validate_spm_pieces'. NAME is used in messages.
Result<SpmModelSpec> parse_spm_model_proto(std::string_view bytes, const std::string& name);

// Serializes SPEC (pieces, trainer spec, normalizer spec without a charsmap).
std::string serialize_spm_model_proto(const SpmModelSpec& spec);

// Semantic checks shared by tokenizer.model files and GGUF vocabularies: non-empty valid-UTF-8
// pieces, no duplicates, byte pieces spelled <0xNN> (upper-case hex, as sentencepiece requires),
// exactly one unknown piece, sizes sane. WHAT names the source ("tokenizer.model",
// "x.gguf: tokenizer.ggml.tokens").
Status validate_spm_pieces(const std::vector<SpmPiece>& pieces, const std::string& what);

// The same checks over a vocabulary held elsewhere (no copy of the pieces): N pieces, PIECE(i) and
// TYPE(i). DUPLICATE_OF(i) is called once per piece, in order, and returns the index of an earlier
// piece spelled like piece i, or -1 (the caller's own lookup table; validate_spm_pieces uses a
// temporary hash map).
Status validate_spm_vocab(size_t n, const std::function<std::string_view(size_t)>& piece,
                          const std::function<SpmPieceType(size_t)>& type,
                          const std::function<int64_t(size_t)>& duplicate_of,
                          const std::string& what);

// "<0x0A>" -> 10; -1 when PIECE is not of that form (either case of hex digits).
int parse_byte_piece(std::string_view piece);
// The byte piece sentencepiece writes for B: "<0x0A>" (upper-case hex).
std::string byte_piece(uint8_t b);

}  // namespace llmkit::tok
