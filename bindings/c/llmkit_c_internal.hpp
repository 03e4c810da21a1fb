// Internal helpers shared by the C ABI's translation units (bindings/c/*.cpp): handle registry,
// thread-local last error, logging, the exception firewall and struct_size-aware parameter copies.
// Nothing here is exported: the shared library is built with hidden visibility and only the
// LLMKIT_API functions of llmkit.h are visible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "llmkit.h"
#include "llmkit/status.hpp"

namespace llmkit::capi {

// ---- errors ------------------------------------------------------------------------------------

// Sets this thread's last error to "FUNCTION: MESSAGE", logs it at LLMKIT_LOG_ERROR and returns S.
llmkit_status fail(llmkit_status s, const char* function, std::string_view message);
// Maps a C++ Status (non-OK) to the C code (negated StatusCode) and records its message.
llmkit_status fail(const Status& status, const char* function);
// Clears this thread's last error (every successful status-returning call does this).
void clear_error();
void log(llmkit_log_level level, std::string_view message);
// The integer value of an enum argument coming from C, read without an enum load: a C caller may
// pass any int, and loading an out-of-range value as a C++ enum is undefined (UBSan:
// -fsanitize=enum).
template <typename E>
int32_t enum_value(const E& e) noexcept {
  static_assert(sizeof(E) == sizeof(int32_t));
  int32_t v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}
inline llmkit_status to_c(StatusCode code) {
  return static_cast<llmkit_status>(-static_cast<int32_t>(code));
}

// The exception firewall: runs BODY (returning llmkit_status) and turns anything thrown into an
// error status. No exception ever leaves a function of the C ABI.
template <typename Body>
llmkit_status guarded(const char* function, Body&& body) noexcept {
  try {
    clear_error();
    return body();
  } catch (const std::bad_alloc&) {
    return fail(LLMKIT_ERR_OUT_OF_MEMORY, function, "out of memory");
  } catch (const std::exception& e) {
    return fail(LLMKIT_ERR_INTERNAL, function, std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return fail(LLMKIT_ERR_INTERNAL, function, "unexpected non-standard exception");
  }
}

// ---- handle registry ---------------------------------------------------------------------------
// Every live handle is registered with its kind, so NULL, freed (double free) and wrong-kind
// pointers are reported instead of dereferenced. A freed address reused by a new handle of the
// same kind cannot be told apart (documented in llmkit.h as "where detectable").

enum class HandleKind : uint8_t { kModel = 1, kTokenizer = 2, kSession = 3 };
const char* handle_kind_name(HandleKind kind);
void register_handle(const void* p, HandleKind kind);
// Removes P if it is a live handle of KIND; false otherwise.
bool unregister_handle(const void* p, HandleKind kind);
bool is_live(const void* p, HandleKind kind);
// OK if P is a live handle of KIND, else an INVALID_ARGUMENT failure naming the parameter.
llmkit_status check_handle(const void* p, HandleKind kind, const char* function);

// ---- parameter structs ------------------------------------------------------------------------

// Ends (offsetof + sizeof) of the fields of a struct, in declaration order, for struct_size logic.
#define LLMKIT_FIELD_END(type, field) (offsetof(type, field) + sizeof(((type*)nullptr)->field))

// Copies the caller's *IN (its first struct_size bytes, whole fields only) over OUT, which holds
// the defaults. IN may be NULL (defaults). Rejects struct_size < 4 and unknown non-zero tail bytes.
llmkit_status read_struct(const void* in, void* out, size_t lib_size,
                          std::initializer_list<size_t> field_ends, const char* function,
                          const char* what);
// Writes the library's SRC into the caller's DST (first struct_size bytes, whole fields only),
// keeping DST's struct_size. Rejects NULL and struct_size < 4.
llmkit_status write_struct(const void* src, void* dst, size_t lib_size,
                           std::initializer_list<size_t> field_ends, const char* function,
                           const char* what);

// ---- buffers and text -------------------------------------------------------------------------

// Two-call pattern for text: *OUT_LEN = TEXT.size(); copies TEXT + NUL when BUF has room.
llmkit_status copy_text(std::string_view text, char* buf, size_t capacity, size_t* out_len,
                        const char* function);
// Two-call pattern for an int32 array.
llmkit_status copy_ids(const int32_t* ids, size_t n, int32_t* buf, size_t capacity, size_t* out_n,
                       const char* function);
// OK if TEXT is valid UTF-8; else INVALID_ARGUMENT naming WHAT and the byte offset.
llmkit_status check_utf8(std::string_view text, const char* function, const char* what);

}  // namespace llmkit::capi
