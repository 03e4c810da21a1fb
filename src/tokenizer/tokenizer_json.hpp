// Hugging Face tokenizer.json (and tokenizer_config.json) -> BpeModel.
//
// Supported: model BPE (merges as "a b" strings or ["a","b"] pairs, byte_fallback, fuse_unk,
// ignore_merges, unk_token); normalizers NFC, Prepend, Replace, Strip, Sequence; pre-tokenizers
// Split, ByteLevel, Digits, Punctuation, Metaspace, Whitespace, WhitespaceSplit, Sequence; added
// tokens with their flags; post-processors TemplateProcessing / RobertaProcessing /
// BertProcessing / ByteLevel / Sequence for the BOS/EOS policy; decoders only for whether
// decoding strips one leading space. Anything else (Unigram/WordPiece models, NFKC, Lowercase,
// BPE dropout, subword prefixes) is an Unsupported error naming the JSON path — never a silent
// approximation.
//
// BOS/EOS policy: tokenizer_config.json's add_bos_token / add_eos_token win where present (that is
// what transformers' Llama-style tokenizers do); otherwise the post-processor template decides.
//
// Every error (including nlohmann-json exceptions, which never escape) names the file and the
// JSON field path, e.g. "tokenizer.json: model.merges[17]: expected a string or a pair".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "llmkit/status.hpp"
#include "tokenizer/tokenizer_model.hpp"

namespace llmkit::tok {

// Reads PATH (and, if not empty, the tokenizer_config.json at CONFIG_PATH; a missing config file
// is an error only when a path was given).
Result<std::unique_ptr<TokenizerModel>> load_tokenizer_json(const std::string& path,
                                                            const std::string& config_path);

// Parses tokenizer.json text already in memory; NAME is used in messages. CONFIG_JSON is the
// tokenizer_config.json text or empty.
Result<std::unique_ptr<TokenizerModel>> parse_tokenizer_json(std::string_view json,
                                                             const std::string& name,
                                                             std::string_view config_json = {});

}  // namespace llmkit::tok
