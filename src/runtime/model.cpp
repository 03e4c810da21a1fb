// Model::load: description -> architecture config -> decoder (weights packed once) + tokenizer.
#include <chrono>
#include <exception>
#include <future>
#include <system_error>

#include "llmkit/model.hpp"
#include "models/repack_cache.hpp"
#include "runtime/chat_format.hpp"
#include "runtime/model_impl.hpp"
#include "runtime/text.hpp"

namespace llmkit {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelInfo& Model::info() const noexcept { return impl_->info; }
const Tokenizer* Model::tokenizer() const noexcept { return impl_->tokenizer.get(); }
const std::optional<std::string>& Model::chat_template() const noexcept {
  return impl_->chat_template;
}

Result<ChatFormat> Model::chat_format() const {
  LLMKIT_ASSIGN_OR_RETURN(
      runtime::ChatSpec spec,
      runtime::detect_chat_format(impl_->chat_template, impl_->info.architecture));
  return spec.format;
}

Result<std::string> Model::apply_chat_template(const std::vector<ChatMessage>& messages,
                                               bool add_generation_prompt) const {
  LLMKIT_ASSIGN_OR_RETURN(
      runtime::ChatSpec spec,
      runtime::detect_chat_format(impl_->chat_template, impl_->info.architecture));
  return runtime::render_chat(spec, messages, add_generation_prompt);
}

namespace {

Result<std::shared_ptr<const Model>> load_impl(const std::string& path, const ModelOptions& options,
                                               std::unique_ptr<Model::Impl>& impl) {
  const auto t0 = std::chrono::steady_clock::now();
  const ops::Backend be =
      options.backend == Backend::kReference ? ops::Backend::kReference : ops::Backend::kFast;
  io::LoadOptions lo;
  lo.map.use_mmap = options.use_mmap;
  // The fast backend reads the file's matrices once (to pack them) or never (repack cache), and
  // later only token-embedding rows: 4 KiB pages keep its RSS to what it reads.
  lo.map.small_pages = be == ops::Backend::kFast;
  lo.keep_large_arrays = false;  // the tokenizer reads the vocabulary arrays itself
  LLMKIT_ASSIGN_OR_RETURN(impl->desc, io::load_model_description(path, lo));
  const io::ModelDescription& d = *impl->desc;
  auto arch = models::find_architecture(d.hparams.architecture);
  if (!arch) return Status(arch.status().code(), path + ": " + arch.status().message());
  impl->arch = *arch;
  if (options.progress && !options.progress(0.0f))
    return Status(StatusCode::kCancelled, path + ": load cancelled");
  // The tokenizer reads only the file's metadata (Tokenizer::load parses it on its own), so it is
  // built on a second thread while the weights are packed: the packer leaves a core idle between
  // large matrices, and a 128k-262k vocabulary takes 0.1-0.25 s to build.
  std::future<Result<std::shared_ptr<const Tokenizer>>> tok_future;
  try {
    tok_future = std::async(std::launch::async, [&d] { return runtime::load_tokenizer(d); });
  } catch (const std::system_error&) {
    // no thread available: load it below, after the weights
  }
  std::unique_ptr<models::RepackCache> cache;
  if (be == ops::Backend::kFast && !options.repack_cache_dir.empty())
    cache = models::RepackCache::open(options.repack_cache_dir, path, d.files);
  auto decoder = models::Decoder::build(impl->desc, impl->arch, be, options.progress, cache.get());
  auto tokenizer = tok_future.valid() ? tok_future.get() : runtime::load_tokenizer(d);
  if (!decoder) return decoder.status();
  if (!tokenizer) return tokenizer.status();
  if (cache) {
    (void)cache->save();  // best effort: a failure is only noted
    impl->info.repack_cache = cache->note();
  }
  impl->decoder = std::move(decoder).value();
  if (be == ops::Backend::kFast) d.release_all_pages();  // only packed copies are read now
  impl->tokenizer = std::move(tokenizer).value();
  impl->chat_template = d.chat_template;

  ModelInfo& info = impl->info;
  const io::HyperParams& hp = impl->decoder->hparams();
  info.path = path;
  info.architecture = hp.architecture;
  info.name = d.name;
  info.file_type = d.file_type;
  info.format = d.format == io::SourceFormat::kGguf ? "gguf" : "safetensors";
  info.n_vocab = hp.n_vocab;
  info.n_embd = hp.n_embd;
  info.n_layer = hp.n_layer;
  info.n_head = hp.n_head;
  info.n_head_kv = hp.n_head_kv;
  info.head_dim = hp.head_dim;
  info.n_ff = hp.n_ff;
  info.n_ctx_train = hp.n_ctx_train;
  info.n_params = d.parameter_count();
  info.weight_bytes_per_token = impl->decoder->weight_bytes_per_token();
  if (d.hparams.bos_token_id < hp.n_vocab)
    info.bos_token = static_cast<int32_t>(d.hparams.bos_token_id);
  if (d.hparams.eos_token_id < hp.n_vocab)
    info.eos_token = static_cast<int32_t>(d.hparams.eos_token_id);
  info.backend = options.backend;
  info.load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return std::shared_ptr<const Model>();  // filled by the caller (private constructor)
}

}  // namespace

Result<std::shared_ptr<const Model>> Model::load(const std::string& path,
                                                 const ModelOptions& options) {
  try {
    auto impl = std::make_unique<Impl>();
    auto r = load_impl(path, options, impl);
    if (!r) return r.status();
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, path + ": out of memory while loading the model");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, path + ": unexpected error while loading: " + e.what());
  }
}

}  // namespace llmkit
