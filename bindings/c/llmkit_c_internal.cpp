// Internal helpers of the C ABI (see llmkit_c_internal.hpp) plus the version, status, error and
// logging functions of llmkit.h.
#include "llmkit_c_internal.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "io/utf8.hpp"
#include "llmkit/version.hpp"

static_assert(LLMKIT_VERSION_NUMBER ==
                  LLMKIT_VERSION_MAJOR * 10000 + LLMKIT_VERSION_MINOR * 100 + LLMKIT_VERSION_PATCH,
              "version macros");

namespace llmkit::capi {
namespace {

thread_local std::string t_last_error;

struct LogState {
  std::mutex mu;
  llmkit_log_callback callback = nullptr;
  void* user_data = nullptr;
  int32_t min_level = LLMKIT_LOG_INFO;
};
LogState& log_state() {
  static LogState* s = new LogState();  // leaked on purpose: usable during static destruction
  return *s;
}

struct Registry {
  std::mutex mu;
  std::unordered_map<const void*, HandleKind> live;
};
Registry& registry() {
  static Registry* r = new Registry();  // leaked on purpose (see above)
  return *r;
}

size_t whole_fields(size_t size, std::initializer_list<size_t> field_ends) {
  size_t n = sizeof(uint32_t);
  for (size_t end : field_ends)
    if (end <= size) n = std::max(n, end);
  return n;
}

}  // namespace

void clear_error() { t_last_error.clear(); }

void log(llmkit_log_level level, std::string_view message) {
  llmkit_log_callback cb;
  void* ud;
  {
    LogState& s = log_state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.callback || level < s.min_level) return;
    cb = s.callback;
    ud = s.user_data;
  }
  // Called outside the lock so the callback may itself call llmkit_set_log_callback.
  std::string text(message);
  cb(level, text.c_str(), ud);
}

llmkit_status fail(llmkit_status s, const char* function, std::string_view message) {
  try {
    t_last_error.assign(function);
    t_last_error += ": ";
    t_last_error += message;
    log(LLMKIT_LOG_ERROR, t_last_error);
  } catch (...) {
    // Out of memory while reporting: keep the status, the message may be incomplete.
  }
  return s;
}

llmkit_status fail(const Status& status, const char* function) {
  if (status.is_ok())
    return fail(LLMKIT_ERR_INTERNAL, function, "error reported without a message");
  return fail(to_c(status.code()), function, status.message());
}

const char* handle_kind_name(HandleKind kind) {
  switch (kind) {
    case HandleKind::kModel:
      return "llmkit_model";
    case HandleKind::kTokenizer:
      return "llmkit_tokenizer";
    case HandleKind::kSession:
      return "llmkit_session";
  }
  return "handle";
}

void register_handle(const void* p, HandleKind kind) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.live[p] = kind;
}

bool unregister_handle(const void* p, HandleKind kind) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.live.find(p);
  if (it == r.live.end() || it->second != kind) return false;
  r.live.erase(it);
  return true;
}

bool is_live(const void* p, HandleKind kind) {
  if (!p) return false;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.live.find(p);
  return it != r.live.end() && it->second == kind;
}

llmkit_status check_handle(const void* p, HandleKind kind, const char* function) {
  if (!p)
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                std::string(handle_kind_name(kind)) + " is NULL");
  if (!is_live(p, kind))
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                std::string("not a live ") + handle_kind_name(kind) +
                    " (already freed, or a pointer of another kind)");
  return LLMKIT_OK;
}

llmkit_status read_struct(const void* in, void* out, size_t lib_size,
                          std::initializer_list<size_t> field_ends, const char* function,
                          const char* what) {
  if (!in) return LLMKIT_OK;
  uint32_t size;
  std::memcpy(&size, in, sizeof size);
  if (size < sizeof(uint32_t))
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                std::string(what) + "->struct_size is " + std::to_string(size) + " (use " + what +
                    "_init to set it)");
  const auto* bytes = static_cast<const unsigned char*>(in);
  if (size > lib_size) {
    // A newer caller: fields this library does not know must be zero (= "not used").
    if (size > (1u << 20))
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                  std::string(what) + "->struct_size " + std::to_string(size) + " is implausible");
    for (size_t i = lib_size; i < size; ++i)
      if (bytes[i] != 0)
        return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                    std::string(what) +
                        " has fields this library (" LLMKIT_VERSION_STRING
                        ") does not know (non-zero byte at offset " +
                        std::to_string(i) + " of struct_size " + std::to_string(size) + ")");
  }
  size_t n = whole_fields(std::min<size_t>(size, lib_size), field_ends);
  std::memcpy(static_cast<unsigned char*>(out) + sizeof(uint32_t), bytes + sizeof(uint32_t),
              n - sizeof(uint32_t));
  return LLMKIT_OK;
}

