#include "io/model_description.hpp"

#include <filesystem>
#include <map>

#include "io/hf_config.hpp"

namespace llmkit::io {

namespace fs = std::filesystem;

void ModelDescription::release_tensor_pages(const TensorRef& t) const noexcept {
  if (t.data && t.n_bytes > 0) release_bytes(t.data, t.n_bytes);
}

const MappedFile* ModelDescription::file_holding(const uint8_t* p) const noexcept {
  auto holds = [&](const MappedFile* f) {
    return f && p >= f->data() && p < f->data() + f->size();
  };
  if (gguf)
    for (size_t i = 0; i < gguf->split_count(); ++i)
      if (holds(gguf->split_file(i))) return gguf->split_file(i);
  for (const auto& m : mappings)
    if (holds(m.get())) return m.get();
  return nullptr;
}

void ModelDescription::release_bytes(const uint8_t* p, uint64_t n) const noexcept {
  if (!p || n == 0) return;
  if (const MappedFile* f = file_holding(p)) f->release_range(uint64_t(p - f->data()), n);
}

void ModelDescription::release_blocks_around(const uint8_t* p, uint64_t n) const noexcept {
  if (!p || n == 0) return;
  if (const MappedFile* f = file_holding(p)) f->release_blocks_around(uint64_t(p - f->data()), n);
}

void ModelDescription::release_all_pages() const noexcept {
  if (gguf)
    for (size_t i = 0; i < gguf->split_count(); ++i)
      if (const MappedFile* f = gguf->split_file(i)) f->release_range(0, f->size());
  for (const auto& m : mappings)
    if (m) m->release_range(0, m->size());
}

uint64_t ModelDescription::parameter_count() const noexcept {
  uint64_t n = 0;
  for (const auto& t : tensors) n += t.n_elements;
  return n;
}

namespace {

Status add_tensor(ModelDescription& d, TensorRef t) {
  if (d.tensor_index.count(t.name))
    return Status(StatusCode::kCorruptFile, t.source_file + ": tensor '" + t.source_name +
                                                "' maps to canonical name '" + t.name +
                                                "', which another tensor already has");
  d.tensor_index.emplace(t.name, d.tensors.size());
  d.tensors.push_back(std::move(t));
  return Status::ok();
}

std::string ftype_name(int64_t ft) {
  // llama.cpp's llama_ftype values (general.file_type).
  static const std::map<int64_t, const char*> kNames = {
      {0, "all F32"},        {1, "mostly F16"},     {2, "Q4_0"},           {3, "Q4_1"},
      {7, "Q8_0"},           {8, "Q5_0"},           {9, "Q5_1"},           {10, "Q2_K - Medium"},
      {11, "Q3_K - Small"},  {12, "Q3_K - Medium"}, {13, "Q3_K - Large"},  {14, "Q4_K - Small"},
      {15, "Q4_K - Medium"}, {16, "Q5_K - Small"},  {17, "Q5_K - Medium"}, {18, "Q6_K"},
      {32, "BF16"},          {38, "MXFP4 MoE"}};
  auto it = kNames.find(ft);
  return it != kNames.end() ? it->second : "file_type " + std::to_string(ft);
}

}  // namespace

Result<std::shared_ptr<ModelDescription>> describe_gguf(std::shared_ptr<const GgufFile> g) {
  auto d = std::make_shared<ModelDescription>();
  d->format = SourceFormat::kGguf;
  d->path = g->path();
  for (size_t i = 0; i < g->split_count(); ++i)
    d->files.push_back(g->split_file(i) ? g->split_file(i)->path() : g->path());
  HyperParams& hp = d->hparams;
  auto arch = g->get_string("general.architecture");
  if (!arch)
    return Status(StatusCode::kCorruptFile,
                  g->path() + ": metadata 'general.architecture' is missing");
  hp.architecture = *arch;
  const std::string a = *arch + ".";
  auto u32 = [&](const std::string& key, uint32_t& out) {
    if (auto v = g->get_int(key); v && *v >= 0 && *v <= UINT32_MAX) out = static_cast<uint32_t>(*v);
  };
  auto f32 = [&](const std::string& key, float& out) {
    if (auto v = g->get_float(key)) out = static_cast<float>(*v);
  };
  u32(a + "embedding_length", hp.n_embd);
  u32(a + "block_count", hp.n_layer);
  u32(a + "attention.head_count", hp.n_head);
  hp.n_head_kv = hp.n_head;
  u32(a + "attention.head_count_kv", hp.n_head_kv);
  u32(a + "feed_forward_length", hp.n_ff);
  u32(a + "context_length", hp.n_ctx_train);
  f32(a + "attention.layer_norm_rms_epsilon", hp.norm_eps);
  f32(a + "rope.freq_base", hp.rope_theta);
  u32(a + "attention.sliding_window", hp.sliding_window);
  if (hp.n_head) hp.head_dim = hp.n_embd / hp.n_head;
  u32(a + "attention.key_length", hp.head_dim);
  if (auto t = g->get_string(a + "rope.scaling.type")) hp.rope_scaling_type = *t;
  f32(a + "rope.scaling.factor", hp.rope_scaling_factor);
  u32(a + "rope.scaling.original_context_length", hp.rope_original_ctx);
  f32(a + "attn_logit_softcapping", hp.attn_logit_softcap);
  f32(a + "final_logit_softcapping", hp.final_logit_softcap);
  if (*arch == "gemma3") {
    // llama.cpp fixes these for Gemma 3 rather than storing them.
    hp.rope_theta_local = 10000.0f;
    hp.sliding_window_pattern = 6;
    hp.hidden_act = "gelu_pytorch_tanh";
    hp.query_pre_attn_scalar = static_cast<float>(hp.head_dim);
  } else if (*arch == "gemma2" || *arch == "gemma") {
    hp.hidden_act = "gelu_pytorch_tanh";
  }
  for (const auto& [key, value] : g->metadata()) {
    if (key.rfind("tokenizer.", 0) == 0 || value.is_array()) continue;
    hp.raw[key] = value.type == GgufType::STRING ? value.str : value.to_display();
  }
  if (auto v = g->get_int("tokenizer.ggml.bos_token_id"))
    hp.bos_token_id = static_cast<uint32_t>(*v);
  if (auto v = g->get_int("tokenizer.ggml.eos_token_id"))
    hp.eos_token_id = static_cast<uint32_t>(*v);
  if (const GgufValue* toks = g->find("tokenizer.ggml.tokens"))
    hp.n_vocab = static_cast<uint32_t>(toks->array_size());
  u32(a + "vocab_size", hp.n_vocab);

  for (const auto& ti : g->tensors()) {
    TensorRef t;
    t.name = ti.name;
    t.type = static_cast<TensorType>(ti.type);
    t.shape = ti.dims;
    t.n_elements = ti.n_elements;
    t.n_bytes = ti.n_bytes;
    t.data = ti.data;
    t.source_file = g->split_file(ti.split) ? g->split_file(ti.split)->path() : g->path();
    t.source_name = ti.name;
    t.file_offset = ti.file_offset;
    LLMKIT_RETURN_IF_ERROR(add_tensor(*d, std::move(t)));
  }
  if (const TensorRef* emb = d->find("token_embd.weight");
      emb && emb->shape.size() == 2 && hp.n_vocab == 0)
    hp.n_vocab = static_cast<uint32_t>(emb->shape[1]);
  hp.tie_embeddings = d->find("output.weight") == nullptr;
  hp.attn_qkv_bias = d->find("blk.0.attn_q.bias") != nullptr;
  hp.qk_norm = d->find("blk.0.attn_q_norm.weight") != nullptr;

  d->name = g->get_string("general.name").value_or("");
  d->license = g->get_string("general.license").value_or("");
  d->chat_template = g->get_string("tokenizer.chat_template");
  if (auto ft = g->get_int("general.file_type")) d->file_type = ftype_name(*ft);
  d->qk_order = QkRowOrder::kGgufInterleaved;
  d->gguf = std::move(g);
  return d;
}

Result<std::shared_ptr<const ModelDescription>> load_model_description(const std::string& path,
                                                                       const LoadOptions& opts) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<ModelDescription> d, describe_hf_folder(path, opts));
    return std::shared_ptr<const ModelDescription>(std::move(d));
  }
  if (!fs::exists(path, ec))
    return Status(StatusCode::kNotFound, path + ": no such file or directory");
  if (fs::path(path).extension() == ".safetensors")
    return Status(StatusCode::kInvalidArgument,
                  path +
                      ": pass the Hugging Face folder holding config.json and the .safetensors "
                      "files, not a single shard");
  GgufParseOptions popts;
  if (!opts.keep_large_arrays) popts.max_kept_array_elems = 4096;
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> g, GgufFile::open(path, opts.map, popts));
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<ModelDescription> d,
                          describe_gguf(std::shared_ptr<const GgufFile>(std::move(g))));
  return std::shared_ptr<const ModelDescription>(std::move(d));
}

}  // namespace llmkit::io
