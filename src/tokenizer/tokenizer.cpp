// The public Tokenizer facade: picks the implementation for a file, splits special / added tokens,
// applies the BOS/EOS policy and decodes (leading-space rule, UTF-8 clean-up).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>

#include "io/gguf.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/spm.hpp"
#include "tokenizer/tokenizer_factory.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/tokenizer_json.hpp"
#include "tokenizer/utf8_sanitize.hpp"
#include "tokenizer/wpm.hpp"

namespace llmkit {
namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string sibling_if_exists(const std::string& path, const char* name) {
  fs::path p = fs::path(path).parent_path() / name;
  return is_file(p) ? p.string() : std::string();
}

// The first bytes of PATH, to tell GGUF / JSON / protobuf apart.
Result<std::string> sniff(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(StatusCode::kIoError, path + ": cannot open");
  std::string head(64, '\0');
  f.read(head.data(), std::streamsize(head.size()));
  head.resize(size_t(f.gcount()));
  return head;
}

// generation_config.json "eos_token_id": an int or a list of ints (Llama 3: [128001, 128008,
// 128009]).
Result<std::vector<int32_t>> generation_config_eos(const std::string& path) {
  std::vector<int32_t> ids;
  if (path.empty()) return ids;
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(StatusCode::kIoError, path + ": cannot open");
  try {
    nlohmann::json j = nlohmann::json::parse(f);
    auto it = j.find("eos_token_id");
    if (!j.is_object() || it == j.end() || it->is_null()) return ids;
    auto add = [&](const nlohmann::json& v) -> Status {
      if (!v.is_number_integer())
        return Status(StatusCode::kCorruptFile,
                      path + ": eos_token_id must be an integer or a list of integers");
      int64_t x = v.get<int64_t>();
      if (x >= 0 && x <= INT32_MAX) ids.push_back(int32_t(x));
      return Status::ok();
    };
    if (it->is_array()) {
      for (const auto& v : *it) LLMKIT_RETURN_IF_ERROR(add(v));
    } else {
      LLMKIT_RETURN_IF_ERROR(add(*it));
    }
  } catch (const std::exception& e) {
    return Status(StatusCode::kCorruptFile, path + ": " + e.what());
  }
  return ids;
}

Status internal_error(const char* what, const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return Status(StatusCode::kOutOfMemory, std::string(what) + ": out of memory");
  return Status(StatusCode::kInternal, std::string(what) + ": " + e.what());
}

}  // namespace

// ---- construction -------------------------------------------------------------------------------

