// C ABI: model loading, metadata, memory estimate and chat formatting (see llmkit.h).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "io/model_description.hpp"
#include "io/model_summary.hpp"
#include "llmkit/model.hpp"
#include "llmkit_c_handles.hpp"
#include "llmkit_c_internal.hpp"

using namespace llmkit::capi;

namespace {

#define MP_FIELDS(T)                                                                             \
  {                                                                                              \
    LLMKIT_FIELD_END(T, backend), LLMKIT_FIELD_END(T, n_threads), LLMKIT_FIELD_END(T, use_mmap), \
        LLMKIT_FIELD_END(T, progress_callback), LLMKIT_FIELD_END(T, progress_user_data),         \
        LLMKIT_FIELD_END(T, repack_cache_dir)                                                    \
  }

llmkit_model_params default_model_params() {
  llmkit_model_params p;
  std::memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  p.backend = LLMKIT_BACKEND_FAST;
  p.n_threads = 0;
  p.use_mmap = 1;
  p.progress_callback = nullptr;
  p.progress_user_data = nullptr;
  p.repack_cache_dir = nullptr;
  return p;
}

// Adapts to the runtime's ModelOptions: a progress hook is used when the C++ API has one.
template <typename Options>
void set_progress(Options& o, llmkit_progress_callback cb, void* ud, bool* cancelled) {
  if constexpr (requires(Options x) { x.progress = [](float) { return true; }; }) {
    if (cb)
      o.progress = [cb, ud, cancelled](float f) {
        bool go = cb(f, ud) != 0;
        if (!go) *cancelled = true;
        return go;
      };
  }
}
template <typename Options>
constexpr bool has_progress() {
  return requires(Options x) {
    x.progress = [](float) { return true; };
  };
}

std::string model_string(const ModelHandle& m, int32_t which, bool* found) {
  *found = true;
  const auto& info = m.model->info();
  switch (which) {
    case LLMKIT_MODEL_ARCHITECTURE:
      return info.architecture;
    case LLMKIT_MODEL_NAME:
      return info.name.empty() && m.desc ? m.desc->name : info.name;
    case LLMKIT_MODEL_LICENSE:
      return m.desc ? m.desc->license : std::string();
    case LLMKIT_MODEL_CHAT_TEMPLATE:
      if (m.model->chat_template()) return *m.model->chat_template();
      *found = false;
      return {};
    case LLMKIT_MODEL_FILE_TYPE:
      return info.file_type;
    case LLMKIT_MODEL_FORMAT:
      return info.format;
    case LLMKIT_MODEL_PATH:
      return info.path;
    case LLMKIT_MODEL_REPACK_CACHE:
      return info.repack_cache;
  }
  *found = false;
  return {};
}

}  // namespace