llmkit_status write_struct(const void* src, void* dst, size_t lib_size,
                           std::initializer_list<size_t> field_ends, const char* function,
                           const char* what) {
  if (!dst) return fail(LLMKIT_ERR_INVALID_ARGUMENT, function, std::string(what) + " is NULL");
  uint32_t size;
  std::memcpy(&size, dst, sizeof size);
  if (size < sizeof(uint32_t))
    return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                std::string(what) + "->struct_size is " + std::to_string(size) +
                    " (set it to sizeof the struct)");
  size_t n = whole_fields(std::min<size_t>(size, lib_size), field_ends);
  std::memcpy(static_cast<unsigned char*>(dst) + sizeof(uint32_t),
              static_cast<const unsigned char*>(src) + sizeof(uint32_t), n - sizeof(uint32_t));
  return LLMKIT_OK;
}

llmkit_status copy_text(std::string_view text, char* buf, size_t capacity, size_t* out_len,
                        const char* function) {
  if (!out_len) return fail(LLMKIT_ERR_INVALID_ARGUMENT, function, "out_len is NULL");
  *out_len = text.size();
  if (!buf) {
    if (capacity != 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, function, "buf is NULL but capacity is not 0");
    return LLMKIT_OK;
  }
  if (capacity < text.size() + 1)
    return fail(LLMKIT_ERR_BUFFER_TOO_SMALL, function,
                "buffer of " + std::to_string(capacity) + " bytes is too small: need " +
                    std::to_string(text.size() + 1) + " (text + NUL)");
  if (!text.empty()) std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return LLMKIT_OK;
}

llmkit_status copy_ids(const int32_t* ids, size_t n, int32_t* buf, size_t capacity, size_t* out_n,
                       const char* function) {
  if (!out_n) return fail(LLMKIT_ERR_INVALID_ARGUMENT, function, "out_n_tokens is NULL");
  *out_n = n;
  if (!buf) {
    if (capacity != 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, function, "tokens is NULL but capacity is not 0");
    return LLMKIT_OK;
  }
  if (capacity < n)
    return fail(LLMKIT_ERR_BUFFER_TOO_SMALL, function,
                "buffer of " + std::to_string(capacity) + " tokens is too small: need " +
                    std::to_string(n));
  if (n) std::memcpy(buf, ids, n * sizeof(int32_t));
  return LLMKIT_OK;
}

llmkit_status check_utf8(std::string_view text, const char* function, const char* what) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t len = io::utf8_sequence_length(p + i, text.size() - i);
    if (len == 0)
      return fail(LLMKIT_ERR_INVALID_ARGUMENT, function,
                  std::string(what) + " is not valid UTF-8 at byte offset " + std::to_string(i));
    i += len;
  }
  return LLMKIT_OK;
}

}  // namespace llmkit::capi

using namespace llmkit::capi;

extern "C" {

LLMKIT_API int32_t llmkit_version_number(void) { return LLMKIT_VERSION_NUMBER; }
LLMKIT_API const char* llmkit_version_string(void) { return LLMKIT_VERSION_STRING; }

LLMKIT_API const char* llmkit_status_str(llmkit_status status) {
  switch (enum_value(status)) {
    case LLMKIT_OK:
      return "LLMKIT_OK";
    case LLMKIT_ERR_INVALID_ARGUMENT:
      return "LLMKIT_ERR_INVALID_ARGUMENT";
    case LLMKIT_ERR_NOT_FOUND:
      return "LLMKIT_ERR_NOT_FOUND";
    case LLMKIT_ERR_IO:
      return "LLMKIT_ERR_IO";
    case LLMKIT_ERR_CORRUPT_FILE:
      return "LLMKIT_ERR_CORRUPT_FILE";
    case LLMKIT_ERR_UNSUPPORTED:
      return "LLMKIT_ERR_UNSUPPORTED";
    case LLMKIT_ERR_OUT_OF_MEMORY:
      return "LLMKIT_ERR_OUT_OF_MEMORY";
    case LLMKIT_ERR_OUT_OF_RANGE:
      return "LLMKIT_ERR_OUT_OF_RANGE";
    case LLMKIT_ERR_CANCELLED:
      return "LLMKIT_ERR_CANCELLED";
    case LLMKIT_ERR_INTERNAL:
      return "LLMKIT_ERR_INTERNAL";
    case LLMKIT_ERR_NETWORK_UNAVAILABLE:
      return "LLMKIT_ERR_NETWORK_UNAVAILABLE";
    case LLMKIT_ERR_BUFFER_TOO_SMALL:
      return "LLMKIT_ERR_BUFFER_TOO_SMALL";
  }
  return "LLMKIT_ERR_UNKNOWN";
}

LLMKIT_API const char* llmkit_last_error(void) { return llmkit::capi::t_last_error.c_str(); }

LLMKIT_API void llmkit_set_log_callback(llmkit_log_callback callback, void* user_data,
                                        llmkit_log_level min_level) {
  LogState& s = log_state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.callback = callback;
  s.user_data = user_data;
  s.min_level = enum_value(min_level);
}

}  // extern "C"