namespace tok {

Result<std::shared_ptr<const Tokenizer>> TokenizerFactory::wrap(
    std::unique_ptr<TokenizerModel> model, std::string source,
    const std::vector<int32_t>& extra_eog, std::vector<std::string> warnings) {
  if (!model) return Status(StatusCode::kInternal, source + ": no tokenizer model");
  if (model->vocab_size() == 0 || model->vocab_size() > size_t(INT32_MAX))
    return Status(
        StatusCode::kCorruptFile,
        source + ": vocabulary size " + std::to_string(model->vocab_size()) + " is out of range");
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->all_added = AddedTokenMatcher(model->added_tokens(), /*include_special=*/true);
  impl->plain_added = AddedTokenMatcher(model->added_tokens(), /*include_special=*/false);
  impl->end_of_generation = model->special_ids().end_of_generation;
  for (int32_t id : extra_eog)
    if (id >= 0 && size_t(id) < model->vocab_size() &&
        std::find(impl->end_of_generation.begin(), impl->end_of_generation.end(), id) ==
            impl->end_of_generation.end())
      impl->end_of_generation.push_back(id);
  impl->model = std::move(model);
  impl->source = std::move(source);
  impl->warnings = std::move(warnings);
  return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

Result<std::shared_ptr<const Tokenizer>> tokenizer_from_gguf(const io::GgufFile& gguf) {
  const std::string file = gguf.path().empty() ? std::string("<gguf>") : gguf.path();
  auto type = gguf.get_string("tokenizer.ggml.model");
  if (!type)
    return Status(StatusCode::kNotFound, file + ": no tokenizer (tokenizer.ggml.model is missing)");
  std::unique_ptr<TokenizerModel> model;
  std::vector<std::string> warnings;
  if (*type == "llama") {
    LLMKIT_ASSIGN_OR_RETURN(model, make_spm_from_gguf(gguf));
  } else if (*type == "gpt2") {
    std::string warning;
    LLMKIT_ASSIGN_OR_RETURN(model, make_bpe_from_gguf(gguf, &warning));
    if (!warning.empty()) warnings.push_back(warning);
  } else if (*type == "bert") {
    LLMKIT_ASSIGN_OR_RETURN(model, make_wpm_from_gguf(gguf));
  } else if (*type == "none" || *type == "no_vocab") {
    return Status(StatusCode::kNotFound, file + ": the file carries no vocabulary");
  } else {
    return Status(
        StatusCode::kUnsupported,
        file + ": tokenizer.ggml.model '" + *type +
            "' is not supported (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE, 'bert' "
            "WordPiece)");
  }
  return TokenizerFactory::wrap(std::move(model), file, {}, std::move(warnings));
}

namespace {

Result<std::shared_ptr<const Tokenizer>> from_hf_files(const std::string& source,
                                                       const std::string& tokenizer_json,
                                                       const std::string& tokenizer_model,
                                                       const std::string& config_json,
                                                       const std::string& generation_config) {
  std::unique_ptr<TokenizerModel> model;
  if (!tokenizer_json.empty()) {
    LLMKIT_ASSIGN_OR_RETURN(model, load_tokenizer_json(tokenizer_json, config_json));
  } else if (!tokenizer_model.empty()) {
    LLMKIT_ASSIGN_OR_RETURN(model, load_spm_model_file(tokenizer_model, config_json));
  } else {
    return Status(StatusCode::kNotFound, source + ": no tokenizer.json or tokenizer.model");
  }
  LLMKIT_ASSIGN_OR_RETURN(std::vector<int32_t> eog, generation_config_eos(generation_config));
  return TokenizerFactory::wrap(std::move(model), source, eog);
}

}  // namespace

Result<std::shared_ptr<const Tokenizer>> tokenizer_from_model_description(
    const io::ModelDescription& desc) {
  try {
    if (desc.gguf) return tokenizer_from_gguf(*desc.gguf);
    return from_hf_files(desc.path, desc.tokenizer_json, desc.tokenizer_model,
                         desc.tokenizer_config_json, desc.generation_config_json);
  } catch (const std::exception& e) {
    return internal_error("loading the tokenizer", e);
  }
}

Result<std::shared_ptr<const Tokenizer>> tokenizer_from_folder(const std::string& dir) {
  auto file = [&](const char* name) {
    fs::path p = fs::path(dir) / name;
    return is_file(p) ? p.string() : std::string();
  };
  return from_hf_files(dir, file("tokenizer.json"), file("tokenizer.model"),
                       file("tokenizer_config.json"), file("generation_config.json"));
}

}  // namespace tok

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Result<std::shared_ptr<const Tokenizer>> Tokenizer::load(const std::string& path) {
  try {
    std::error_code ec;
    if (path.empty()) return Status(StatusCode::kInvalidArgument, "tokenizer path is empty");
    if (fs::is_directory(path, ec)) return tok::tokenizer_from_folder(path);
    if (!fs::exists(path, ec)) return Status(StatusCode::kNotFound, path + ": no such file");
    LLMKIT_ASSIGN_OR_RETURN(std::string head, sniff(path));
    if (head.size() >= 4 && head.compare(0, 4, "GGUF") == 0) {
      LLMKIT_ASSIGN_OR_RETURN(auto gguf, io::GgufFile::open(path));
      return tok::tokenizer_from_gguf(*gguf);
    }
    const size_t first = head.find_first_not_of(" \t\r\n");
    const bool json =
        (first != std::string::npos && head[first] == '{') || fs::path(path).extension() == ".json";
    const std::string config = sibling_if_exists(path, "tokenizer_config.json");
    const std::string gen = sibling_if_exists(path, "generation_config.json");
    if (json) return tok::from_hf_files(path, path, {}, config, gen);
    return tok::from_hf_files(path, {}, path, config, gen);
  } catch (const std::exception& e) {
    return internal_error(path.c_str(), e);
  }
}

// ---- encode / decode ----------------------------------------------------------------------------

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text,
                                               const EncodeOptions& options) const {
  try {
    const tok::SpecialIds& sp = impl_->model->special_ids();
    const bool bos = options.add_bos.value_or(options.add_special && sp.add_bos);
    const bool eos = options.add_eos.value_or(options.add_special && sp.add_eos);
    if (bos && sp.bos < 0)
      return Status(StatusCode::kInvalidArgument,
                    impl_->source + ": add_bos requested but the tokenizer has no BOS token");
    if (eos && sp.eos < 0)
      return Status(StatusCode::kInvalidArgument,
                    impl_->source + ": add_eos requested but the tokenizer has no EOS token");
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    if (bos) ids.push_back(sp.bos);
    std::vector<tok::TextPiece> pieces;
    (options.parse_special ? impl_->all_added : impl_->plain_added).split(text, pieces);
    for (const tok::TextPiece& p : pieces) {
      if (p.token >= 0) {
        ids.push_back(p.token);
        continue;
      }
      LLMKIT_RETURN_IF_ERROR(
          impl_->model->encode(text.substr(p.begin, p.end - p.begin), p.begin == 0, ids));
    }
    if (eos) ids.push_back(sp.eos);
    return ids;
  } catch (const std::exception& e) {
    return internal_error("encode", e);
  }
}

