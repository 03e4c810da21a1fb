// C ABI: tokenizer handles — encode/decode with the two-call pattern, token text, special ids.
#include <memory>
#include <string>
#include <vector>

#include "llmkit_c_handles.hpp"
#include "llmkit_c_internal.hpp"

// The tokenizer library is written in parallel: its header may land before its implementation, so
// the real entry points are compiled only when both exist (otherwise: UNSUPPORTED, and the shared
// library still links without undefined symbols).
#if __has_include("llmkit/tokenizer.hpp") && __has_include("../../src/tokenizer/tokenizer.cpp")
#include "llmkit/tokenizer.hpp"
#define LLMKIT_C_HAVE_TOKENIZER 1
#else
#define LLMKIT_C_HAVE_TOKENIZER 0
#endif

using namespace llmkit::capi;

#if !LLMKIT_C_HAVE_TOKENIZER
namespace {

llmkit_status no_tokenizer_api(const char* fn) {
  return fail(LLMKIT_ERR_UNSUPPORTED, fn, "this build of llmkit has no tokenizer library");
}

}  // namespace
#endif

#if LLMKIT_C_HAVE_TOKENIZER
#include "llmkit_c_tokenizer_impl.inc"
#else

extern "C" {

LLMKIT_API llmkit_status llmkit_tokenizer_from_model(const llmkit_model* model,
                                                     llmkit_tokenizer** out_tokenizer) {
  static constexpr const char* kFn = "llmkit_tokenizer_from_model";
  if (out_tokenizer) *out_tokenizer = nullptr;
  return guarded(kFn, [&]() -> llmkit_status {
    if (!out_tokenizer) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "out_tokenizer is NULL");
    if (auto s = check_handle(model, HandleKind::kModel, kFn)) return s;
    return no_tokenizer_api(kFn);
  });
}

LLMKIT_API llmkit_status llmkit_tokenizer_load(const char* path, llmkit_tokenizer** out_tokenizer) {
  static constexpr const char* kFn = "llmkit_tokenizer_load";
  if (out_tokenizer) *out_tokenizer = nullptr;
  return guarded(kFn, [&]() -> llmkit_status {
    if (!out_tokenizer) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "out_tokenizer is NULL");
    if (!path) return fail(LLMKIT_ERR_INVALID_ARGUMENT, kFn, "path is NULL");
    return no_tokenizer_api(kFn);
  });
}

LLMKIT_API void llmkit_tokenizer_free(llmkit_tokenizer* tokenizer) {
  if (!tokenizer) return;
  if (!unregister_handle(tokenizer, HandleKind::kTokenizer)) {
    fail(LLMKIT_ERR_INVALID_ARGUMENT, "llmkit_tokenizer_free",
         "not a live llmkit_tokenizer (double free, or a pointer of another kind); ignored");
    return;
  }
  delete H(tokenizer);
}

LLMKIT_API llmkit_status llmkit_tokenizer_encode(const llmkit_tokenizer* tokenizer, const char*,
                                                 size_t, uint32_t, int32_t*, size_t, size_t*) {
  static constexpr const char* kFn = "llmkit_tokenizer_encode";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(tokenizer, HandleKind::kTokenizer, kFn)) return s;
    return no_tokenizer_api(kFn);
  });
}

LLMKIT_API llmkit_status llmkit_tokenizer_decode(const llmkit_tokenizer* tokenizer, const int32_t*,
                                                 size_t, uint32_t, char*, size_t, size_t*) {
  static constexpr const char* kFn = "llmkit_tokenizer_decode";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(tokenizer, HandleKind::kTokenizer, kFn)) return s;
    return no_tokenizer_api(kFn);
  });
}

LLMKIT_API llmkit_status llmkit_tokenizer_token_text(const llmkit_tokenizer* tokenizer, int32_t,
                                                     char*, size_t, size_t*) {
  static constexpr const char* kFn = "llmkit_tokenizer_token_text";
  return guarded(kFn, [&]() -> llmkit_status {
    if (auto s = check_handle(tokenizer, HandleKind::kTokenizer, kFn)) return s;
    return no_tokenizer_api(kFn);
  });
}

LLMKIT_API int32_t llmkit_tokenizer_n_vocab(const llmkit_tokenizer* tokenizer) {
  check_handle(tokenizer, HandleKind::kTokenizer, "llmkit_tokenizer_n_vocab");
  return 0;
}

LLMKIT_API int32_t llmkit_tokenizer_special_id(const llmkit_tokenizer* tokenizer,
                                               llmkit_special_token) {
  check_handle(tokenizer, HandleKind::kTokenizer, "llmkit_tokenizer_special_id");
  return -1;
}

LLMKIT_API int llmkit_tokenizer_is_end_of_generation(const llmkit_tokenizer* tokenizer, int32_t) {
  check_handle(tokenizer, HandleKind::kTokenizer, "llmkit_tokenizer_is_end_of_generation");
  return 0;
}

}  // extern "C"
#endif