extern "C" {

LLMKIT_API void llmkit_model_params_init_sized(llmkit_model_params* params, size_t size) {
  if (!params || size < sizeof(uint32_t)) return;
  const llmkit_model_params d = default_model_params();
  // Whole fields only: the largest field end that fits in SIZE.
  size_t n = sizeof(uint32_t);
  for (size_t end : MP_FIELDS(llmkit_model_params))
    if (end <= size) n = std::max(n, end);
  std::memcpy(params, &d, n);
  params->struct_size = static_cast<uint32_t>(n);
}

// Parenthesized: llmkit.h defines a function-like macro of the same name for source callers.
LLMKIT_API void(llmkit_model_params_init)(llmkit_model_params* params) {
  // 0.1.0 callers' struct ends at progress_user_data: never write the fields appended since.
  llmkit_model_params_init_sized(params, offsetof(llmkit_model_params, repack_cache_dir));
}

LLMKIT_API llmkit_status llmkit_model_load(const char* path, const llmkit_model_params* params,
                                           llmkit_model** out_model) {
  static constexpr const char* kFn = "llmkit_model_load";
  if (out_model) *out_model = nullptr;
  return guarded(kFn, [&]() -> llmkit_status {
    if (!out_model) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "out_model is NULL");
    if (!path) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "path is NULL");
    if (*path == '\0') return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "path is empty");
    llmkit_model_params p = default_model_params();
    if (auto s = read_struct(params, &p, sizeof p, MP_FIELDS(llmkit_model_params), kFn,
                             "llmkit_model_params"))
      return s;
    if (p.backend != LLMKIT_BACKEND_FAST && p.backend != LLMKIT_BACKEND_REFERENCE)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn,
                  "params->backend " + std::to_string(p.backend) + " is not a llmkit_backend");
    if (p.n_threads < 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "params->n_threads must be >= 0");

    llmkit::ModelOptions opts;
    opts.backend = p.backend == LLMKIT_BACKEND_REFERENCE ? llmkit::Backend::kReference
                                                         : llmkit::Backend::kFast;
    opts.n_threads = p.n_threads;
    opts.use_mmap = p.use_mmap != 0;
    if (p.repack_cache_dir) opts.repack_cache_dir = p.repack_cache_dir;
    bool cancelled = false;
    set_progress(opts, p.progress_callback, p.progress_user_data, &cancelled);
    constexpr bool kNativeProgress = has_progress<llmkit::ModelOptions>();
    if (!kNativeProgress && p.progress_callback &&
        p.progress_callback(0.0f, p.progress_user_data) == 0)
      return fail(LLMKIT_ERR_CANCELLED, kFn,
                  std::string("cancelled by the progress callback: ") + path);

    auto handle = std::make_unique<ModelHandle>();
    // The description gives the metadata the runtime does not keep (license, any key by name,
    // memory estimate). It maps the same file; only the header pages are touched.
    auto desc = llmkit::io::load_model_description(path);
    if (!desc) return fail(desc.status(), kFn);
    handle->desc = std::move(desc).value();
    auto model = llmkit::Model::load(path, opts);
    if (!model) {
      if (cancelled)
        return fail(LLMKIT_ERR_CANCELLED, kFn,
                    std::string("cancelled by the progress callback: ") + path);
      return fail(model.status(), kFn);
    }
    handle->model = std::move(model).value();
    if (!kNativeProgress && p.progress_callback &&
        p.progress_callback(1.0f, p.progress_user_data) == 0)
      return fail(LLMKIT_ERR_CANCELLED, kFn,
                  std::string("cancelled by the progress callback: ") + path);
    log(LLMKIT_LOG_INFO, "loaded " + std::string(path) + " (" + handle->model->info().architecture +
                             ", " + std::to_string(handle->model->info().n_params) +
                             " parameters)");
    if (!handle->model->info().repack_cache.empty())
      log(LLMKIT_LOG_INFO, handle->model->info().repack_cache);
    register_handle(handle.get(), HandleKind::kModel);
    *out_model = to_public(handle.release());
    return LLMKIT_OK;
  });
}

LLMKIT_API void llmkit_model_free(llmkit_model* model) {
  if (!model) return;
  if (!unregister_handle(model, HandleKind::kModel)) {
    fail(LLMKIT_ERR_INVALID_ARGUMENT, "llmkit_model_free",
         "not a live llmkit_model (double free, or a pointer of another kind); ignored");
    return;
  }
  clear_error();
  delete H(model);  // the C++ model lives on while sessions/tokenizers hold it
}

LLMKIT_API llmkit_status llmkit_model_get_info(const llmkit_model* model, llmkit_model_info* out) {
  static constexpr const char* kFn = "llmkit_model_get_info";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    const auto& i = H(model)->model->info();
    llmkit_model_info v;
    std::memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.n_vocab = i.n_vocab;
    v.n_embd = i.n_embd;
    v.n_layer = i.n_layer;
    v.n_head = i.n_head;
    v.n_head_kv = i.n_head_kv;
    v.head_dim = i.head_dim;
    v.n_ff = i.n_ff;
    v.n_ctx_train = i.n_ctx_train;
    v.n_params = i.n_params;
    v.load_ms = i.load_ms;
    using T = llmkit_model_info;
    return write_struct(
        &v, out, sizeof v,
        {LLMKIT_FIELD_END(T, n_vocab), LLMKIT_FIELD_END(T, n_embd), LLMKIT_FIELD_END(T, n_layer),
         LLMKIT_FIELD_END(T, n_head), LLMKIT_FIELD_END(T, n_head_kv), LLMKIT_FIELD_END(T, head_dim),
         LLMKIT_FIELD_END(T, n_ff), LLMKIT_FIELD_END(T, n_ctx_train), LLMKIT_FIELD_END(T, n_params),
         LLMKIT_FIELD_END(T, load_ms)},
        kFn, "out");
  });
}

LLMKIT_API llmkit_status llmkit_model_get_string(const llmkit_model* model,
                                                 llmkit_model_string which, char* buf,
                                                 size_t capacity, size_t* out_len) {
  static constexpr const char* kFn = "llmkit_model_get_string";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    const int32_t w = enum_value(which);
    if (w < LLMKIT_MODEL_ARCHITECTURE || w > LLMKIT_MODEL_REPACK_CACHE)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn,
                  "which = " + std::to_string(w) + " is not a llmkit_model_string");
    bool found = false;
    std::string v = model_string(*H(model), w, &found);
    if (!found) {
      if (out_len) *out_len = 0;
      return fail(LLMKIT_ERR_NOT_FOUND, kFn, "the model has no chat template");
    }
    return copy_text(v, buf, capacity, out_len, kFn);
  });
}