Result<std::string> Tokenizer::decode(std::span<const int32_t> ids,
                                      const DecodeOptions& options) const {
  try {
    std::string bytes;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!impl_->in_range(ids[i]))
        return Status(StatusCode::kInvalidArgument, "decode: token id " + std::to_string(ids[i]) +
                                                        " at position " + std::to_string(i) +
                                                        " is outside the vocabulary (size " +
                                                        std::to_string(vocab_size()) + ")");
      bytes += impl_->piece(ids[i], options);
    }
    std::string_view view = bytes;
    if (impl_->strips(options) && !view.empty() && view[0] == ' ') view.remove_prefix(1);
    std::string out;
    out.reserve(view.size());
    tok::utf8_sanitize(view, /*final=*/true, options.keep_invalid_utf8, out);
    return out;
  } catch (const std::exception& e) {
    return internal_error("decode", e);
  }
}

// ---- vocabulary queries -------------------------------------------------------------------------

std::string Tokenizer::token_text(int32_t id) const {
  return impl_->in_range(id) ? std::string(impl_->model->token_text(id)) : std::string();
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  return impl_->in_range(id) ? impl_->model->token_bytes(id, render_special) : std::string();
}

int32_t Tokenizer::token_id(std::string_view piece) const {
  return impl_->model->find_token(piece);
}

size_t Tokenizer::vocab_size() const noexcept { return impl_->model->vocab_size(); }
int32_t Tokenizer::bos_id() const noexcept { return impl_->model->special_ids().bos; }
int32_t Tokenizer::eos_id() const noexcept { return impl_->model->special_ids().eos; }
int32_t Tokenizer::eot_id() const noexcept { return impl_->model->special_ids().eot; }
int32_t Tokenizer::pad_id() const noexcept { return impl_->model->special_ids().pad; }
int32_t Tokenizer::unk_id() const noexcept { return impl_->model->special_ids().unk; }
bool Tokenizer::add_bos_by_default() const noexcept { return impl_->model->special_ids().add_bos; }
bool Tokenizer::add_eos_by_default() const noexcept { return impl_->model->special_ids().add_eos; }

bool Tokenizer::is_special(int32_t id) const noexcept {
  if (!impl_->in_range(id)) return false;
  tok::TokenAttr a = impl_->model->token_attr(id);
  return a == tok::TokenAttr::kControl || a == tok::TokenAttr::kUnknown;
}
bool Tokenizer::is_control(int32_t id) const noexcept {
  return impl_->in_range(id) && impl_->model->token_attr(id) == tok::TokenAttr::kControl;
}
bool Tokenizer::is_byte(int32_t id) const noexcept {
  return impl_->in_range(id) && impl_->model->token_attr(id) == tok::TokenAttr::kByte;
}

const std::vector<int32_t>& Tokenizer::end_of_generation_ids() const noexcept {
  return impl_->end_of_generation;
}
bool Tokenizer::is_end_of_generation(int32_t id) const noexcept {
  const auto& v = impl_->end_of_generation;
  return std::find(v.begin(), v.end(), id) != v.end();
}

std::string Tokenizer::kind() const { return impl_->model->kind(); }
const std::string& Tokenizer::source() const noexcept { return impl_->source; }

}  // namespace llmkit
