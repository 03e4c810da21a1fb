// WordPiece (BERT-family vocabularies in GGUF, tokenizer.ggml.model = "bert"), with llama.cpp's
// semantics (llm_tokenizer_wpm), which the fixture vectors (ggml-vocab-bert-bge) come from:
//  1. normalize: optionally NFD + drop accent marks (General_Category M*) and lowercase (default
//     for files without tokenizer.ggml.normalizer.* keys: both on, as llama.cpp's converter used
//     them for uncased BERT); drop NUL, U+FFFD and control characters (C*);
//  2. split into words at white space; every punctuation character (P*), ASCII symbol (S*) and
//     CJK ideograph is a word of its own;
//  3. each word, prefixed with U+2581 (the GGUF converter writes word-initial pieces with a "▁"
//     and continuation pieces bare, instead of BERT's "##"), is cut greedily into the longest
//     vocabulary pieces from the left; a word with a position no piece matches becomes [UNK].
// Decoding maps "▁" back to a space and drops the first one. Unicode properties come from
// utf8proc (Unicode 15); the BERT CJK ranges are BERT's own.
//
// Thread-safety: immutable after construction; encode/decode are safe from several threads.
#pragma once

#include <memory>

#include "io/gguf.hpp"
#include "tokenizer/tokenizer_model.hpp"

namespace llmkit::tok {

Result<std::unique_ptr<TokenizerModel>> make_wpm_from_gguf(const io::GgufFile& gguf);

}  // namespace llmkit::tok