LLMKIT_API llmkit_status llmkit_model_get_meta(const llmkit_model* model, const char* key,
                                               char* buf, size_t capacity, size_t* out_len) {
  static constexpr const char* kFn = "llmkit_model_get_meta";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    if (!key) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "key is NULL");
    const auto& d = *H(model)->desc;
    std::string value;
    bool found = false;
    if (d.gguf) {
      if (const auto* v = d.gguf->find(key)) {
        value = v->type == llmkit::io::GgufType::STRING ? v->str : v->to_display(8);
        found = true;
      }
    } else {
      auto it = d.hparams.raw.find(key);
      if (it != d.hparams.raw.end()) {
        value = it->second;
        found = true;
      }
    }
    if (!found) {
      if (out_len) *out_len = 0;
      return fail(LLMKIT_ERR_NOT_FOUND, kFn,
                  std::string("no metadata key '") + key + "' in " + d.path);
    }
    return copy_text(value, buf, capacity, out_len, kFn);
  });
}

LLMKIT_API llmkit_status llmkit_model_estimate_memory(const llmkit_model* model, uint32_t n_ctx,
                                                      llmkit_kv_type kv_type,
                                                      llmkit_memory_estimate* out) {
  static constexpr const char* kFn = "llmkit_model_estimate_memory";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    uint32_t bytes = 0;
    const int32_t kv = enum_value(kv_type);
    switch (kv) {
      case LLMKIT_KV_F32:
        bytes = 4;
        break;
      case LLMKIT_KV_F16:
        bytes = 2;
        break;
      case LLMKIT_KV_BF16:
        bytes = 2;
        break;
      default:
        return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn,
                    "kv_type " + std::to_string(kv) + " is not a llmkit_kv_type");
    }
    if (n_ctx == 0) {
      uint32_t train = H(model)->model->info().n_ctx_train;
      n_ctx = train == 0 || train > 4096 ? 4096 : train;
    }
    auto e = llmkit::io::estimate_memory(*H(model)->desc, n_ctx, bytes);
    llmkit_memory_estimate v;
    std::memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.n_ctx = e.n_ctx;
    v.weights_bytes = e.weights_bytes;
    v.kv_cache_bytes = e.kv_cache_bytes;
    v.scratch_bytes = e.scratch_bytes;
    v.total_bytes = e.total();
    using T = llmkit_memory_estimate;
    return write_struct(&v, out, sizeof v,
                        {LLMKIT_FIELD_END(T, n_ctx), LLMKIT_FIELD_END(T, weights_bytes),
                         LLMKIT_FIELD_END(T, kv_cache_bytes), LLMKIT_FIELD_END(T, scratch_bytes),
                         LLMKIT_FIELD_END(T, total_bytes)},
                        kFn, "out");
  });
}

LLMKIT_API llmkit_status llmkit_model_apply_chat_template(const llmkit_model* model,
                                                          const llmkit_chat_message* messages,
                                                          size_t n_messages,
                                                          int add_generation_prompt, char* buf,
                                                          size_t capacity, size_t* out_len) {
  static constexpr const char* kFn = "llmkit_model_apply_chat_template";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    if (!out_len) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "out_len is NULL");
    if (!messages && n_messages != 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "messages is NULL but n_messages is not 0");
    std::vector<llmkit::ChatMessage> msgs;
    msgs.reserve(n_messages);
    for (size_t i = 0; i < n_messages; ++i) {
      std::string where = "messages[" + std::to_string(i) + "]";
      if (!messages[i].role) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, where + ".role is NULL");
      if (!messages[i].content)
        return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, where + ".content is NULL");
      llmkit::ChatMessage m{messages[i].role, messages[i].content};
      if (auto s = check_utf8(m.role, kFn, (where + ".role").c_str())) return s;
      if (auto s = check_utf8(m.content, kFn, (where + ".content").c_str())) return s;
      msgs.push_back(std::move(m));
    }
    auto text = H(model)->model->apply_chat_template(msgs, add_generation_prompt != 0);
    if (!text) return fail(text.status(), kFn);
    return copy_text(*text, buf, capacity, out_len, kFn);
  });
}

}  // extern "C"
