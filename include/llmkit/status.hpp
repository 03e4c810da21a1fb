// llmkit — status and result types used by every fallible call of the C++ API.
//
// The C++ API never throws across its surface: fallible calls return `Status` or `Result<T>`, so
// hosts may build with -fno-exceptions. Messages name the file, field and byte offset involved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace llmkit {

// Stable codes: the C ABI mirrors these values (negated); never renumber, only append.
enum class StatusCode : int32_t {
  kOk = 0,
  kInvalidArgument = 1,  // caller passed something unusable (null, bad option, bad id)
  kNotFound = 2,         // file, tensor, key or token that does not exist
  kIoError = 3,          // open/read/mmap failed
  kCorruptFile = 4,  // a file's bytes contradict its own structure (bad magic, truncation, bounds)
  kUnsupported = 5,  // well-formed but not supported (version, dtype, architecture, template)
  kOutOfMemory = 6,  // allocation failed or a size would exceed the address space
  kOutOfRange = 7,   // e.g. the context window is full
  kCancelled = 8,    // a cancel request or a progress callback stopped the operation
  kInternal = 9,     // a bug in llmkit: please report
  kNetworkUnavailable = 10,  // something needed a download and there is no network
};

const char* status_code_name(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const noexcept { return code_ == StatusCode::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "CorruptFile: model.gguf: tensor 'x' at offset 1234: ..." — for logs and CLI output.
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return is_ok(); }
  const Status& status() const noexcept { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_{StatusCode::kInternal, "Result holds no value"};
};

}  // namespace llmkit

// Internal helpers used across llmkit's sources (harmless for users).
#define LLMKIT_RETURN_IF_ERROR(expr)                      \
  do {                                                    \
    ::llmkit::Status llmkit_status__ = (expr);            \
    if (!llmkit_status__.is_ok()) return llmkit_status__; \
  } while (0)

#define LLMKIT_CONCAT_INNER_(a, b) a##b
#define LLMKIT_CONCAT_(a, b) LLMKIT_CONCAT_INNER_(a, b)
#define LLMKIT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.is_ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
#define LLMKIT_ASSIGN_OR_RETURN(lhs, expr) \
  LLMKIT_ASSIGN_OR_RETURN_IMPL_(LLMKIT_CONCAT_(llmkit_result__, __LINE__), lhs, expr)
